from common.legacy_import import apps  # the module: a class imported here would be a second AppConfig


class LegacyImportConfig(apps.LegacyImportAppConfig):
    """The import of the monolith's users.db into credentials: its command and its state."""

    label = "auth_import"
    verbose_name = "Legacy import (auth)"
    mapping = "legacy_import.mapping.CredentialMapping"
