"""The credential a service trusts: a short-lived assertion signed by the gateway (or a peer service).

Clients never reach the services directly in production, but a service must not
depend on that: every request to a service's API carries ``X-Internal-Auth``, a
compact HS256 JWT signed with ``INTERNAL_AUTH_KEY`` (shared by the three services,
never by clients). It names who calls (``iss``), for which service (``aud``), the
request id (``rid``) and, when the gateway authenticated an end user, who that is:

    sub        the user id (string), as in the user's access token
    email      the email claim of the user's token
    jti        the user's token id (a legacy token's is derived from its hash)
    token_exp  when the user's token expires (epoch seconds)

It expires after ``INTERNAL_AUTH_TTL`` seconds, so a captured header is useless soon.
The gateway drops any ``X-Internal-Auth`` a client sends and sets its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from django.conf import settings

from common.errors import error_response
from common.request_context import current_request_id

INTERNAL_AUTH_HEADER = "X-Internal-Auth"
ALGORITHM = "HS256"
INTERNAL_AUTH_TTL = 60
# Paths a service serves without the internal credential: probes and the staff admin.
PUBLIC_PATH_PREFIXES = ("/health", "/ready", "/admin/", "/static/", "/metrics")


class InternalAuthError(Exception):
    """The internal credential is missing, forged, expired or meant for another service."""


@dataclass(frozen=True)
class EndUser:
    """The customer a request acts for, as the gateway vouched. Quacks enough like a Django user for DRF."""

    id: int
    email: str
    jti: str
    token_exp: int

    is_authenticated = True
    is_anonymous = False
    is_active = True


def sign_internal(
    audience: str,
    *,
    issuer: str,
    user_id: int | None = None,
    email: str | None = None,
    jti: str | None = None,
    token_exp: int | None = None,
    key: str | None = None,
) -> str:
    """The ``X-Internal-Auth`` value for one request from ``issuer`` to ``audience``."""
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "iat": now, "exp": now + INTERNAL_AUTH_TTL}
    request_id = current_request_id()
    if request_id:
        claims["rid"] = request_id
    if user_id is not None:
        claims.update(sub=str(user_id), email=email, jti=jti, token_exp=token_exp)
    return jwt.encode(claims, key or settings.INTERNAL_AUTH_KEY, algorithm=ALGORITHM)


def verify_internal(value: str, audience: str, key: str | None = None) -> dict:
    """The claims of a valid credential for ``audience``; ``InternalAuthError`` otherwise."""
    try:
        return jwt.decode(
            value,
            key or settings.INTERNAL_AUTH_KEY,
            algorithms=[ALGORITHM],
            audience=audience,
            options={"require": ["iss", "aud", "iat", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise InternalAuthError(str(exc)) from exc


def end_user_from_claims(claims: dict) -> EndUser | None:
    if "sub" not in claims:
        return None
    return EndUser(
        id=int(claims["sub"]),
        email=claims.get("email") or "",
        jti=claims.get("jti") or "",
        token_exp=int(claims.get("token_exp") or 0),
    )


class InternalAuthMiddleware:
    """Refuses (401 JSON) any API request to this service without a valid internal credential.

    On success ``request.internal_claims`` holds the claims and ``request.end_user``
    the vouched-for user, or ``None`` for an anonymous request (register, login).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(PUBLIC_PATH_PREFIXES):
            return self.get_response(request)
        value = request.headers.get(INTERNAL_AUTH_HEADER)
        if not value:
            return error_response("Requests must come through the gateway", 401)
        try:
            claims = verify_internal(value, settings.SERVICE_NAME)
        except InternalAuthError:
            return error_response("Invalid internal credential", 401)
        request.internal_claims = claims
        request.end_user = end_user_from_claims(claims)
        return self.get_response(request)
