"""Changes a user or support makes to a profile (name, email) and to a user's preferences."""

from __future__ import annotations

import enum
import logging

import redis
from django.conf import settings
from django.db import IntegrityError, router, transaction

from common.emails import canonical_email
from common.errors import ApiError, LegacyValidationError, legacy_field_error
from common.revocation import client_for
from users.models import Preferences, Profile
from users.selectors import user_profile_get
from users.services.changes import user_event_publish, user_revisions_advance

logger = logging.getLogger(__name__)


class _Unset(enum.Enum):
    UNSET = "unset"


# "Not given" for partial updates, where ``None`` is a value (a name may be null).
UNSET = _Unset.UNSET


EMAIL_IN_USE = "Email already in use"


def user_profile_update_own(*, user_id: int, name: str | None | _Unset = UNSET, email: str | _Unset = UNSET) -> Profile:
    """``user_profile_update`` as a user asks it of their own profile (``PUT /api/profile``).

    "Email already in use" tells whether an address has an account, so a user
    hears it at most ``USERS_EMAIL_IN_USE_LIMIT`` times per
    ``USERS_EMAIL_IN_USE_WINDOW`` seconds; after that, until the window ends,
    every change of their email is a 429 (free addresses too, or the 429 would
    tell the same). Counted in Redis, per account.
    """
    key = f"users:email-in-use:{user_id}"
    if email is not UNSET and canonical_email(email) is not None:
        current = user_profile_get(user_id=user_id)
        if current is not None and canonical_email(email) != current.email_canonical:
            count, ttl = _email_in_use_counter(lambda client: client.pipeline().get(key).ttl(key).execute())
            if int(count or 0) >= settings.USERS_EMAIL_IN_USE_LIMIT:
                headers = {"Retry-After": str(max(ttl, 1))}
                raise ApiError("Too many requests", status=429, headers=headers)
    try:
        return user_profile_update(user_id=user_id, name=name, email=email)
    except ApiError as exc:
        if exc.message == EMAIL_IN_USE:
            window = settings.USERS_EMAIL_IN_USE_WINDOW
            _email_in_use_counter(lambda client: client.pipeline().set(key, 0, ex=window, nx=True).incr(key).execute())
        raise


def _email_in_use_counter(operation):
    # The counter is in Redis, as the revisions every change raises: without it, no change (503).
    try:
        return operation(client_for(settings.REDIS_URL))
    except redis.RedisError as exc:
        logger.error("email-in-use counter unavailable: change refused", extra={"error": str(exc)})
        raise ApiError("Service unavailable", status=503) from exc


def user_profile_update(*, user_id: int, name: str | None | _Unset = UNSET, email: str | _Unset = UNSET) -> Profile:
    """Change a user's name and/or email; arguments left out stay as they are.

    The email is stored as typed with its canonical form beside it; a canonical
    email that belongs to another profile (of any status) is refused with
    "Email already in use".

    When a value actually changes, the profile is saved and ``user.profile.updated``
    written to the outbox in the same transaction: the auth service's login email and
    name follow. Values that are already there change nothing, not even ``updated_at``,
    and take no lock: such a request is answered like a read.
    """
    canonical = UNSET
    if email is not UNSET:
        canonical = canonical_email(email)
        if canonical is None:
            raise LegacyValidationError([legacy_field_error("email", "Invalid value", email)])
    current = user_profile_get(user_id=user_id)
    if current is None:
        raise ApiError("User not found", status=404)
    if (name is UNSET or name == current.name) and (email is UNSET or email == current.email):
        return current
    try:
        with transaction.atomic(using=router.db_for_write(Profile)):
            profile = Profile.objects.visible().select_for_update().filter(pk=user_id).first()
            if profile is None:
                raise ApiError("User not found", status=404)
            before = {"email": profile.email, "name": profile.name}
            changed = []
            if canonical is not UNSET:
                taken = Profile.objects.filter(email_canonical=canonical).exclude(pk=profile.pk)
                if canonical != profile.email_canonical and taken.exists():
                    raise ApiError(EMAIL_IN_USE)
                profile.email, profile.email_canonical = email, canonical
                changed += ["email", "email_canonical"]
            if name is not UNSET:
                profile.name = name
                changed.append("name")
            differs = [field for field, value in before.items() if getattr(profile, field) != value]
            if differs:  # a PUT of what is already there writes nothing
                profile.version += 1
                profile.save(update_fields=[*changed, "version", "updated_at"])
                user_event_publish(profile, "user.profile.updated", changed=differs)
                user_revisions_advance(user_ids=[profile.pk])
    except IntegrityError:
        raise ApiError(EMAIL_IN_USE) from None  # taken by a concurrent request meanwhile
    return profile


def user_preferences_update(
    *,
    profile: Profile,
    theme: str | _Unset = UNSET,
    language: str | _Unset = UNSET,
    notifications_enabled: bool | _Unset = UNSET,
) -> Preferences:
    """Change some of a user's preferences; the others keep their value (or default)."""
    changes = {
        field: value
        for field, value in (
            ("theme", theme),
            ("language", language),
            ("notifications_enabled", notifications_enabled),
        )
        if value is not UNSET
    }
    with transaction.atomic(using=router.db_for_write(Preferences)):
        # The profile's lock first, as every other change of a user takes it.
        user_revisions_advance(user_ids=[profile.pk])
        preferences, _ = Preferences.objects.select_for_update().get_or_create(profile=profile)
        for field, value in changes.items():
            setattr(preferences, field, value)
        preferences.save()
    return preferences
