"""Logins: an email and password checked, the lockout counted, a session started.

Every refusal costs the same password-hashing work, whatever its reason, so
its time tells nothing about the account (docs/accounts.md, "Passwords").
"""

from __future__ import annotations

import functools
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, get_hasher, make_password
from django.db import connections, router
from django.utils import timezone

from common.errors import ApiError
from common.revocation import RevocationUnavailable, client_for, user_tokens_refused
from common.sql import db_values, model_statement, update_by_key
from credentials.metrics import LOGIN_FAILURES, LOGIN_SUCCESSES
from credentials.models import Credential
from credentials.selectors import credential_get_by_email
from credentials.sessions import (
    TokenPair,
    credential_event_publish,
    credential_event_publish_numbered,
    credentials_transaction,
    new_family,
    refresh_record_insert,
    token_pair_sign,
)

logger = logging.getLogger(__name__)

INVALID_CREDENTIALS = "Invalid credentials"


@dataclass(frozen=True)
class LoginResult:
    """What a successful login answers with: the tokens and the user they were issued to."""

    credential: Credential
    tokens: TokenPair


@functools.cache
def _dummy_hash(algorithm: str) -> str:
    # Keyed by the default hasher's name so a settings change in tests makes a fresh one.
    return make_password(secrets.token_urlsafe(16))


def password_check_without_credential(password: str) -> None:
    """Spend what checking a real password costs, so a refusal does not tell whether the account exists."""
    check_password(password, _dummy_hash(get_hasher().algorithm))


def credential_login(*, email: str, password: str) -> LoginResult:
    """Check an email and password; on success start a login session (a token family).

    Every refusal (unknown, wrong, deactivated, locked) is the same 401 after
    the same hashing work; an attempt is counted towards the lockout before its
    hash; a legacy hash is replaced by an Argon2 one on success (docs/accounts.md, "Passwords").
    """
    now = timezone.now()
    credential = credential_get_by_email(email=email)
    refusal = password_attempt_refusal(credential, at=now)
    if refusal is not None:
        password_check_without_credential(password)
        password_attempt_refused(credential, reason=refusal)
        raise ApiError(INVALID_CREDENTIALS, status=401)

    rehashed = []

    def rehash(raw_password: str) -> None:
        # The new hash is made here, before any lock is taken, and saved with the login below.
        rehashed.append(make_password(raw_password))

    if not check_password(password, credential.password, setter=rehash):
        password_attempt_failed(credential, at=now)
        raise ApiError(INVALID_CREDENTIALS, status=401)

    # The slow parts (hashing, signing) are done outside the transaction: on
    # SQLite it holds the file's write lock, on PostgreSQL the credential's row.
    tokens, refresh_record = token_pair_sign(credential=credential, family=new_family())
    changes = {"failed_login_count": 0, "locked_until": None, "last_login_at": now, "updated_at": now}
    if rehashed:
        changes["password"] = rehashed[0]
    using = router.db_for_write(Credential)
    with credentials_transaction():
        # In SQL (common.sql), as every statement of the login's transaction: the ORM built them slower than
        # the database ran them. The success and the event's number (credential_event_publish's counter) in
        # one UPDATE of the row.
        values = {"last_login_at": now, "updated_at": now, **({"password": rehashed[0]} if rehashed else {})}
        with connections[using].cursor() as cursor:
            cursor.execute(
                model_statement(Credential, using, _SUCCESS_REHASHED if rehashed else _SUCCESS),
                [*db_values(Credential, using, values), credential.pk],
            )
            numbered = cursor.fetchone()
        if numbered is None:
            raise ApiError(INVALID_CREDENTIALS, status=401)  # deleted since it was read
        refresh_record_insert(refresh_record)
        credential_event_publish_numbered(credential.user_id, "auth.login.success", version=numbered[0])
    for name, value in changes.items():
        setattr(credential, name, value)
    credential.event_version = numbered[0]
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


def password_attempt_refusal(credential: Credential | None, *, at: datetime) -> str | None:
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
    updated_at, unlocked_by = db_values(Credential, using, {"updated_at": at, "locked_until": at})
    # One statement, so no transaction of its own: it commits (and lets the row go) as it ends, as the
    # transaction it was alone in did, with a BEGIN and a COMMIT fewer (in a caller's transaction, in that one).
    with connections[using].cursor() as cursor:
        cursor.execute(
            model_statement(Credential, using, _ATTEMPT_COUNT),
            [updated_at, credential.pk, True, settings.LOGIN_LOCKOUT_THRESHOLD, unlocked_by],
        )
        counted = cursor.fetchone()
    if counted is None:
        if not Credential.objects.filter(pk=credential.pk, is_active=True).exists():
            return "unknown_email"  # deleted or deactivated since it was read: no one's attempt any more
        return "locked"  # the attempts in flight already reach the threshold
    credential.failed_login_count = counted[0]
    return None


# One statement counts an attempt and reads the count back (SQLite 3.35+, PostgreSQL), in place of the ORM's
# conditional update and a second query (docs/performance.md, "Logins, 2026-12-06, second pass").
_ATTEMPT_COUNT = (
    "UPDATE {table} SET {failed_login_count} = {failed_login_count} + 1, {updated_at} = %s"
    " WHERE {user_id} = %s AND {is_active} = %s AND {failed_login_count} < %s"
    " AND ({locked_until} IS NULL OR {locked_until} <= %s) RETURNING {failed_login_count}"
)


# A success: the count and lock cleared, the login's time, the event counter bumped and read back (one
# statement where update_by_key and credential_event_publish made two); with a new hash when it was rehashed.
_SUCCESS = (
    "UPDATE {table} SET {failed_login_count} = 0, {locked_until} = NULL, {last_login_at} = %s, {updated_at} = %s,"
    " {event_version} = {event_version} + 1 WHERE {user_id} = %s RETURNING {event_version}"
)
_SUCCESS_REHASHED = _SUCCESS.replace("{updated_at} = %s,", "{updated_at} = %s, {password} = %s,")


def password_attempt_refused(credential: Credential | None, *, reason: str) -> None:
    """A password not checked (no account, deactivated, locked): published for the account's activity, reported."""
    known = credential is not None and reason != "unknown_email"
    if known:  # an unknown address (or a credential gone meanwhile) is no one's activity: nothing to publish
        with credentials_transaction():
            credential_event_publish(credential.user_id, "auth.login.failed", reason=reason, locked=False)
    _login_failure_report(user_id=credential.user_id if known else None, reason=reason)


def password_attempt_failed(credential: Credential, *, at: datetime) -> bool:
    """A wrong password, already counted: the account locked if its count reached the threshold. Whether it did."""
    locked = credential.failed_login_count >= settings.LOGIN_LOCKOUT_THRESHOLD
    with credentials_transaction():
        if locked:
            # The count starts again once the lock expires.
            changes = {"failed_login_count": 0, "updated_at": at}
            changes["locked_until"] = at + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
            update_by_key(Credential, router.db_for_write(Credential), credential.pk, changes)
        credential_event_publish(credential.user_id, "auth.login.failed", reason="wrong_password", locked=locked)
    _login_failure_report(user_id=credential.user_id, reason="wrong_password", locked=locked)
    return locked


def _login_failure_report(*, user_id: int | None, reason: str, locked: bool = False) -> None:
    """A refused login, logged and counted (``auth_login_failures_total``)."""
    LOGIN_FAILURES.labels(reason).inc()
    logger.info(
        "login failed",
        extra={"event": "auth.login.failed", "user_id": user_id, "reason": reason, "locked": locked},
    )
