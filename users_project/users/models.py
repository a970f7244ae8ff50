"""The users service's records: a profile per user and its preferences. The profile id is the user id everywhere."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from common.edge import next_revision

LANGUAGE_TAG_MAX_LENGTH = 35
# A short BCP 47 tag: a 2-3 letter language, then optional subtags ("en", "en-GB", "zh-Hant").
language_tag_validator = RegexValidator(
    r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", "Enter a language tag such as en or pt-BR."
)


class ProfileQuerySet(models.QuerySet):
    def visible(self) -> "ProfileQuerySet":
        """Profiles of complete, usable accounts: registered to the end and not deactivated."""
        return self.filter(status=Profile.Status.ACTIVE, is_active=True)


class Profile(models.Model):
    """A customer account as the users service knows it. Never a password.

    ``status`` follows the registration saga (``users.services``): a profile is
    ``pending`` while the auth service stores the credentials, ``active`` once it
    did, and ``cancelled`` when the registration failed and its credentials may
    still have to be removed from the auth service. Only an active profile is
    visible; every profile, whatever its status, holds its canonical email.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        ACTIVE = "active"
        CANCELLED = "cancelled"

    email = models.EmailField(max_length=254, help_text="As the user typed it (or as the monolith stored it).")
    email_canonical = models.CharField(
        max_length=254, unique=True, help_text="The lookup form: lower-cased and normalised like the monolith did."
    )
    name = models.TextField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    # Pending by default so that a profile made anywhere but the saga stays invisible until someone activates it.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveBigIntegerField(
        default=0, help_text="Bumped with each event about this user (1 = registered): orders them for consumers."
    )

    revision = models.PositiveBigIntegerField(
        default=next_revision,
        help_text="Advanced with every change to what the user's own GETs show (profile and preferences): "
        "the gateway's copies of those answers are current only at this revision (users.services.user_revisions_advance).",
    )

    objects = ProfileQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "created_at"], name="users_profile_status_created")]

    def __str__(self) -> str:
        return f"{self.id} <{self.email}>"


class Preferences(models.Model):
    """A user's display and notification choices. A profile without a row has the defaults."""

    class Theme(models.TextChoices):
        LIGHT = "light"
        DARK = "dark"

    profile = models.OneToOneField(Profile, primary_key=True, on_delete=models.CASCADE, related_name="preferences")
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.LIGHT)
    language = models.CharField(
        max_length=LANGUAGE_TAG_MAX_LENGTH,
        default="en",
        validators=[language_tag_validator],
    )
    notifications_enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"preferences of {self.profile_id}"


class AccountActivity(models.Model):
    """What the auth service reported about a user's sign-ins, for support staff (a read model).

    Built from the auth service's events (``users.services.user_activity_record``):
    each event counted once, whatever order they arrived in.
    """

    profile = models.OneToOneField(Profile, primary_key=True, on_delete=models.CASCADE, related_name="activity")
    last_login_at = models.DateTimeField(null=True, blank=True)
    last_failed_login_at = models.DateTimeField(null=True, blank=True)
    last_logout_at = models.DateTimeField(null=True, blank=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    login_count = models.PositiveIntegerField(default=0)
    failed_login_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "account activities"

    def __str__(self) -> str:
        return f"activity of {self.profile_id}"


class AccountActivityEntry(models.Model):
    """One sign-in event of a user; the most recent ``ACTIVITY_RECENT_LIMIT`` per user are kept."""

    class Kind(models.TextChoices):
        LOGIN_SUCCEEDED = "login_succeeded"
        LOGIN_FAILED = "login_failed"
        LOGOUT = "logout"
        PASSWORD_CHANGED = "password_changed"

    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="activity_entries")
    event_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    reason = models.CharField(max_length=32, blank=True, help_text="Why a login failed, as the auth service said.")
    occurred_at = models.DateTimeField()
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["profile", "-occurred_at"], name="users_activity_recent")]
        verbose_name_plural = "account activity entries"

    def __str__(self) -> str:
        return f"{self.kind} of {self.profile_id} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"
