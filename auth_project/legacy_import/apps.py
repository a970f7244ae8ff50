from django.apps import AppConfig


class LegacyImportConfig(AppConfig):
    """The import of the monolith's users.db into credentials: its command and its state (``migrate_from_sqlite``)."""

    name = "legacy_import"
    label = "auth_import"
    verbose_name = "Legacy import (auth)"

    def ready(self):
        # The import keeps its own books when a credential goes: the credentials app never knows of it.
        from common.legacy_import.models import forget_people_when_deleted
        from legacy_import.models import LegacyRowState
        from credentials.models import Credential

        forget_people_when_deleted(Credential, LegacyRowState)
