"""Registration, a saga across the users and auth services, and the cleanup of registrations that never finished.

``user_register`` reserves a pending profile, stores the credentials at the auth
service, then activates the profile; when a step fails it undoes the earlier
ones, and ``user_registration_cleanup`` finishes what it could not. Every case
is told in docs/accounts.md ("Registration is a saga").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, router, transaction
from django.db.models import F
from django.utils import timezone

from common.emails import canonical_email
from common.errors import ApiError, LegacyValidationError, legacy_field_error
from common.serializers import iso_utc
from common.service_client import ServiceOutcomeUnknown, ServiceUnavailable, ServiceUnreachable
from users.auth_service import CREDENTIALS_PATH, auth_service
from users.models import Profile
from users.services.changes import user_event_publish

logger = logging.getLogger(__name__)

# Registrations the cleanup finishes per run, so one run stays well within the task time limit.
CLEANUP_BATCH_SIZE = 100


@dataclass(frozen=True)
class Registration:
    """A completed registration: the active profile and the tokens auth issued for it."""

    profile: Profile
    token: str
    refresh: str


def user_register(*, email: str, password: str, name: str | None = None) -> Registration:
    """Create an account in both services: reserve, store the credentials at auth, activate.

    Raises ``LegacyValidationError`` for a refused email or password,
    ``ApiError("User already exists")`` when the canonical email is taken, and
    ``ApiError("Service unavailable", 503)`` when the auth service fails.
    """
    canonical = canonical_email(email)
    errors = [] if canonical else [legacy_field_error("email", "Invalid value", email)]
    errors += _password_errors(password, email=email)
    if errors:
        raise LegacyValidationError(errors)
    profile = _registration_reserve(email=email, canonical=canonical, name=name)

    try:
        answer = auth_service().request(
            "POST",
            CREDENTIALS_PATH,
            json_body={
                "user_id": profile.pk,
                "email": profile.email,
                "password": password,
                "name": profile.name,
                "created_at": profile.created_at.isoformat(),
            },
        )
    except ServiceUnreachable:
        _registration_discard(profile.pk)
        raise ApiError("Service unavailable", status=503) from None
    except ServiceOutcomeUnknown:
        _registration_cancel(profile.pk, auth_may_still_be_storing=True)
        raise ApiError("Service unavailable", status=503) from None

    data = answer.data if isinstance(answer.data, dict) else {}
    if answer.status == 201 and isinstance(data.get("token"), str) and isinstance(data.get("refresh"), str):
        if _registration_activate(profile):
            logger.info("user registered", extra={"user_id": profile.pk})
            return Registration(profile=profile, token=data["token"], refresh=data["refresh"])
        # The cleanup claimed this registration meanwhile; it deletes the credentials.
        logger.warning("registration claimed by the cleanup before activation", extra={"user_id": profile.pk})
        raise ApiError("Service unavailable", status=503)
    if answer.status == 400 and isinstance(data.get("errors"), list):
        _registration_discard(profile.pk)
        raise LegacyValidationError(_auth_validation_errors(data["errors"]))
    if answer.status == 409:
        _registration_discard(profile.pk)
        raise ApiError("User already exists")
    logger.warning("auth failed to store the credentials", extra={"user_id": profile.pk, "status": answer.status})
    _registration_cancel(profile.pk, auth_may_still_be_storing=False)
    raise ApiError("Service unavailable", status=503)


def user_registration_cleanup(*, older_than: timedelta) -> int:
    """Finish registrations that never completed: delete their credentials at auth, then their profiles.

    Takes pending and cancelled profiles created more than ``older_than`` ago,
    oldest first. Returns how many profiles were deleted; a profile whose
    credentials could not be deleted stays cancelled for the next run.
    """
    cutoff = timezone.now() - older_than
    stale_ids = list(
        Profile.objects.filter(status__in=[Profile.Status.PENDING, Profile.Status.CANCELLED], created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:CLEANUP_BATCH_SIZE]
    )
    removed = 0
    for user_id in stale_ids:
        # Claim first: from now on a late registration request cannot activate it.
        Profile.objects.filter(pk=user_id, status=Profile.Status.PENDING).update(status=Profile.Status.CANCELLED)
        try:
            deleted = _credentials_delete(user_id)
        except ServiceUnavailable:
            break  # auth is down: every other call would fail too; the next run tries again
        if deleted:
            removed += _profile_delete_cancelled(user_id)
    if stale_ids:
        logger.info("registration cleanup", extra={"stale": len(stale_ids), "removed": removed})
    return removed


# Registration steps


def _registration_reserve(*, email: str, canonical: str, name: str | None) -> Profile:
    """Step 1: the pending profile, or "User already exists"."""
    try:
        with transaction.atomic(using=router.db_for_write(Profile)):
            if Profile.objects.filter(email_canonical=canonical).exists():
                raise ApiError("User already exists")
            return Profile.objects.create(
                email=email, email_canonical=canonical, name=name, status=Profile.Status.PENDING
            )
    except IntegrityError:
        raise ApiError("User already exists") from None  # a concurrent registration won


def _registration_activate(profile: Profile) -> bool:
    """Step 3: pending → active, publishing ``user.registered``; ``False`` when the profile is no longer pending."""
    with transaction.atomic(using=router.db_for_write(Profile)):
        # A conditional update, so a cleanup that claimed the profile meanwhile wins on every database.
        activated = Profile.objects.filter(pk=profile.pk, status=Profile.Status.PENDING).update(
            status=Profile.Status.ACTIVE, version=F("version") + 1, updated_at=timezone.now()
        )
        if not activated:
            return False
        # No revision to advance: until now every GET answered 404, and no one keeps a copy of that.
        profile.refresh_from_db(fields=["status", "version", "updated_at"])
        user_event_publish(profile, "user.registered", created_at=iso_utc(profile.created_at))
    return True


def _registration_discard(user_id: int) -> None:
    """Undo step 1 when auth certainly stored nothing."""
    Profile.objects.filter(pk=user_id, status=Profile.Status.PENDING).delete()


def _registration_cancel(user_id: int, *, auth_may_still_be_storing: bool) -> None:
    """Undo steps 2 and 1 when auth may hold the credentials. The cleanup finishes what this cannot."""
    Profile.objects.filter(pk=user_id, status=Profile.Status.PENDING).update(status=Profile.Status.CANCELLED)
    try:
        deleted = _credentials_delete(user_id)
    except ServiceUnavailable:
        deleted = False
    if deleted and not auth_may_still_be_storing:
        _profile_delete_cancelled(user_id)
    else:
        logger.warning("registration left for cleanup", extra={"user_id": user_id})


def _credentials_delete(user_id: int) -> bool:
    """Whether auth confirmed the user's credentials are gone. Raises ``ServiceUnavailable``."""
    answer = auth_service().request("DELETE", f"{CREDENTIALS_PATH}/{user_id}")
    if 200 <= answer.status < 300:
        return True
    logger.warning("auth refused to delete credentials", extra={"user_id": user_id, "status": answer.status})
    return False


def _profile_delete_cancelled(user_id: int) -> int:
    deleted, _ = Profile.objects.filter(pk=user_id, status=Profile.Status.CANCELLED).delete()
    return 1 if deleted else 0


# Validation


def _password_errors(password: str, *, email: str) -> list[dict]:
    """Django's password validators, as the auth service runs them again, as legacy errors on ``password``."""
    # The similarity check compares the password with the user's attributes; an
    # unsaved profile carries the only one there is yet, the email.
    try:
        validate_password(password, user=Profile(email=email))
    except DjangoValidationError as exc:
        return [legacy_field_error("password", message) for message in exc.messages]
    return []


def _auth_validation_errors(errors: list) -> list[dict]:
    """Auth's validation errors, rebuilt so that no value of a password field can pass through."""
    rebuilt = []
    for error in errors:
        if isinstance(error, dict) and isinstance(error.get("path"), str):
            message = str(error.get("msg") or "Invalid value")
            rebuilt.append(legacy_field_error(error["path"], message, error.get("value")))
    return rebuilt or [legacy_field_error("password", "Invalid value")]
