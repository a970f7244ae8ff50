"""Writes of the auth service's credentials: created, deleted, passwords changed, following the users service.

Logins and the lockout are ``credentials.logins``; token pairs, rotation and
logout ``credentials.sessions``, with the transaction, the revocation store and
the outbox every write here uses. The users service's own events (``user.*``)
are applied by ``credential_apply_user_event``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, router
from django.utils import timezone

from common.emails import canonical_email
from common.errors import ApiError, LegacyValidationError, legacy_field_error
from common.events.envelope import Event
from common.revocation import client_for, set_minimum_version
from common.sql import select_by_key_for_update, update_by_key
from credentials.logins import (
    password_attempt_failed,
    password_attempt_refusal,
    password_attempt_refused,
    password_check_without_credential,
)
from credentials.models import Credential, RefreshTokenRecord
from credentials.selectors import credential_get
from credentials.sessions import (
    TokenPair,
    credential_event_publish,
    credentials_transaction,
    new_family,
    revocation_store,
    token_pair_issue,
)

logger = logging.getLogger(__name__)

CURRENT_PASSWORD_INCORRECT = "Current password is incorrect"
USER_NOT_FOUND = "User not found"
EMAIL_TAKEN = "User already exists"
USER_ID_TAKEN = "A different credential already exists for this user id"


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
        with credentials_transaction():
            credential = Credential.objects.create(
                user_id=user_id,
                email=email,
                email_canonical=canonical,
                password=make_password(password),
                name=name,
                user_created_at=user_created_at,
            )
            tokens = token_pair_issue(credential=credential, family=new_family())
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
    with credentials_transaction():
        return token_pair_issue(credential=existing, family=new_family())


def credential_delete(*, user_id: int) -> None:
    """Delete a user's credential and refresh tokens, and revoke every token they hold. Nothing to do when absent.

    Compensates a registration that failed after the credential was made, and
    ends a deleted account.
    """
    with credentials_transaction(), revocation_store() as revocations:
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
    refusal = password_attempt_refusal(credential, at=now)
    if refusal is not None:
        password_check_without_credential(current_password)
        password_attempt_refused(credential, reason=refusal)
        raise ApiError(CURRENT_PASSWORD_INCORRECT, status=401)
    if not check_password(current_password, credential.password):
        password_attempt_failed(credential, at=now)
        raise ApiError(CURRENT_PASSWORD_INCORRECT, status=401)
    with credentials_transaction(), revocation_store() as revocations:
        credential = Credential.objects.select_for_update().get(pk=user_id)
        credential.password = make_password(new_password)
        credential.token_version += 1
        credential.password_changed_at = now
        credential.failed_login_count = 0
        credential.locked_until = None
        credential.save()
        credential.refresh_tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
        set_minimum_version(revocations, user_id, credential.token_version)
        tokens = token_pair_issue(credential=credential, family=new_family())
        credential_event_publish(user_id, "auth.password.changed")
    logger.info("password changed", extra={"event": "auth.password.changed", "user_id": user_id})
    return tokens


# EVENTS
# ------------------------------------------------------------------------------


def credential_apply_user_event(*, event: Event) -> None:
    """Make the credential follow the users service's user (``EVENTS_HANDLERS``: every ``user.*`` event).

    ``user.deleted`` erases the credential and revokes every token; any other
    event carries the user's whole state: email, name and ``is_active`` follow,
    a deactivation revokes every token (docs/accounts.md, "Closing an account").
    Without a credential (a registration undone) the event is skipped; Redis
    unreachable raises ``RevocationUnavailable`` and the consumer retries.
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
    with credentials_transaction():
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
    with credentials_transaction(), revocation_store() as revocations:
        credential = Credential.objects.select_for_update().filter(pk=user_id).first()
        if credential is None:
            raise ApiError(USER_NOT_FOUND, status=404)
        credential.token_version += 1
        credential.save(update_fields=["token_version", "updated_at"])
        credential.refresh_tokens.filter(revoked_at__isnull=True).update(revoked_at=now)
        set_minimum_version(revocations, user_id, credential.token_version)
    logger.info("every session ended", extra={"event": "auth.sessions.ended", "user_id": user_id})
    return credential
