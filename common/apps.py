from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Installed in every project for the management commands in ``common.management``."""

    name = "common"
    label = "common"
    verbose_name = "Shared"
