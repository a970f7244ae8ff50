"""Sessions of the auth service: token pairs issued, rotated and ended, and what every write stands on.

A login session is a refresh-token family. What must also reach the revocation
store (Redis, read by the gateway) is written there inside the database
transaction: Redis unreachable rolls it back and answers 503, so nothing claims
to be revoked while still working at the gateway. Changes are published as
``auth.*`` events through the outbox, in the transaction of the change.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Max
from django.utils import timezone
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import aware_utcnow, datetime_from_epoch

from common.errors import ApiError, LegacyValidationError, legacy_field_error
from common.events.outbox import event_publish
from common.internal_auth import EndUser
from common.revocation import RevocationUnavailable, client_for, revoke_family, revoke_token, user_tokens_refused
from common.sql import insert_row, model_statement
from credentials.models import Credential, RefreshTokenRecord
from credentials.tokens import (
    FAMILY_CLAIM,
    USER_ID_CLAIM,
    VERSION_CLAIM,
    SessionAccessToken,
    SessionRefreshToken,
    new_token_claims,
    token_sign,
)

logger = logging.getLogger(__name__)

INVALID_TOKEN = "Invalid or expired token"
SERVICE_UNAVAILABLE = "Service unavailable"


@dataclass(frozen=True)
class TokenPair:
    """A signed access token and refresh token issued together."""

    access: str
    refresh: str
    refresh_jti: str


def credentials_transaction():
    """A transaction on the credentials database: every write of the app runs in one."""
    return transaction.atomic(using=router.db_for_write(Credential))


@contextmanager
def revocation_store() -> Iterator[redis.Redis]:
    """The Redis client of ``common.revocation``; Redis being down becomes a 503."""
    try:
        yield client_for(settings.REDIS_URL)
    except RevocationUnavailable as exc:
        logger.error("revocation store unreachable", extra={"error": str(exc)})
        raise ApiError(SERVICE_UNAVAILABLE, status=503) from exc


def credential_event_publish(user_id: int, event_type: str, **payload) -> None:
    """Write ``event_type`` about ``user_id`` to the outbox, numbered by the credential's event counter.

    Inside ``credentials_transaction()``: the counter's row lock orders the events of one user. One
    ``UPDATE … RETURNING`` (SQLite 3.35+, PostgreSQL) bumps and reads the counter.
    """
    using = router.db_for_write(Credential)
    with connections[using].cursor() as cursor:
        cursor.execute(model_statement(Credential, using, _EVENT_COUNT), [user_id])
        row = cursor.fetchone()
    if row is None:
        raise Credential.DoesNotExist(f"no credential {user_id}")
    credential_event_publish_numbered(user_id, event_type, version=row[0], **payload)


def credential_event_publish_numbered(user_id: int, event_type: str, *, version: int, **payload) -> None:
    """:func:`credential_event_publish` once the counter is bumped: ``version`` is its new value, read back in the
    same transaction by the caller's statement that bumped it (a login's success)."""
    event_publish(type=event_type, aggregate_id=user_id, version=version, payload={"user_id": user_id, **payload})


_EVENT_COUNT = "UPDATE {table} SET {event_version} = {event_version} + 1 WHERE {user_id} = %s RETURNING {event_version}"


# TOKENS
# ------------------------------------------------------------------------------


def token_pair_issue(*, credential: Credential, family: str) -> TokenPair:
    """A new access and refresh token for ``credential`` in the login session ``family``.

    The refresh token is recorded so it can be used once and revoked with its family.
    """
    tokens, record = token_pair_sign(credential=credential, family=family)
    refresh_record_insert(record)
    return tokens


def token_pair_sign(*, credential: Credential, family: str) -> tuple[TokenPair, dict]:
    """The signed tokens of :func:`token_pair_issue`, and the row of its refresh token's record, not saved yet.

    Signing takes two signatures (ES256 with an EC key; RS256, much slower, with
    an RSA key): a caller holding a lock (a transaction that writes) signs first
    and saves the record inside. The record is its row's values (field name →
    value), not a ``RefreshTokenRecord``: it is only ever inserted, and a model
    instance cost a login ~50 Python calls.
    """
    # SimpleJWT's tokens, their claims written out (credentials.tokens.new_token_claims) rather than built
    # through two token objects: a login signs these.
    now = aware_utcnow()
    claims = {USER_ID_CLAIM: credential.user_id, VERSION_CLAIM: credential.token_version, FAMILY_CLAIM: family}
    refresh = new_token_claims(SessionRefreshToken, at=now, **claims)
    access = new_token_claims(SessionAccessToken, at=now, **claims, email=credential.email)
    record = {
        "jti": refresh[api_settings.JTI_CLAIM],
        "credential": credential.pk,
        "family": family,
        "issued_at": datetime_from_epoch(refresh["iat"]),
        "expires_at": datetime_from_epoch(refresh["exp"]),
        "replaced_by": "",
    }
    tokens = TokenPair(access=token_sign(access), refresh=token_sign(refresh), refresh_jti=record["jti"])
    return tokens, record


def refresh_record_insert(record: dict) -> None:
    """Save a new refresh token's record (:func:`token_pair_sign`'s row): one ``INSERT`` in SQL (``common.sql``),
    every login makes one."""
    insert_row(RefreshTokenRecord, router.db_for_write(RefreshTokenRecord), record)


def new_family() -> str:
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

    Anything else is a 401; a token used before ends its whole family, here and
    at the gateway (docs/accounts.md, "Tokens" and "Closing an account").
    """
    try:
        presented = SessionRefreshToken(refresh)
    except TokenError as exc:
        raise ApiError(INVALID_TOKEN, status=401) from exc
    now = timezone.now()
    reused_family = None
    with credentials_transaction(), revocation_store() as revocations:
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


# LOGOUT
# ------------------------------------------------------------------------------


def session_logout(*, end_user: EndUser, refresh: str | None) -> None:
    """End a session: the presented access token, and the family of ``refresh`` if given, stop working at once.

    ``refresh`` must be a refresh token of the same user (else a 400 and
    nothing is revoked); an expired one has nothing left to end and is ignored.
    """
    family = _own_refresh_family(refresh, user_id=end_user.id) if refresh else None
    now = timezone.now()
    with credentials_transaction(), revocation_store() as revocations:
        if family is not None:
            _family_revoke(family=family, revocations=revocations, at=now)
        revoke_token(revocations, end_user.jti, end_user.token_exp)
        if Credential.objects.filter(pk=end_user.id).exists():
            credential_event_publish(end_user.id, "auth.logout", session_ended=family is not None)
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
