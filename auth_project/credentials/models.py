"""The auth service's records: how each user proves who they are, and the sessions they hold."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone


class Credential(models.Model):
    """A user's login: email and password hash, keyed by the users service's user id.

    ``name`` and ``user_created_at`` are copies of the users service's profile,
    so a login can answer the legacy ``user`` object without calling it.
    """

    user_id = models.BigIntegerField(primary_key=True, help_text="The id the users service gave this user.")
    email = models.EmailField(max_length=254, help_text="As the user typed it, or as the monolith stored it.")
    email_canonical = models.CharField(max_length=254, unique=True, help_text="common.emails.canonical_email(email)")
    password = models.CharField(max_length=255, help_text="A Django password hash: algorithm$...")
    name = models.TextField(null=True, blank=True)
    user_created_at = models.DateTimeField(help_text="When the users service registered the user.")
    is_active = models.BooleanField(default=True)
    token_version = models.PositiveIntegerField(
        default=0, help_text="Tokens carry it as 'ver'; bumping it revokes every earlier token."
    )
    event_version = models.PositiveBigIntegerField(
        default=0, help_text="Bumped with each event the auth service publishes about this user."
    )
    failed_login_count = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id"]

    def __str__(self) -> str:
        return f"{self.user_id} <{self.email}>"

    def is_locked(self, *, at: datetime) -> bool:
        """Whether too many wrong passwords keep this account locked at ``at``."""
        return self.locked_until is not None and self.locked_until > at


class RefreshTokenRecord(models.Model):
    """One refresh token issued, so it can be used once and its whole family ended.

    A login starts a family; each rotation issues the family's next token and
    marks the presented one used. A used token presented again means it was
    copied: the family is revoked.
    """

    jti = models.CharField(max_length=64, unique=True)
    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="refresh_tokens")
    family = models.UUIDField(db_index=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.CharField(max_length=64, blank=True, help_text="The jti of the token this one was rotated to.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["issued_at"]

    def __str__(self) -> str:
        return f"refresh {self.jti} of {self.credential_id}"
