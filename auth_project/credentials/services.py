"""Writes of the auth service: credentials, logins, token rotation, logout, password changes.

Every change that must also reach the revocation store (Redis, read by the
gateway) writes Redis inside the database transaction: when Redis cannot be
reached the transaction rolls back and the caller gets a 503, so nothing
claims to be revoked while still working at the gateway.

Logins, failed logins, logouts and password changes are published as events
(``auth.*``, written to the outbox in the transaction of the change) for the
users service's activity read model. The users service's own events (``user.*``)
are applied by ``credential_apply_user_event``.
"""

from __future__ import annotations

import functools
import logging
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Max
from django.utils import timezone
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import datetime_from_epoch

from common.emails import canonical_email
from common.errors import ApiError, LegacyValidationError, legacy_field_error
from common.events.envelope import Event
from common.events.outbox import event_publish
from common.internal_auth import EndUser
from common.revocation import (
    RevocationUnavailable,
    client_for,
    revoke_family,
    revoke_token,
    set_minimum_version,
    user_tokens_refused,
)
from common.sql import insert_row, model_statement, quoted_table, select_by_key_for_update, update_by_key
from credentials.metrics import LOGIN_FAILURES, LOGIN_SUCCESSES
from credentials.models import Credential, RefreshTokenRecord
from legacy_import.models import LegacyRowState
from credentials.selectors import credential_get, credential_get_by_email
from credentials.tokens import FAMILY_CLAIM, USER_ID_CLAIM, VERSION_CLAIM, SessionAccessToken, SessionRefreshToken

logger = logging.getLogger(__name__)

INVALID_CREDENTIALS = "Invalid credentials"
INVALID_TOKEN = "Invalid or expired token"
CURRENT_PASSWORD_INCORRECT = "Current password is incorrect"
USER_NOT_FOUND = "User not found"
EMAIL_TAKEN = "User already exists"
USER_ID_TAKEN = "A different credential already exists for this user id"
SERVICE_UNAVAILABLE = "Service unavailable"


@dataclass(frozen=True)
class TokenPair:
    """A signed access token and refresh token issued together."""

    access: str
    refresh: str
    refresh_jti: str


@dataclass(frozen=True)
class LoginResult:
    """What a successful login answers with: the tokens and the user they were issued to."""

    credential: Credential
    tokens: TokenPair


def _atomic():
    return transaction.atomic(using=router.db_for_write(Credential))


@contextmanager
def _revocation_store() -> Iterator[redis.Redis]:
    """The Redis client of ``common.revocation``; Redis being down becomes a 503."""
    try:
        yield client_for(settings.REDIS_URL)
    except RevocationUnavailable as exc:
        logger.error("revocation store unreachable", extra={"error": str(exc)})
        raise ApiError(SERVICE_UNAVAILABLE, status=503) from exc


# TOKENS
# ------------------------------------------------------------------------------


def token_pair_issue(*, credential: Credential, family: str) -> TokenPair:
    """A new access and refresh token for ``credential`` in the login session ``family``.

    The refresh token is recorded so it can be used once and revoked with its family.
    """
    tokens, record = token_pair_sign(credential=credential, family=family)
    _refresh_record_insert(record)
    return tokens


def token_pair_sign(*, credential: Credential, family: str) -> tuple[TokenPair, RefreshTokenRecord]:
    """The signed tokens of :func:`token_pair_issue`, and the record of its refresh token, not saved yet.

    Signing takes two RSA signatures: a caller holding a lock (a transaction
    that writes) signs first and saves the record inside.
    """
    refresh = SessionRefreshToken()
    access = SessionAccessToken()
    for token in (refresh, access):
        token[USER_ID_CLAIM] = credential.user_id
        token[VERSION_CLAIM] = credential.token_version
        token[FAMILY_CLAIM] = family
    access["email"] = credential.email
    record = RefreshTokenRecord(
        jti=refresh["jti"],
        credential=credential,
        family=family,
        issued_at=datetime_from_epoch(refresh["iat"]),
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    return TokenPair(access=str(access), refresh=str(refresh), refresh_jti=refresh["jti"]), record


def _refresh_record_insert(record: RefreshTokenRecord) -> None:
    """Save a new refresh token's record: one ``INSERT`` in SQL (``common.sql``), every login makes one."""
    values = {
        "jti": record.jti,
        "credential": record.credential_id,
        "family": record.family,
        "issued_at": record.issued_at,
        "expires_at": record.expires_at,
        "replaced_by": record.replaced_by,
    }
    insert_row(RefreshTokenRecord, router.db_for_write(RefreshTokenRecord), values)


def _new_family() -> str:
    return str(uuid.uuid4())


def _family_revoke(*, family: str, revocations: redis.Redis, at: datetime) -> None:
    """Revoke every refresh token of ``family`` here, and every token of it at the gateway.

    The Redis entry lives until the family's last token would have expired:
    its newest refresh token, or an access token issued with it.
    """
    records = RefreshTokenRecord.objects.filter(family=family)
    records.filter(revoked_at__isnull=True).update(revoked_at=at)
    bounds = records.aggregate(last_expiry=Max("expires_at"), last_issue=Max("issued_at"))
    if bounds["last_issue"] is None:
        return
    until = max(bounds["last_expiry"], bounds["last_issue"] + api_settings.ACCESS_TOKEN_LIFETIME)
    revoke_family(revocations, family, int(until.timestamp()))


def refresh_token_rotate(*, refresh: str) -> TokenPair:
    """A new token pair for a valid, unused refresh token, which is used up.

    Refused (401): a token that is malformed, expired, revoked, unknown, of a
    deactivated or deleted user (here, or already at the users service: its
    refusal in Redis, written before its commit; after a reactivation, one
    issued before it), or older than the user's token version. A token used
    before means it was copied: its whole family is revoked, here and at the
    gateway, and it is refused.
    """
    try:
        presented = SessionRefreshToken(refresh)
    except TokenError as exc:
        raise ApiError(INVALID_TOKEN, status=401) from exc
    now = timezone.now()
    reused_family = None
    with _atomic(), _revocation_store() as revocations:
        record = (
            RefreshTokenRecord.objects.select_for_update()
            .select_related("credential")
            .filter(jti=presented["jti"])
            .first()
        )
        if record is not None and record.revoked_at is None:
            credential = record.credential
            if record.used_at is not None:
                _family_revoke(family=str(record.family), revocations=revocations, at=now)
                reused_family = str(record.family)
            elif (
                credential.is_active
                and presented.get(VERSION_CLAIM) == credential.token_version
                and not user_tokens_refused(revocations, credential.user_id, issued_at=presented["iat"])
            ):
                tokens = token_pair_issue(credential=credential, family=str(record.family))
                record.used_at = now
                record.replaced_by = tokens.refresh_jti
                record.save(update_fields=["used_at", "replaced_by"])
                return tokens
    if reused_family is not None:
        logger.warning(
            "refresh token reused: family revoked",
            extra={"event": "auth.refresh.reused", "user_id": presented.get(USER_ID_CLAIM), "family": reused_family},
        )
    raise ApiError(INVALID_TOKEN, status=401)


# LOGIN AND LOGOUT
# ------------------------------------------------------------------------------


@functools.cache
def _dummy_hash(algorithm: str) -> str:
    # Keyed by the default hasher's name so a settings change in tests makes a fresh one.
    return make_password(secrets.token_urlsafe(16))


def _password_check_without_credential(password: str) -> None:
    """Spend what checking a real password costs, so a refusal does not tell whether the account exists."""
    check_password(password, _dummy_hash(get_hasher().algorithm))


def credential_login(*, email: str, password: str) -> LoginResult:
    """Check an email and password; on success start a login session (a token family).

    Unknown email, wrong password, deactivated (here, or already at the users
    service) and locked accounts are all the same 401, after the same
    password-hashing work. A legacy hash is replaced
    by an Argon2 one on the first successful login. After
    ``LOGIN_LOCKOUT_THRESHOLD`` consecutive wrong passwords the account is
    locked for ``LOGIN_LOCKOUT_SECONDS``; a success resets the count. Each
    attempt is counted before its hash, so no more than the threshold's worth
    are checked, however many arrive at once.
    """
    now = timezone.now()
    credential = credential_get_by_email(email=email)
    refusal = _password_attempt_refusal(credential, at=now)
    if refusal is not None:
        _password_check_without_credential(password)
        _password_attempt_refused(credential, reason=refusal)
        raise ApiError(INVALID_CREDENTIALS, status=401)

    rehashed = []

    def rehash(raw_password: str) -> None:
        # The new hash is made here, before any lock is taken, and saved with the login below.
        rehashed.append(make_password(raw_password))

    if not check_password(password, credential.password, setter=rehash):
        _password_attempt_failed(credential, at=now)
        raise ApiError(INVALID_CREDENTIALS, status=401)

    # The slow parts (hashing, signing) are done outside the transaction: on
    # SQLite it holds the file's write lock, on PostgreSQL the credential's row.
    tokens, refresh_record = token_pair_sign(credential=credential, family=_new_family())
    changes = {"failed_login_count": 0, "locked_until": None, "last_login_at": now, "updated_at": now}
    if rehashed:
        changes["password"] = rehashed[0]
    with _atomic():
        # In SQL (common.sql), as every statement of the login's transaction: the ORM built them slower than
        # the database ran them.
        if not update_by_key(Credential, router.db_for_write(Credential), credential.pk, changes):
            raise ApiError(INVALID_CREDENTIALS, status=401)  # deleted since it was read
        _refresh_record_insert(refresh_record)
        _credential_event_publish(credential.user_id, "auth.login.success")
    for name, value in changes.items():
        setattr(credential, name, value)
    LOGIN_SUCCESSES.inc()
    logger.info("login succeeded", extra={"event": "auth.login.success", "user_id": credential.user_id})
    return LoginResult(credential=credential, tokens=tokens)


def _disabled_at_users_service(user_id: int, *, at: datetime) -> bool:
    """Whether the users service deactivated or deleted ``user_id`` (``common.revocation.user_disable``) as of ``at``.

    Redis unreachable reads as "no": the event brings the same news, and logins do
    not stop for an outage of what only speeds it up (the gateway still refuses the
    user's tokens, failing closed).
    """
    try:
        return user_tokens_refused(client_for(settings.REDIS_URL), user_id, issued_at=at.timestamp())
    except RevocationUnavailable as exc:
        logger.warning("deactivations not readable: login checked without them", extra={"error": str(exc)})
        return False


def _password_attempt_refusal(credential: Credential | None, *, at: datetime) -> str | None:
    """Why a password may not be checked against ``credential`` now (``None``: it may, and is counted).

    The attempt is counted before its hash, in one conditional increment of the
    row (its row lock): the threshold's worth of attempts at most get past it
    before the lock is decided, however many arrive at once.
    """
    # Asked for an unknown address too (user 0 is no one), so the answer's time tells nothing.
    disabled = _disabled_at_users_service(credential.user_id if credential is not None else 0, at=at)
    if credential is None:
        return "unknown_email"
    if not credential.is_active or disabled:
        return "inactive"
    if credential.is_locked(at=at):
        return "locked"
    using = router.db_for_write(Credential)
    connection = connections[using]
    locked_until = Credential._meta.get_field("locked_until").get_db_prep_value(at, connection)
    with _atomic(), connection.cursor() as cursor:
        cursor.execute(
            model_statement(Credential, using, _ATTEMPT_COUNT),
            [Credential._meta.get_field("updated_at").get_db_prep_value(at, connection), credential.pk, True,
             settings.LOGIN_LOCKOUT_THRESHOLD, locked_until],
        )
        counted = cursor.fetchone()
        if counted is None:
            if not Credential.objects.filter(pk=credential.pk, is_active=True).exists():
                return "unknown_email"  # deleted or deactivated since it was read: no one's attempt any more
            return "locked"  # the attempts in flight already reach the threshold
    credential.failed_login_count = counted[0]
    return None


# One statement counts an attempt and reads the count back (SQLite 3.35+, PostgreSQL): the ORM's
# conditional update and a second read cost more CPU than the hash's neighbours together.
_ATTEMPT_COUNT = (
    "UPDATE {table} SET {failed_login_count} = {failed_login_count} + 1, {updated_at} = %s"
    " WHERE {user_id} = %s AND {is_active} = %s AND {failed_login_count} < %s"
    " AND ({locked_until} IS NULL OR {locked_until} <= %s) RETURNING {failed_login_count}"
)


def _password_attempt_refused(credential: Credential | None, *, reason: str) -> None:
    """A password not checked (no account, deactivated, locked): published for the account's activity, reported."""
    known = credential is not None and reason != "unknown_email"
    if known:  # an unknown address (or a credential gone meanwhile) is no one's activity: nothing to publish
        with _atomic():
            _credential_event_publish(credential.user_id, "auth.login.failed", reason=reason, locked=False)
    _login_failure_report(user_id=credential.user_id if known else None, reason=reason)


def _password_attempt_failed(credential: Credential, *, at: datetime) -> bool:
    """A wrong password, already counted: the account locked if its count reached the threshold. Whether it did."""
    locked = credential.failed_login_count >= settings.LOGIN_LOCKOUT_THRESHOLD
    with _atomic():
        if locked:
            # The count starts again once the lock expires.
            changes = {"failed_login_count": 0, "updated_at": at}
            changes["locked_until"] = at + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
            update_by_key(Credential, router.db_for_write(Credential), credential.pk, changes)
        _credential_event_publish(credential.user_id, "auth.login.failed", reason="wrong_password", locked=locked)
    _login_failure_report(user_id=credential.user_id, reason="wrong_password", locked=locked)
    return locked


def _login_failure_report(*, user_id: int | None, reason: str, locked: bool = False) -> None:
    """A refused login, logged and counted (``auth_login_failures_total``)."""
    LOGIN_FAILURES.labels(reason).inc()
    logger.info(
        "login failed",
        extra={"event": "auth.login.failed", "user_id": user_id, "reason": reason, "locked": locked},
    )


def session_logout(*, end_user: EndUser, refresh: str | None) -> None:
    """End a session: the presented access token, and the family of ``refresh`` if given, stop working at once.

    ``refresh`` must be a refresh token of the same user (else a 400 and
    nothing is revoked); an expired one has nothing left to end and is ignored.
    """
    family = _own_refresh_family(refresh, user_id=end_user.id) if refresh else None
    now = timezone.now()
    with _atomic(), _revocation_store() as revocations:
        if family is not None:
            _family_revoke(family=family, revocations=revocations, at=now)
        revoke_token(revocations, end_user.jti, end_user.token_exp)
        if Credential.objects.filter(pk=end_user.id).exists():
            _credential_event_publish(end_user.id, "auth.logout", session_ended=family is not None)
    logger.info("logout", extra={"event": "auth.logout", "user_id": end_user.id, "family": family})


def _own_refresh_family(refresh: str, *, user_id: int) -> str | None:
    try:
        token = SessionRefreshToken(refresh)
    except ExpiredTokenError:
        return None
    except TokenError as exc:
        raise LegacyValidationError([legacy_field_error("refresh")]) from exc
    if token.get(USER_ID_CLAIM) != user_id:
        raise LegacyValidationError([legacy_field_error("refresh")])
    return token[FAMILY_CLAIM]


# CREDENTIALS
# ------------------------------------------------------------------------------


def _password_validate(password: str, *, path: str, credential: Credential) -> None:
    """Django's AUTH_PASSWORD_VALIDATORS, failures in the legacy shape (never echoing the password)."""
    try:
        validate_password(password, user=credential)
    except DjangoValidationError as exc:
        raise LegacyValidationError([legacy_field_error(path, message) for message in exc.messages]) from exc


def credential_create(
    *, user_id: int, email: str, password: str, name: str | None, user_created_at: datetime
) -> TokenPair:
    """Create the credential of a user the users service is registering; start their first session.

    Safe to retry: the same ``user_id`` again, with the same (canonical) email
    and a password that verifies, issues fresh tokens. A different email or
    password for an existing ``user_id`` is a 409, and so is an email another
    user id already has.
    """
    canonical = canonical_email(email)
    if canonical is None:
        raise LegacyValidationError([legacy_field_error("email", value=email)])
    _password_validate(password, path="password", credential=Credential(email=email))
    existing = credential_get(user_id=user_id)
    if existing is not None:
        return _credential_create_retry(existing, email_canonical=canonical, password=password)
    if Credential.objects.filter(email_canonical=canonical).exists():
        raise ApiError(EMAIL_TAKEN, status=409)
    try:
        with _atomic():
            credential = Credential.objects.create(
                user_id=user_id,
                email=email,
                email_canonical=canonical,
                password=make_password(password),
                name=name,
                user_created_at=user_created_at,
            )
            tokens = token_pair_issue(credential=credential, family=_new_family())
    except IntegrityError:
        # A concurrent request got there first: with this user id (a retry) or this email.
        existing = credential_get(user_id=user_id)
        if existing is None:
            raise ApiError(EMAIL_TAKEN, status=409) from None
        return _credential_create_retry(existing, email_canonical=canonical, password=password)
    logger.info("credential created", extra={"event": "auth.credential.created", "user_id": user_id})
    return tokens


def _credential_create_retry(existing: Credential, *, email_canonical: str, password: str) -> TokenPair:
    if existing.email_canonical != email_canonical or not check_password(password, existing.password):
        raise ApiError(USER_ID_TAKEN, status=409)
    with _atomic():
        return token_pair_issue(credential=existing, family=_new_family())


def credential_delete(*, user_id: int) -> None:
    """Delete a user's credential and refresh tokens, and revoke every token they hold. Nothing to do when absent.

    Compensates a registration that failed after the credential was made, and
    ends a deleted account.
    """
    with _atomic(), _revocation_store() as revocations:
        credential = Credential.objects.select_for_update().filter(pk=user_id).first()
        if credential is None:
            return
        credential.delete()
        set_minimum_version(revocations, user_id, credential.token_version + 1)
    logger.info("credential deleted", extra={"event": "auth.credential.deleted", "user_id": user_id})


def credential_change_password(*, user_id: int, current_password: str, new_password: str) -> TokenPair:
    """Replace a user's password and end every session they had, then start a new one for the caller.

    The new password goes through AUTH_PASSWORD_VALIDATORS (400) before the
    current one is checked (401), which counts as a login's check does: a
    wrong one towards the lockout, none checked while the account is locked. The token version is bumped here and in
    Redis, so every token issued before stops working at once at the gateway.
    """
    credential = credential_get(user_id=user_id)
    if credential is None or not credential.is_active:
        raise ApiError(USER_NOT_FOUND, status=404)
    _password_validate(new_password, path="newPassword", credential=credential)
    # The current password is a sign-in's password check: counted, locked out and reported as one.
    now = timezone.now()
    refusal = _password_attempt_refusal(credential, at=now)
    if refusal is not None:
        _password_check_without_credential(current_password)
        _password_attempt_refused(credential, reason=refusal)
        raise ApiError(CURRENT_PASSWORD_INCORRECT, status=401)
    if not check_password(current_password, credential.password):
        _password_attempt_failed(credential, at=now)
        raise ApiError(CURRENT_PASSWORD_INCORRECT, status=401)
    with _atomic(), _revocation_store() as revocations:
        credential = Credential.objects.select_for_update().get(pk=user_id)
        credential.password = make_password(new_password)
        credential.token_version += 1
        credential.password_changed_at = now
        credential.failed_login_count = 0
        credential.locked_until = None
        credential.save()
        credential.refresh_tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
        set_minimum_version(revocations, user_id, credential.token_version)
        tokens = token_pair_issue(credential=credential, family=_new_family())
        _credential_event_publish(user_id, "auth.password.changed")
    logger.info("password changed", extra={"event": "auth.password.changed", "user_id": user_id})
    return tokens


# EVENTS
# ------------------------------------------------------------------------------


def _credential_event_publish(user_id: int, event_type: str, **payload) -> None:
    """Write ``event_type`` about ``user_id`` to the outbox, numbered by the credential's event counter.

    Inside ``_atomic()``: the counter's row lock orders the events of one user. One
    ``UPDATE … RETURNING`` (SQLite 3.35+, PostgreSQL) bumps and reads the counter.
    """
    using = router.db_for_write(Credential)
    table, columns = quoted_table(Credential, using)
    counter, key = columns["event_version"], columns["user_id"]
    with connections[using].cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {counter} = {counter} + 1 WHERE {key} = %s RETURNING {counter}", [user_id])
        row = cursor.fetchone()
    if row is None:
        raise Credential.DoesNotExist(f"no credential {user_id}")
    event_publish(type=event_type, aggregate_id=user_id, version=row[0], payload={"user_id": user_id, **payload})


def credential_apply_user_event(*, event: Event) -> None:
    """Make the credential follow the users service's user (``EVENTS_HANDLERS``: every ``user.*`` event).

    Each event carries the user's whole state, and the consumer hands over only
    a version newer than the last it applied, inside the transaction that
    records the event; so a late or repeated event changes nothing.

    - ``user.deleted``: the credential and its refresh tokens are erased, and
      every token of the user is revoked at the gateway.
    - any other: the login email (the old one stops working at once) and name
      follow; a deactivation refuses logins and revokes every token (the token
      version is bumped here and in Redis); a reactivation allows logins again.

    A user without a credential here (a registration that was undone) is
    skipped. Redis unreachable raises ``RevocationUnavailable``: the consumer
    rolls back and retries until it is back.
    """
    user_id = int(event.payload["user_id"])
    if str(user_id) != event.aggregate_id:
        raise ValueError(f"payload user_id {user_id} is not the event's aggregate {event.aggregate_id}")
    # In SQL (common.sql), not the ORM: this runs for every event of a backlog.
    using = router.db_for_write(Credential)
    current = select_by_key_for_update(Credential, using, user_id, ["is_active", "token_version"])
    if current is None:
        logger.info("user event without a credential ignored", extra={"user_id": user_id, "event_type": event.type})
        return
    was_active, token_version = bool(current[0]), current[1]
    now = timezone.now()
    if event.type == "user.deleted":
        Credential.objects.filter(pk=user_id).delete()
        LegacyRowState.forget_person(user_id)
        set_minimum_version(client_for(settings.REDIS_URL), user_id, token_version + 1)
        logger.info("credential deleted", extra={"event": "auth.credential.deleted", "user_id": user_id})
        return
    email, is_active = event.payload["email"], event.payload["is_active"]
    canonical = canonical_email(email) if isinstance(email, str) else None
    if canonical is None or not isinstance(is_active, bool):
        raise ValueError("a user event carries an email address and is_active as a boolean")
    changes = {"email": email, "email_canonical": canonical, "name": event.payload.get("name"), "is_active": is_active}
    deactivated = was_active and not is_active
    if deactivated:
        changes["token_version"] = token_version + 1
        RefreshTokenRecord.objects.filter(credential_id=user_id, revoked_at__isnull=True).update(revoked_at=now)
    update_by_key(Credential, using, user_id, {**changes, "updated_at": now})
    if deactivated:
        set_minimum_version(client_for(settings.REDIS_URL), user_id, token_version + 1)
    if was_active != is_active:
        logger.info(
            "credential deactivated" if deactivated else "credential reactivated",
            extra={"event": "auth.credential.updated", "user_id": user_id, "is_active": is_active},
        )


# SUPPORT STAFF (the users service's admin calls these through /internal/)
# ------------------------------------------------------------------------------


def credential_unlock(*, user_id: int) -> Credential:
    """Lift a lockout now; the count of wrong passwords starts again from zero. 404 without a credential."""
    with _atomic():
        credential = Credential.objects.select_for_update().filter(pk=user_id).first()
        if credential is None:
            raise ApiError(USER_NOT_FOUND, status=404)
        credential.failed_login_count = 0
        credential.locked_until = None
        credential.save(update_fields=["failed_login_count", "locked_until", "updated_at"])
    logger.info("credential unlocked", extra={"event": "auth.credential.unlocked", "user_id": user_id})
    return credential


def credential_sessions_end(*, user_id: int) -> Credential:
    """End every session of a user: each token issued so far stops working at once, the password stays.

    As a password change does: the token version is bumped here and in Redis
    and every refresh token is revoked. Redis unreachable is a 503 and nothing
    changes; 404 without a credential.
    """
    now = timezone.now()
    with _atomic(), _revocation_store() as revocations:
        credential = Credential.objects.select_for_update().filter(pk=user_id).first()
        if credential is None:
            raise ApiError(USER_NOT_FOUND, status=404)
        credential.token_version += 1
        credential.save(update_fields=["token_version", "updated_at"])
        credential.refresh_tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
        set_minimum_version(revocations, user_id, credential.token_version)
    logger.info("every session ended", extra={"event": "auth.sessions.ended", "user_id": user_id})
    return credential
