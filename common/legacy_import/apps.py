"""The base of each service's import app (``migrate_from_sqlite``)."""

from django.apps import AppConfig
from django.utils.module_loading import import_string


class LegacyImportAppConfig(AppConfig):
    """A service's import app: ``mapping`` names its ``LegacyMapping``.

    When a row of the mapping's model is deleted, by whatever path, the import's
    state forgets what it kept of the person (``forget_people_when_deleted``): the
    domain app never knows the import exists.
    """

    name = "legacy_import"
    mapping: str

    def ready(self):
        from common.legacy_import.models import forget_people_when_deleted

        mapping = import_string(self.mapping)
        forget_people_when_deleted(mapping.model, mapping.state_model)
