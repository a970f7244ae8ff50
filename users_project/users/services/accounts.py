"""Deactivation, reactivation and deletion of a registered account, with its tokens refused or allowed again."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import router, transaction

from common import revocation
from common.errors import ApiError
from users.models import Profile
from users.services.changes import user_event_publish, user_revisions_advance

logger = logging.getLogger(__name__)


def _registered_profile_for_update(user_id: int) -> Profile:
    """The registered (active or deactivated) profile, locked for this transaction; 404 otherwise."""
    profile = Profile.objects.select_for_update().filter(pk=user_id, status=Profile.Status.ACTIVE).first()
    if profile is None:
        raise ApiError("User not found", status=404)
    return profile


def _active_set(profile: Profile, *, active: bool) -> None:
    """Turn a locked profile (in)active at its next version, publishing the event and advancing its revision."""
    profile.is_active = active
    profile.version += 1
    profile.save(update_fields=["is_active", "version", "updated_at"])
    user_event_publish(profile, "user.reactivated" if active else "user.deactivated")
    user_revisions_advance(user_ids=[profile.pk])


def user_deactivate(*, user_id: int) -> Profile:
    """Stop a user from using their account; ``user.deactivated`` makes the auth service follow.

    From the commit on, every token the user holds is refused at the gateway and
    their refresh tokens at the auth service (``_user_tokens_refuse``), whether
    or not the auth service has heard of it; once it applied the event, logins
    are refused too and the tokens revoked for good. The profile is hidden
    (``GET /api/profile`` answers 404). Deactivating an inactive user changes nothing.
    """
    with transaction.atomic(using=router.db_for_write(Profile)):
        profile = _registered_profile_for_update(user_id)
        if profile.is_active:
            _active_set(profile, active=False)
            _user_tokens_refuse(profile.pk)
    logger.info("user deactivated", extra={"user_id": user_id})
    return profile


def user_reactivate(*, user_id: int) -> Profile:
    """Give a deactivated user their account back; ``user.reactivated`` lets them log in again.

    Tokens revoked at deactivation stay revoked, at once (``_user_tokens_allow``):
    the user logs in afresh. Reactivating an active user changes nothing but
    lifting a refusal of their tokens left behind (a deactivation whose commit
    failed after it was written).
    """
    with transaction.atomic(using=router.db_for_write(Profile)):
        profile = _registered_profile_for_update(user_id)
        if not profile.is_active:
            _active_set(profile, active=True)
            _user_tokens_allow(profile.pk)
        else:
            _user_tokens_allow(profile.pk, only_a_stray_refusal=True)
    logger.info("user reactivated", extra={"user_id": user_id})
    return profile


def user_delete(*, user_id: int) -> None:
    """Delete a user's account here (profile, preferences, activity); ``user.deleted`` does it at auth.

    From the commit on, every token the user holds is refused (as at
    deactivation); once the auth service applied the event, the credentials
    are erased and every token revoked there too.

    Only a registered account (active or deactivated); an unfinished registration
    is the cleanup's to undo. The email is free again at once here, and at the
    auth service once it applied the event.
    """
    with transaction.atomic(using=router.db_for_write(Profile)):
        profile = _registered_profile_for_update(user_id)
        profile.version += 1
        user_event_publish(profile, "user.deleted")
        user_revisions_advance(user_ids=[user_id])
        profile.delete()
        _user_tokens_refuse(user_id)
    logger.info("user deleted", extra={"user_id": user_id})


def _user_tokens_refuse(user_id: int) -> None:
    """Refuse every token of ``user_id`` at the gateway and the auth service, the last write before the commit.

    The event takes as long as the broker and the auth worker take (forever while
    either is down); this holds from the commit. Redis not taking it is
    ``ApiError("Service unavailable", 503)``: the change rolls back, as a
    revocation the auth service cannot write does.
    """
    try:
        revocation.user_disable(revocation.client_for(settings.REDIS_URL), user_id)
    except revocation.RevocationUnavailable as exc:
        logger.error("tokens not refused: change refused", extra={"user_id": user_id, "error": str(exc)})
        raise ApiError("Service unavailable", status=503) from exc


def _user_tokens_allow(user_id: int, *, only_a_stray_refusal: bool = False) -> None:
    """Lift ``_user_tokens_refuse`` for tokens issued from now on (reactivation); earlier ones stay refused.

    ``only_a_stray_refusal``: only when the user's tokens are refused now (an active
    user's tokens are left alone). Redis not taking it is a 503 and nothing changes.
    """
    client = revocation.client_for(settings.REDIS_URL)
    now = time.time()
    try:
        if only_a_stray_refusal and not revocation.user_tokens_refused(client, user_id, issued_at=now):
            return
        revocation.user_enable(client, user_id, at=int(now))
    except revocation.RevocationUnavailable as exc:
        logger.error("tokens not allowed again: change refused", extra={"user_id": user_id, "error": str(exc)})
        raise ApiError("Service unavailable", status=503) from exc
