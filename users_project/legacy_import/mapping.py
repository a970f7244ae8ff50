"""How a row of the monolith's users.db becomes a profile."""

from __future__ import annotations

from datetime import datetime

from common.errors import ApiError
from common.legacy_import.mapping import ChangeRefused, LegacyMapping, SourceValues, stored_moment
from common.legacy_import.values import row_checksum
from legacy_import.models import ImportRun, LegacyRowState
from users.models import Profile
from users.services import user_revisions_advance

ACTIVE = Profile.Status.ACTIVE.value


class ProfileMapping(LegacyMapping):
    """users.db's id, email, name and created_at, as an active profile with default preferences.

    A profile without a preferences row has the defaults, so none is written.
    """

    service = "users"
    model = Profile
    state_model = LegacyRowState
    run_model = ImportRun
    has_id_sequence = True
    stored_fields = ("id", "email", "name", "created_at")
    insert_fields = ("id", "email", "email_canonical", "name", "status", "created_at")
    update_fields = ("email", "email_canonical", "name", "created_at", "updated_at")

    def checksum(self, values: SourceValues) -> int:
        return row_checksum(values.id, values.email, values.name, values.created_at)

    def stored_checksum(self, stored: tuple) -> int:
        profile_id, email, name, created_at = stored
        return row_checksum(profile_id, email, name, stored_moment(created_at))

    def insert_row(self, values: SourceValues) -> tuple:
        return (values.id, values.email, values.email_canonical, values.name, ACTIVE, values.created_at)

    def update_row(self, values: SourceValues, now: datetime) -> tuple:
        return (values.email, values.email_canonical, values.name, values.created_at, now)

    def rows_updated(self, keys: list) -> None:
        # A catch-up run changes profiles like any other writer: copies of their old answers stop being current.
        try:
            user_revisions_advance(user_ids=keys)
        except ApiError as exc:
            raise ChangeRefused(f"Redis did not take the changed profiles' revisions: {exc.message}") from exc
