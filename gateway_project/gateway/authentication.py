"""Authentication at the edge: the access token of a token-protected request, checked once, here.

A token is checked with SimpleJWT's own validation (the signature with the
public key its ``kid`` names among ``JWT_PUBLIC_KEYS``, in that key's algorithm
only: ES256 for an EC key, RS256 for an RSA key; ``exp`` present and not
passed, a ``jti``, ``token_type`` "access"; see ``common.token_backend``), then
against the revocation state in Redis, in one round trip. Tokens the
monolith issued (HS256, no ``jti`` nor ``ver``) pass while ``LEGACY_JWT_SECRET``
is set, within the monolith's lifetime and issued before the cutover, under the
same revocation rules. Refusals keep the monolith's shapes:
401 ``Access token required`` without a token, 403 ``Invalid or expired token``
otherwise; 503 when the revocation state cannot be read (fail closed).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from common import revocation
from common.token_backend import key_set_backend

from .ratelimits import ReadFailed, count_then_read, identity_limits

logger = logging.getLogger(__name__)

LEGACY_ALGORITHMS = ["HS256"]
# The monolith's jsonwebtoken set iat on every token it signed.
_LEGACY_OPTIONS = {"require": ["exp", "iat", "userId"]}


@dataclass(frozen=True, slots=True)
class Identity:
    """The user a valid token speaks for, as the services are told."""

    user_id: int
    email: str
    jti: str
    token_exp: int


class EdgeAuthError(Exception):
    """The request may not pass: answer ``{"error": message}`` with ``status``."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


class EdgeAccessToken(AccessToken):
    """An access token verified with the key its ``kid`` names among ``JWT_PUBLIC_KEYS``."""

    @property
    def token_backend(self) -> TokenBackend:
        return key_set_backend(tuple(settings.JWT_PUBLIC_KEYS))


def token_required() -> EdgeAuthError:
    return EdgeAuthError("Access token required", 401)


def token_invalid() -> EdgeAuthError:
    return EdgeAuthError("Invalid or expired token", 403)


def bearer_token(request) -> str:
    """The token after ``Bearer``; empty when there is none (as the monolith read the header)."""
    words = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(words) < 2:
        return ""
    if len(words) > 2 or words[0].lower() != "bearer":
        raise token_invalid()
    return words[1]


def authenticate(request, limits=(), extra_keys=None) -> tuple[Identity, list]:
    """The identity of a request to a token-protected route; ``EdgeAuthError`` when it has none.

    One Redis round trip counts the request's rate ``limits`` and those of the
    account the token names (``identity_limits``; ``TooManyRequests`` when one
    is reached, before anything else is said) and reads the token's
    revocation state, with the keys ``extra_keys(identity)`` names (an edge
    read's), whose values come back beside the identity.
    """
    try:
        raw = bearer_token(request)
        if not raw:
            raise token_required()
        identity, version, family, issued_at = _identity(raw)
    except EdgeAuthError:
        count_then_read(list(limits), [])
        raise
    keys = revocation.revocation_keys(user_id=identity.user_id, jti=identity.jti, family=family)
    extra = extra_keys(identity) if extra_keys else []
    try:
        limits = [*limits, *identity_limits(request, identity.email)]
        values = count_then_read(limits, keys + extra, revocation.client_for(settings.REDIS_URL))
    except ReadFailed as exc:
        logger.warning("revocation state unavailable: token-protected requests refused", extra={"error": str(exc)})
        raise EdgeAuthError("Service unavailable", 503) from exc
    if revocation.revoked(values[: len(keys)], version=version, issued_at=issued_at):
        raise token_invalid()
    return identity, values[len(keys) :]


# Tokens verified lately, by their text: a signature once verified stays verified, so a token a client
# sends again costs a lookup, not a signature check; its expiry is checked on every use. Per process,
# bounded (the oldest forgotten first), forgotten when the accepted keys change. Revocation is not
# cached: it is read from Redis on every request.
VERIFIED_TOKENS_MAX = 10_000
_verified: dict[str, tuple[Identity, int, str | None, int]] = {}
_verified_lock = threading.Lock()


@receiver(setting_changed)
def _forget_verified_tokens(setting, **kwargs) -> None:
    if setting in {"JWT_PUBLIC_KEYS", "SIMPLE_JWT"} or setting.startswith("LEGACY_JWT_"):
        with _verified_lock:
            _verified.clear()


def _identity(raw: str) -> tuple[Identity, int, str | None, int]:
    """(identity, token version, refresh family, issued at) of a valid token; 403 when it is not one."""
    found = _verified.get(raw)
    if found is not None and found[0].token_exp > time.time():
        return found
    verified = _verify(raw)
    with _verified_lock:
        _verified.pop(raw, None)
        if len(_verified) >= VERIFIED_TOKENS_MAX:
            del _verified[next(iter(_verified))]
        _verified[raw] = verified
    return verified


def _verify(raw: str) -> tuple[Identity, int, str | None, int]:
    try:
        claims = EdgeAccessToken(raw).payload
        legacy = False
    except TokenError:
        claims = _legacy_claims(raw)
        legacy = True
    user_id = claims.get("userId")
    if isinstance(user_id, str) and user_id.isdigit():
        user_id = int(user_id)
    email = claims.get("email", "")
    version = claims.get("ver", 0)
    family = claims.get("fam")
    # Tokens issued before a reactivation stay refused (common.revocation); one without iat counts as old.
    issued_at = claims.get("iat", 0)
    if (
        type(user_id) is not int
        or not isinstance(email, str)
        or type(version) is not int
        or not (family is None or isinstance(family, str))
        or not isinstance(issued_at, (int, float))
    ):
        raise token_invalid()
    if legacy:
        jti, version, family = revocation.legacy_token_id(raw), 0, None
    else:
        jti = str(claims["jti"])
    identity = Identity(user_id=user_id, email=email, jti=jti, token_exp=int(claims["exp"]))
    return identity, version, family, int(issued_at)


def _legacy_claims(raw: str) -> dict:
    """The claims of a token the monolith signed, while its secret is configured; 403 otherwise.

    A token of the auth service's (ES256 or RS256) that failed SimpleJWT's
    checks (forged, expired, a refresh token, an unknown key) fails here too:
    only HS256 with the monolith's secret passes, with an ``iat`` (not in the
    future, before ``LEGACY_JWT_ISSUED_BEFORE``) and an ``exp`` at most
    ``LEGACY_JWT_MAX_LIFETIME`` after it. As ``exp`` is checked on every use, so
    is the token's age.
    """
    if not settings.LEGACY_JWT_SECRET:
        raise token_invalid()
    try:
        claims = jwt.decode(raw, settings.LEGACY_JWT_SECRET, algorithms=LEGACY_ALGORITHMS, options=_LEGACY_OPTIONS)
    except jwt.PyJWTError:
        raise token_invalid() from None
    issued_at, expires_at = claims["iat"], claims["exp"]
    cutover = settings.LEGACY_JWT_ISSUED_BEFORE
    if (
        expires_at - issued_at > settings.LEGACY_JWT_MAX_LIFETIME
        or time.time() - issued_at > settings.LEGACY_JWT_MAX_LIFETIME
        or (cutover is not None and issued_at >= cutover.timestamp())
    ):
        raise token_invalid()
    return claims
