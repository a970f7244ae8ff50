"""From a legacy row to a service row: the rules both services share, and the base of each service's mapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from common.emails import canonical_email
from common.legacy_import.values import parse_created_at, text_value

if TYPE_CHECKING:
    from django.db import models

    from common.legacy_import.models import ImportRunBase, LegacyRowStateBase
    from common.legacy_import.source import LegacyRow

# What a row is given when its created_at cannot be read: a date no real account has, and the same every run.
UNREADABLE_CREATED_AT = datetime(1970, 1, 1, tzinfo=UTC)
EMAIL_MAX_LENGTH = 254


@dataclass(slots=True)
class SourceValues:
    """A ``users.db`` row read for import: its values as they will be stored, and what is wrong with it."""

    id: int
    email: str
    email_canonical: str | None
    password: object  # as stored; a mapping may normalise it (``LegacyMapping.prepare``)
    name: str | None
    # ISO 8601 text of an aware UTC datetime (``datetime.isoformat()``): what checksums take, and what COPY
    # writes; made once per row.
    created_at: str
    issues: list[tuple[str, str]] = field(default_factory=list)
    skip: tuple[str, str] | None = None
    checksum: int = 0
    keeper: int | None = None  # the id of the row that keeps this row's canonical address, when not this one


def source_values(row: LegacyRow) -> SourceValues:
    """``row`` read by the rules both services share: the address, the name, ``created_at``."""
    email, email_changed = text_value(row.email)
    email = email or ""
    skip = None
    canonical = None
    if row.id < 1:
        skip = ("invalid_id", f"id {row.id}")
    elif not email.strip():
        skip = ("empty_email", "")
    elif email_changed:
        skip = ("invalid_email", "the address is not valid text")
    elif len(email) > EMAIL_MAX_LENGTH:
        skip = ("invalid_email", f"{len(email)} characters; at most {EMAIL_MAX_LENGTH} fit")
    else:
        canonical = canonical_email(email)
        if canonical is None or len(canonical) > EMAIL_MAX_LENGTH:
            skip = ("invalid_email", "not an email address")
            canonical = None
    issues = []
    name, name_changed = text_value(row.name)
    if name_changed:
        issues.append(("invalid_text", "name"))
    created_at = parse_created_at(row.created_at)
    if created_at is None:
        issues.append(("created_at_unreadable", f"created_at was {_shown(row.created_at)}"))
        created_at = UNREADABLE_CREATED_AT
    return SourceValues(
        id=row.id,
        email=email,
        email_canonical=canonical,
        password=row.password,
        name=name,
        created_at=created_at.isoformat(),
        issues=issues,
        skip=skip,
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class ChangeRefused(Exception):
    """A mapping would not let a batch's changes commit (``LegacyMapping.rows_updated``): the batch is undone."""


class LegacyMapping:
    """How a ``users.db`` row becomes a row of one service's table. Each service subclasses it.

    ``stored_checksum`` must give, for a row the import wrote, the same number
    ``checksum`` gave for the values it was written from: that is how a second
    run knows a row is unchanged and ``--verify`` that it arrived intact.
    """

    service: str
    model: type[models.Model]
    state_model: type[LegacyRowStateBase]
    run_model: type[ImportRunBase]
    # Whether the table's key comes from a sequence that must continue after the imported ids.
    has_id_sequence: bool
    # Fields read back to fingerprint a stored row, its key first.
    stored_fields: tuple[str, ...]
    # Fields a new row takes from users.db (``insert_row`` gives their values, in this order), its key first.
    # Every other field gets its default, ``now`` if automatic: a field another change adds needs nothing here.
    insert_fields: tuple[str, ...]
    # Fields a changed row gets again from users.db (``update_row`` gives their values, in this order).
    update_fields: tuple[str, ...]
    updated_at_field = "updated_at"

    def prepare(self, values: SourceValues) -> None:
        """Read ``values`` by this service's own rules: issues, normalised values (a password hash); none by default."""

    def checksum(self, values: SourceValues) -> int:
        raise NotImplementedError

    def stored_checksum(self, stored: tuple) -> int:
        raise NotImplementedError

    def insert_row(self, values: SourceValues) -> tuple:
        raise NotImplementedError

    def update_row(self, values: SourceValues, now: datetime) -> tuple:
        raise NotImplementedError

    def rows_updated(self, keys: list) -> None:
        """Called in the batch's transaction, before it commits, with the keys of the rows it changed.

        Nothing by default. Raises ``ChangeRefused`` when the changes must not commit.
        """

    def prepared(self, row: LegacyRow) -> SourceValues:
        values = source_values(row)
        if values.skip is None:
            self.prepare(values)
        values.checksum = self.checksum(values)
        return values


def stored_moment(moment: datetime) -> str:
    """A datetime read back from a service's table as the text ``SourceValues.created_at`` holds (for checksums)."""
    return moment.astimezone(UTC).isoformat()
