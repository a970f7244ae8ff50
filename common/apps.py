from django.apps import AppConfig, apps


class CommonConfig(AppConfig):
    """Installed in every project: the management commands in ``common.management``, the staff admin's checks."""

    name = "common"
    label = "common"
    verbose_name = "Shared"

    def ready(self) -> None:
        if apps.is_installed("django.contrib.admin"):
            from common.staff_admin import staff_admin_checks_register

            # Its middleware is the staff admin's own chain (common.staff_admin): checked there.
            staff_admin_checks_register()
