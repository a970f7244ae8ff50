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


class StaffSignIn(models.Model):
    """One attempt to sign in to the admin, successful or not: who (as typed), from where, when, the outcome.

    Written for every attempt, never changed. ``staff`` is the account when the
    username named one; a failure keeps the username as it was typed.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", "signed in"
        WRONG_PASSWORD = "wrong_password", "wrong username or password"
        LOCKED_OUT = "locked_out", "refused: locked out"
        WRONG_CODE = "wrong_code", "wrong or missing one-time code"
        NO_DEVICE = "no_device", "refused: no two-factor device enrolled"

    username = models.CharField(max_length=150)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="sign_ins"
    )
    outcome = models.CharField(max_length=32, choices=Outcome.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["username", "-occurred_at"], name="support_signin_user_recent")]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.username} {self.outcome} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"
