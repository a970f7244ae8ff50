"""The credential a service trusts: a short-lived assertion signed by its caller (the gateway, or a peer service).

Clients never reach the services directly in production, but a service must not
depend on that: every request to a service's API carries ``X-Internal-Auth``, a
compact HS256 JWT signed with the caller's own key (``INTERNAL_AUTH_KEYS``: one
per caller, ``gateway``, ``users``, ``auth``; never known to clients). The key's
owner is named in the header (``kid``) and again as ``iss``. It says for which
service (``aud``) and which request (``method``, ``path``) it was made, the
request id (``rid``) and, when the gateway authenticated an end user, who that is:

    sub        the user id (string), as in the user's access token
    email      the email claim of the user's token
    jti        the user's token id (a legacy token's is derived from what was signed)
    token_exp  when the user's token expires (epoch seconds)

It expires after ``INTERNAL_AUTH_TTL`` seconds, and it is good for one method and
path: a captured header is useless for another request, and soon for any.

Each service says which callers may call which of its paths
(``INTERNAL_AUTH_CALLERS``, longest prefix first): so a leaked gateway key lets no
one act as the users service on the auth service's ``/internal/`` endpoints. A
service holds only the keys of its callers and its own.
The gateway drops any ``X-Internal-Auth`` a client sends and sets its own.
"""

from __future__ import annotations

import binascii
import functools
import hmac
import json
import re
import time
from dataclasses import dataclass

import jwt
from django.conf import settings
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_decode, base64url_encode

from common import jws
from common.errors import error_response
from common.request_context import current_request_id

INTERNAL_AUTH_HEADER = "X-Internal-Auth"
ALGORITHM = "HS256"
INTERNAL_AUTH_TTL = 30
# Paths a service serves without the internal credential: probes and the staff admin.
PUBLIC_PATH_PREFIXES = ("/health", "/ready", "/admin/", "/static/", "/metrics")
_REQUIRED_CLAIMS = ["iss", "aud", "iat", "exp", "method", "path"]


class _HMACKeysChecked(HMACAlgorithm):
    """PyJWT's HMAC, checking each key once.

    PyJWT checks the key on every signature and every verification (that it is
    no PEM, SSH, DER or JWK key), which costs more than the HMAC itself; the
    keys here are the few of ``INTERNAL_AUTH_KEYS``. A refused key is not
    remembered: it is refused again each time.
    """

    @functools.lru_cache(maxsize=32)
    def prepare_key(self, key: str | bytes) -> bytes:
        return super().prepare_key(key)


_BASE64URL_SEGMENT = re.compile(rb"[A-Za-z0-9_-]*(=*)")


class _Signatures(jwt.PyJWS):
    """PyJWS whose segments are checked by a regular expression instead of a loop over each character.

    The same verdicts as PyJWT's own check (padding of at most two ``=`` on a
    whole number of quadruples, the base64url alphabet, the canonical encoding),
    held equal to it by ``common/tests/test_internal_auth.py``; PyJWT's Python loop
    cost ~50 µs for an assertion's payload, twice per request.
    """

    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        match = _BASE64URL_SEGMENT.fullmatch(segment)
        padding = len(match.group(1)) if match else 0
        stripped = segment[: len(segment) - padding]
        if match is None or padding > 2 or (padding and len(segment) % 4) or len(stripped) % 4 == 1:
            raise jwt.DecodeError(f"Invalid {name} padding")
        try:
            decoded = base64url_decode(stripped)
        except binascii.Error as exc:
            raise jwt.DecodeError(f"Invalid {name} padding") from exc
        if base64url_encode(decoded) != stripped:
            raise jwt.DecodeError(f"Invalid {name} padding")
        return decoded


_HMAC = _HMACKeysChecked(HMACAlgorithm.SHA256)


def _codec() -> tuple[_Signatures, jwt.PyJWT]:
    """(signatures, tokens): :class:`_Signatures` with HS256 from :class:`_HMACKeysChecked`, and PyJWT over it.

    Every other check is PyJWT's own.
    """
    signatures = _Signatures(algorithms=[ALGORITHM])
    signatures.unregister_algorithm(ALGORITHM)
    signatures.register_algorithm(ALGORITHM, _HMAC)
    codec = jwt.PyJWT()
    codec._jws = signatures  # PyJWT keeps its PyJWS here (pinned: requirements/); test_internal_auth holds it
    return signatures, codec


_SIGNATURES, _CODEC = _codec()
# What ``jwt.decode(..., options={"require": _REQUIRED_CLAIMS})`` checks the claims with.
_DECODE_OPTIONS = _CODEC._merge_options({"require": _REQUIRED_CLAIMS})


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
    method: str,
    path: str,
    user_id: int | None = None,
    email: str | None = None,
    jti: str | None = None,
    token_exp: int | None = None,
    key: str | None = None,
) -> str:
    """The ``X-Internal-Auth`` value for one ``method`` ``path`` request from ``issuer`` to ``audience``.

    Signed with ``issuer``'s key in ``INTERNAL_AUTH_KEYS`` unless ``key`` is given.
    """
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + INTERNAL_AUTH_TTL,
        "method": method.upper(),
        "path": path,
    }
    request_id = current_request_id()
    if request_id:
        claims["rid"] = request_id
    if user_id is not None:
        claims.update(sub=str(user_id), email=email, jti=jti, token_exp=token_exp)
    return _sign(claims, issuer, key or settings.INTERNAL_AUTH_KEYS[issuer])


def _sign(claims: dict, issuer: str, key: str) -> str:
    """``_CODEC.encode(claims, key, algorithm=ALGORITHM, headers={"kid": issuer})``, byte for byte, in a few calls.

    The same JSON (compact, the header's keys sorted), base64url segments and
    HMAC-SHA256, the key checked as PyJWT checks it (``_HMACKeysChecked``); held
    equal to PyJWT's by ``common/tests/test_internal_auth.py``. PyJWT spends
    ~70 Python calls on it, once per forwarded request.
    """
    secret = _HMAC.prepare_key(key)
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return jws.compact(_signing_header(issuer), payload, lambda data: hmac.digest(secret, data, "sha256"))


@functools.lru_cache(maxsize=32)
def _signing_header(issuer: str) -> bytes:
    return jws.header_segment({"typ": "JWT", "alg": ALGORITHM, "kid": issuer})


def verify_internal(
    value: str, audience: str, *, method: str, path: str, keys: dict[str, str] | None = None
) -> dict:
    """The claims of a valid credential for ``audience``, made for this ``method`` and ``path``; else ``InternalAuthError``.

    Checked with the key of the caller its header names, among ``keys`` (this
    service's ``INTERNAL_AUTH_KEYS``): a caller whose key this service does not
    hold is refused, and so is a credential naming one caller and signed by another.
    """
    keys = settings.INTERNAL_AUTH_KEYS if keys is None else keys
    try:
        caller, claims = _verified_claims(value, audience, keys)
    except jwt.PyJWTError as exc:
        raise InternalAuthError(str(exc)) from exc
    if claims["iss"] != caller:
        raise InternalAuthError("the caller it names did not sign it")
    if claims["method"] != method.upper() or claims["path"] != path:
        raise InternalAuthError("made for another request")
    return claims


def _verified_claims(value: str, audience: str, keys: dict[str, str]) -> tuple[str, dict]:
    """The caller the header names (``kid``) and the claims PyJWT's ``decode`` gives with its key; for an assertion
    as ``sign_internal`` writes it, PyJWT's checks made without its layers.

    ``jwt.decode`` reads the token twice (once for the header's ``kid``) and
    looks up its algorithm and options on each call: ~300 Python calls, once per
    request to a service. An assertion whose header is the one ``_sign`` writes
    (``_header_caller``) is read here once, with PyJWT's segment decoding, the
    same HMAC comparison and PyJWT's own claim checks (``_validate_claims``);
    anything else, and a key PyJWT would warn about, is PyJWT's to decode. Held
    to PyJWT's verdicts by ``common/tests/test_internal_auth.py``.
    """
    header, _, rest = value.partition(".")
    caller = _header_caller(header)
    secret = _checked_secret(keys.get(caller)) if caller is not None else None
    if secret is None or rest.count(".") != 1:
        caller = _SIGNATURES.get_unverified_header(value).get("kid")
        key = keys.get(caller) if isinstance(caller, str) else None
        if not key:
            raise InternalAuthError("signed by no caller this service knows")
        return caller, _CODEC.decode(
            value, key, algorithms=[ALGORITHM], audience=audience, options={"require": _REQUIRED_CLAIMS}
        )
    payload_segment, signature_segment = rest.split(".")
    payload = _Signatures._decode_base64url_segment(payload_segment.encode(), "payload")
    signature = _Signatures._decode_base64url_segment(signature_segment.encode(), "crypto")
    if not hmac.compare_digest(signature, hmac.digest(secret, f"{header}.{payload_segment}".encode(), "sha256")):
        raise jwt.InvalidSignatureError("Signature verification failed")
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise jwt.DecodeError(f"Invalid payload string: {exc}") from exc
    if not isinstance(claims, dict):
        raise jwt.DecodeError("Invalid payload string: must be a json object")
    _CODEC._validate_claims(claims, _DECODE_OPTIONS, audience=audience)
    return caller, claims


@functools.lru_cache(maxsize=32)
def _header_caller(segment: str) -> str | None:
    """The caller whose assertions ``sign_internal`` writes with this header segment; ``None`` for any other."""
    try:
        kid = json.loads(base64url_decode(segment.encode())).get("kid")
    except (ValueError, AttributeError, binascii.Error):
        return None
    return kid if isinstance(kid, str) and _signing_header(kid) == segment.encode() else None


def _checked_secret(key: str | None) -> bytes | None:
    """``key`` prepared as PyJWT prepares it, once (``_HMACKeysChecked``); ``None`` for a key PyJWT would refuse or
    warn about, which ``jwt.decode`` then refuses or warns about itself."""
    if not key:
        return None
    try:
        secret = _HMAC.prepare_key(key)
    except jwt.InvalidKeyError:
        return None
    return None if _HMAC.check_key_length(secret) else secret


def callers_for(path: str, callers: dict[str, tuple[str, ...]] | None = None) -> tuple[str, ...]:
    """Who may call ``path``: the callers of its longest prefix in ``INTERNAL_AUTH_CALLERS``; none without one."""
    callers = settings.INTERNAL_AUTH_CALLERS if callers is None else callers
    matching = [prefix for prefix in callers if path.startswith(prefix)]
    return tuple(callers[max(matching, key=len)]) if matching else ()


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
    """Refuses any API request to this service without a valid internal credential from a caller it accepts.

    401 JSON without a credential valid for this request; 403 ``Permission
    denied`` when its caller may not call this path (``INTERNAL_AUTH_CALLERS``).
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
            claims = verify_internal(value, settings.SERVICE_NAME, method=request.method, path=request.path)
        except InternalAuthError:
            return error_response("Invalid internal credential", 401)
        if claims["iss"] not in callers_for(request.path):
            return error_response("Permission denied", 403)
        request.internal_claims = claims
        request.end_user = end_user_from_claims(claims)
        return self.get_response(request)
