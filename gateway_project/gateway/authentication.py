"""Authentication at the edge: the access token of a token-protected request, checked once, here.

A token is checked with SimpleJWT's own validation (RS256 signature with the
public key its ``kid`` names among ``JWT_PUBLIC_KEYS``, ``exp`` present and not
passed, a ``jti``, ``token_type`` "access"; see ``common.token_backend``), then
against the revocation state in Redis, in one round trip. Tokens the
monolith issued (HS256, no ``jti`` nor ``ver``) pass while ``LEGACY_JWT_SECRET``
is set, under the same revocation rules. Refusals keep the monolith's shapes:
401 ``Access token required`` without a token, 403 ``Invalid or expired token``
otherwise; 503 when the revocation state cannot be read (fail closed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import jwt
from django.conf import settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from common import revocation
from common.token_backend import key_set_backend

logger = logging.getLogger(__name__)

LEGACY_ALGORITHMS = ["HS256"]
_LEGACY_OPTIONS = {"require": ["exp", "userId"]}


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


def authenticate(request, extra_keys=None) -> tuple[Identity, list]:
    """The identity of a request to a token-protected route; ``EdgeAuthError`` when it has none.

    ``extra_keys(identity)`` names more Redis keys to read in the same round trip
    as the revocation state (an edge read's); their values come back beside the identity.
    """
    raw = bearer_token(request)
    if not raw:
        raise token_required()
    identity, version, family = _identity(raw)
    keys = revocation.revocation_keys(user_id=identity.user_id, jti=identity.jti, family=family)
    extra = extra_keys(identity) if extra_keys else []
    try:
        values = revocation.read(revocation.client_for(settings.REDIS_URL), keys + extra)
    except revocation.RevocationUnavailable as exc:
        logger.warning("revocation state unavailable: token-protected requests refused", extra={"error": str(exc)})
        raise EdgeAuthError("Service unavailable", 503) from exc
    if revocation.revoked(values[: len(keys)], version=version):
        raise token_invalid()
    return identity, values[len(keys) :]


def _identity(raw: str) -> tuple[Identity, int, str | None]:
    """(identity, token version, refresh family) of a valid token; 403 when it is not one."""
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
    if (
        type(user_id) is not int
        or not isinstance(email, str)
        or type(version) is not int
        or not (family is None or isinstance(family, str))
    ):
        raise token_invalid()
    if legacy:
        jti, version, family = revocation.legacy_token_id(raw), 0, None
    else:
        jti = str(claims["jti"])
    return Identity(user_id=user_id, email=email, jti=jti, token_exp=int(claims["exp"])), version, family


def _legacy_claims(raw: str) -> dict:
    """The claims of a token the monolith signed, while its secret is configured; 403 otherwise.

    An RS256 token that failed SimpleJWT's checks (forged, expired, a refresh
    token, an unknown key) fails here too: only HS256 with the monolith's secret passes.
    """
    if not settings.LEGACY_JWT_SECRET:
        raise token_invalid()
    try:
        return jwt.decode(raw, settings.LEGACY_JWT_SECRET, algorithms=LEGACY_ALGORITHMS, options=_LEGACY_OPTIONS)
    except jwt.PyJWTError:
        raise token_invalid() from None
