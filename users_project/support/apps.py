from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SupportConfig(AppConfig):
    """Support staff's tool: the admin's account actions, their audit trail, the Support group.

    Its tables live in ``default`` beside the staff accounts and sessions.
    """

    name = "support"
    label = "support"
    verbose_name = "Support"

    def ready(self) -> None:
        from support.services import support_group_sync_after_migrate

        post_migrate.connect(support_group_sync_after_migrate, sender=self)
