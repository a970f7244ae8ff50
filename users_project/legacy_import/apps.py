from django.apps import AppConfig


class LegacyImportConfig(AppConfig):
    """The import of the monolith's users.db into profiles: its command and its state (``migrate_from_sqlite``)."""

    name = "legacy_import"
    label = "users_import"
    verbose_name = "Legacy import (users)"
