from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class SupportConfig(AppConfig):
    """Support staff's tool: the admin's account actions, their audit trail, the Support group.

    Its tables live in ``default`` beside the staff accounts and sessions.
    """

    default = True
    name = "support"
    label = "support"
    verbose_name = "Support"

    def ready(self) -> None:
        from support.services import support_group_sync_after_migrate

        post_migrate.connect(support_group_sync_after_migrate, sender=self)
        import support.sign_in  # noqa: F401  (the sign-in trail's signal receivers)


class StaffAdminConfig(admin_apps.AdminConfig):
    """Django's admin app, whose default site (``admin.site``) asks staff for a one-time code."""

    default = False  # INSTALLED_APPS names it; "support" alone is SupportConfig
    default_site = "support.admin_site.StaffAdminSite"
