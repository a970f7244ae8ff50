"""What support staff did to customer accounts, and the permissions that let them."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class StaffAction(models.Model):
    """One action a staff member took on a customer account: who, when, what and why.

    Written once the action took effect, never changed. It names the customer by
    id only (their profile is in another database) and keeps no email or name,
    so a deleted account leaves nothing personal behind here.
    """

    class Action(models.TextChoices):
        PROFILE_UPDATE = "profile_update", "edited the profile"
        DEACTIVATE = "deactivate", "deactivated the account"
        REACTIVATE = "reactivate", "reactivated the account"
        END_SESSIONS = "end_sessions", "ended every session"
        UNLOCK = "unlock", "unlocked the account"
        DELETE = "delete", "deleted the account"

    user_id = models.BigIntegerField(help_text="The customer's id (users.Profile, in the users database).")
    action = models.CharField(max_length=32, choices=Action.choices)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True, help_text='What changed: {"changed": ["email"]}, ...')
    # PROTECT: a staff account that ever acted is disabled, never deleted, so the trail keeps its author.
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="support_actions")
    occurred_at = models.DateTimeField(default=timezone.now)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["user_id", "-occurred_at"], name="support_action_user_recent")]
        # The trail is append-only: no one may add, change or delete a row through the admin.
        default_permissions = ("view",)
        permissions = [
            ("deactivate_account", "Can deactivate a customer account"),
            ("reactivate_account", "Can reactivate a customer account"),
            ("end_account_sessions", "Can end every session of a customer account"),
            ("unlock_account", "Can unlock a locked-out customer account"),
            ("delete_account", "Can delete a customer account"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_id} {self.action} {self.user_id} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"
