from django.apps import AppConfig


class LegacyImportConfig(AppConfig):
    """The import of the monolith's users.db into profiles: its command and its state (``migrate_from_sqlite``)."""

    name = "legacy_import"
    label = "users_import"
    verbose_name = "Legacy import (users)"

    def ready(self):
        # The import keeps its own books when a profile goes: the users app never knows of it.
        from common.legacy_import.models import forget_people_when_deleted
        from legacy_import.models import LegacyRowState
        from users.models import Profile

        forget_people_when_deleted(Profile, LegacyRowState)
