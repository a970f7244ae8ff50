"""Writes of the users service: registration, profile and preference updates, registration cleanup.

Registration is a saga
----------------------
An account lives in two services: the profile (id, email, name) here, the
credentials (login email, password hash) in the auth service. No transaction
spans both, so ``user_register`` takes three steps and undoes the earlier ones
when a later one fails:

1. **Reserve.** One transaction on the users database creates the profile as
   ``pending``: it allocates the user id and takes the canonical email (a unique
   key), so a second registration of the same address, in any case or with
   Gmail dots, is refused here with "User already exists". A pending profile is
   invisible (``GET /api/profile`` answers 404) but its email counts as taken.
2. **Store the credentials.** ``POST /internal/credentials`` on the auth service
   with the id, email, password, name and creation time. The password exists
   here only in this request: it is never stored, logged or put on the broker.
   Auth validates it again and keeps only its hash; the call is idempotent.
3. **Activate.** On 201 the profile turns ``active`` (only if it is still
   pending), ``user.registered`` is written to the outbox in the same
   transaction, and the answer carries auth's tokens.

When step 2 fails:

- auth answered 400 (password refused) or 409 (email already held at auth): it
  stored nothing, so the pending profile is deleted and the client gets 400, with
  auth's validation errors or "User already exists";
- the connection could not be made: the request never left, auth stored
  nothing, the pending profile is deleted; 503 "Service unavailable";
- auth answered anything else (a 5xx, say): it finished and may have stored the
  credentials. Compensation: the profile turns ``cancelled``, ``DELETE
  /internal/credentials/<id>`` (idempotent) is sent, and once it succeeds the
  profile is deleted; 503;
- the request left but no answer came (read timeout, dropped connection): auth
  may still be storing the credentials, and a DELETE could overtake that POST.
  The DELETE is sent anyway, but the cancelled profile stays behind for the
  cleanup to delete the credentials again once the registration is old; 503.

**Cleanup** (``users.tasks.registration_cleanup``, Celery beat every minute):
each pending or cancelled profile older than ``USERS_PENDING_REGISTRATION_MAX_AGE``
(5 minutes, far beyond any request's timeouts) is claimed (pending → cancelled,
so a late step 3 can no longer activate it), its credentials are deleted at auth,
then the profile is deleted. While auth is unreachable the profile stays
cancelled, its email still taken, and the next run tries again. So there is never
half an account that works: a profile is visible only after auth stored the
credentials, and credentials whose registration failed are always deleted.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F
from django.utils import timezone

from common import edge, revocation
from common.emails import canonical_email
from common.errors import ApiError, LegacyValidationError, legacy_field_error
from common.events.envelope import Event
from common.events.outbox import event_publish
from common.revocation import client_for
from common.serializers import iso_utc
from common.sql import db_values, insert_row, quoted_table, select_by_key_for_update
from common.service_client import ServiceClient, ServiceOutcomeUnknown, ServiceUnavailable, ServiceUnreachable
from users.models import AccountActivity, AccountActivityEntry, Preferences, Profile
from users.selectors import user_profile_get

logger = logging.getLogger(__name__)

CREDENTIALS_PATH = "/internal/credentials"
# Registrations the cleanup finishes per run, so one run stays well within the task time limit.
CLEANUP_BATCH_SIZE = 100
# Profiles whose revisions one statement advances (the legacy import advances thousands).
REVISION_BATCH_SIZE = 500
# Sign-in events kept per user in the activity support staff read.
ACTIVITY_RECENT_LIMIT = 50
# The auth service's events, as entries of a user's activity.
ACTIVITY_KINDS = {
    "auth.login.success": AccountActivityEntry.Kind.LOGIN_SUCCEEDED,
    "auth.login.failed": AccountActivityEntry.Kind.LOGIN_FAILED,
    "auth.logout": AccountActivityEntry.Kind.LOGOUT,
    "auth.password.changed": AccountActivityEntry.Kind.PASSWORD_CHANGED,
}
# Per kind of entry: the count it adds one to (if any), and the time it moves forward.
ACTIVITY_FIELDS = {
    AccountActivityEntry.Kind.LOGIN_SUCCEEDED: ("login_count", "last_login_at"),
    AccountActivityEntry.Kind.LOGIN_FAILED: ("failed_login_count", "last_failed_login_at"),
    AccountActivityEntry.Kind.LOGOUT: (None, "last_logout_at"),
    AccountActivityEntry.Kind.PASSWORD_CHANGED: (None, "password_changed_at"),
}


class _Unset(enum.Enum):
    UNSET = "unset"


# "Not given" for partial updates, where ``None`` is a value (a name may be null).
UNSET = _Unset.UNSET


@dataclass(frozen=True)
class Registration:
    """A completed registration: the active profile and the tokens auth issued for it."""

    profile: Profile
    token: str
    refresh: str


def user_register(*, email: str, password: str, name: str | None = None) -> Registration:
    """Create an account in both services: the saga described in this module's docstring.

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
        answer = _auth_service().request(
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
                _user_event_publish(profile, "user.profile.updated", changed=differs)
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
            profile.is_active = False
            profile.version += 1
            profile.save(update_fields=["is_active", "version", "updated_at"])
            _user_event_publish(profile, "user.deactivated")
            user_revisions_advance(user_ids=[profile.pk])
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
            profile.is_active = True
            profile.version += 1
            profile.save(update_fields=["is_active", "version", "updated_at"])
            _user_event_publish(profile, "user.reactivated")
            user_revisions_advance(user_ids=[profile.pk])
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
        _user_event_publish(profile, "user.deleted")
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


def user_activity_record(*, event: Event) -> None:
    """Apply one of the auth service's sign-in events to the user's activity (``EVENTS_HANDLERS``).

    Runs inside the consumer's transaction, which records the event as applied,
    so each event counts once. Counts add up and timestamps keep the latest,
    whatever order events arrive in: one ``UPDATE`` does both (and holds the row
    until the transaction ends), the row made first for a user's first event.
    An event about a user deleted here meanwhile changes nothing. In SQL
    (``common.sql``), not the ORM: every login brings one of these.
    """
    user_id = int(event.payload["user_id"])
    kind = ACTIVITY_KINDS[event.type]
    using = router.db_for_write(AccountActivity)
    if not _activity_summary_update(user_id=user_id, kind=kind, at=event.occurred_at, using=using):
        if not Profile.objects.filter(pk=user_id).exists():
            logger.info("activity of an unknown user ignored", extra={"user_id": user_id, "event_type": event.type})
            return
        AccountActivity.objects.bulk_create([AccountActivity(profile_id=user_id)], ignore_conflicts=True)
        _activity_summary_update(user_id=user_id, kind=kind, at=event.occurred_at, using=using)
    entry = {
        "profile": user_id,
        "event_id": event.id,
        "kind": kind.value,
        "reason": str(event.payload.get("reason") or "")[:32],
        "occurred_at": event.occurred_at,
        "request_id": event.request_id or "",
    }
    insert_row(AccountActivityEntry, using, entry)
    _activity_entries_prune(user_id=user_id, using=using)


def _activity_summary_update(*, user_id: int, kind: str, at, using: str) -> bool:
    """Count the event in the user's summary and move its time forward; ``False`` without a summary row."""
    counter, latest = ACTIVITY_FIELDS[kind]
    table, columns = quoted_table(AccountActivity, using)
    at_value, now_value = db_values(AccountActivity, using, {latest: at, "updated_at": timezone.now()})
    column = columns[latest]
    assignments = f"{column} = CASE WHEN {column} IS NULL OR {column} < %s THEN %s ELSE {column} END"
    assignments += f", {columns['updated_at']} = %s"
    if counter:
        assignments += f", {columns[counter]} = {columns[counter]} + 1"
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} WHERE {columns['profile']} = %s",
            [at_value, at_value, now_value, user_id],
        )
        return cursor.rowcount > 0


def _activity_entries_prune(*, user_id: int, using: str) -> None:
    """Keep the user's ``ACTIVITY_RECENT_LIMIT`` most recent entries (by time, then id); delete the rest."""
    table, columns = quoted_table(AccountActivityEntry, using)
    profile, occurred_at, pk = columns["profile"], columns["occurred_at"], columns["id"]
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE {profile} = %s AND ({occurred_at}, {pk}) < ("
            f"SELECT {occurred_at}, {pk} FROM {table} WHERE {profile} = %s "
            f"ORDER BY {occurred_at} DESC, {pk} DESC LIMIT 1 OFFSET %s)",
            [user_id, user_id, ACTIVITY_RECENT_LIMIT - 1],
        )


# What the gateway may serve from a copy: every change to a user's own GETs goes through here


def user_revisions_advance(*, user_ids: Iterable[int]) -> dict[int, int]:
    """Record a change to what these users' own GETs show (profile, preferences), in the caller's transaction.

    Advances each profile's revision, locking its row, and raises the user's
    current revision in Redis to it before the transaction commits, so that no
    copy of an earlier answer is current any more (``common.edge``). Raises
    ``ApiError("Service unavailable", 503)`` when Redis does not take it: the
    caller's transaction rolls back and nothing changed. Returns the new
    revisions by user id; ids without a profile are left out.
    """
    using = router.db_for_write(Profile)
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("user_revisions_advance must run inside the transaction of the change")
    table, columns = quoted_table(Profile, using)
    key, revision = columns["id"], columns["revision"]
    ids = sorted(set(user_ids))  # one lock order for every caller
    floor = edge.next_revision()
    revisions: dict[int, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(ids), REVISION_BATCH_SIZE):
            chunk = ids[start : start + REVISION_BATCH_SIZE]
            cursor.execute(
                f"UPDATE {table} SET {revision} = CASE WHEN {revision} + 1 > %s THEN {revision} + 1 ELSE %s END "
                f"WHERE {key} IN ({', '.join(['%s'] * len(chunk))}) RETURNING {key}, {revision}",
                [floor, floor, *chunk],
            )
            revisions.update(cursor.fetchall())
    try:
        edge.revisions_raise(settings.REDIS_URL, settings.SERVICE_NAME, revisions, settings.USERS_EDGE_REVISION_TTL)
    except edge.EdgeUnavailable as exc:
        logger.error("edge revisions not raised: change refused", extra={"users": len(revisions), "error": str(exc)})
        raise ApiError("Service unavailable", status=503) from exc
    return revisions


def user_revision_establish(*, user_id: int) -> None:
    """Raise the user's current revision in Redis to the committed one, when the gateway found it missing or behind.

    Under the profile's lock, so no change is on its way to a commit meanwhile:
    the revision read is the latest, and a later change raises it again after
    this. Redis down: nothing is raised (the gateway keeps forwarding).
    """
    using = router.db_for_write(Profile)
    with transaction.atomic(using=using):
        current = select_by_key_for_update(Profile, using, user_id, ["revision"])
        if current is None:
            return
        try:
            edge.revisions_raise(
                settings.REDIS_URL, settings.SERVICE_NAME, {user_id: current[0]}, settings.USERS_EDGE_REVISION_TTL
            )
        except edge.EdgeUnavailable as exc:
            logger.warning("edge revision not established", extra={"user_id": user_id, "error": str(exc)})


# Events about a user


def _registered_profile_for_update(user_id: int) -> Profile:
    """The registered (active or deactivated) profile, locked for this transaction; 404 otherwise."""
    profile = Profile.objects.select_for_update().filter(pk=user_id, status=Profile.Status.ACTIVE).first()
    if profile is None:
        raise ApiError("User not found", status=404)
    return profile


def _user_state(profile: Profile) -> dict:
    """What every event about a user carries: the user as the users service knows them now."""
    return {"user_id": profile.pk, "email": profile.email, "name": profile.name, "is_active": profile.is_active}


def _user_event_publish(profile: Profile, event_type: str, **extra) -> None:
    """Write ``event_type`` about ``profile`` at its (already bumped) version, in the caller's transaction."""
    payload = {"user_id": profile.pk} if event_type == "user.deleted" else {**_user_state(profile), **extra}
    event_publish(type=event_type, aggregate_id=profile.pk, version=profile.version, payload=payload)


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
        _user_event_publish(profile, "user.registered", created_at=iso_utc(profile.created_at))
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
    answer = _auth_service().request("DELETE", f"{CREDENTIALS_PATH}/{user_id}")
    if 200 <= answer.status < 300:
        return True
    logger.warning("auth refused to delete credentials", extra={"user_id": user_id, "status": answer.status})
    return False


def _profile_delete_cancelled(user_id: int) -> int:
    deleted, _ = Profile.objects.filter(pk=user_id, status=Profile.Status.CANCELLED).delete()
    return 1 if deleted else 0


# Validation and the auth service


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


def _auth_service() -> ServiceClient:
    return ServiceClient(
        settings.AUTH_SERVICE_URL,
        audience="auth",
        connect_timeout=settings.USERS_AUTH_CONNECT_TIMEOUT,
        read_timeout=settings.USERS_AUTH_READ_TIMEOUT,
    )
