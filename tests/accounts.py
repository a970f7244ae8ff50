"""Accounts and tokens for the cross-service tests: what a frontend does, and what an attacker tries."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt

from common.env import internal_auth_key_variable
from common.jwt_keys import key_algorithm, local_key_pair
from common.settings.core import LOCAL_INTERNAL_AUTH_KEYS
from http_client import raw_request

# Passes the auth service's password validators (length, not common, not numeric).
PASSWORD = "Correct-Horse-Battery-9"
NEW_PASSWORD = "Staple-Lantern-Orbit-42"


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call_raw(base_url: str, method: str, path: str, body=None, token: str | None = None, headers: dict | None = None):
    """(status, headers, body bytes) of ``method path`` with ``body`` as JSON (bytes are sent as they are)."""
    sent = dict(headers or {})
    if token is not None:
        sent.update(bearer(token))
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    return raw_request(f"{base_url}{path}", method=method, headers=sent, body=data)


def call(base_url: str, method: str, path: str, body=None, token: str | None = None, headers: dict | None = None):
    """(status, headers, parsed JSON) of ``method path``; see ``call_raw``."""
    status, answer_headers, content = call_raw(base_url, method, path, body, token, headers)
    return status, answer_headers, json.loads(content or b"null")


def register(base_url: str, email: str | None = None, password: str = PASSWORD, name: str | None = "Test User"):
    """(status, JSON) of a registration."""
    body = {"email": email or unique_email(), "password": password}
    if name is not None:
        body["name"] = name
    status, _, answer = call(base_url, "POST", "/api/register", body)
    return status, answer


def login(base_url: str, email: str, password: str = PASSWORD):
    status, _, answer = call(base_url, "POST", "/api/login", {"email": email, "password": password})
    return status, answer


def new_account(base_url: str, label: str = "user", name: str | None = "Test User") -> dict:
    """A registered user and a fresh login: ``email``, ``id``, ``token``, ``refresh``, ``user``."""
    email = unique_email(label)
    status, registered = register(base_url, email, name=name)
    assert status == 201, registered
    status, logged_in = login(base_url, email)
    assert status == 200, logged_in
    return {
        "email": email,
        "id": logged_in["user"]["id"],
        "token": logged_in["token"],
        "refresh": logged_in.get("refresh"),
        "user": logged_in["user"],
    }


def claims_of(token: str) -> dict:
    """A token's payload, unverified: what a frontend reads from it."""
    return jwt.decode(token, options={"verify_signature": False})


# TOKENS NOBODY SHOULD ACCEPT
# ------------------------------------------------------------------------------


def system_private_key(system) -> str:
    """The private key the auth service of ``system`` signs with (local settings: VAR_DIR/keys)."""
    return local_key_pair(system.config.var_dir / "keys")[0]


def system_public_key(system) -> str:
    return local_key_pair(system.config.var_dir / "keys")[1]


def signed(claims: dict, private_key: str) -> str:
    """``claims`` signed with ``private_key`` in its algorithm (ES256 for an EC key, RS256 for an RSA key)."""
    return jwt.encode(claims, private_key, algorithm=key_algorithm(private_key))


def access_claims(user_id: int, email: str = "nobody@example.com", **changes) -> dict:
    now = int(time.time())
    claims = {
        "token_type": "access",
        "userId": user_id,
        "email": email,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
        "ver": 0,
        "fam": str(uuid.uuid4()),
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned(claims: dict) -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def forged(token: str, **changes) -> str:
    """``token`` with its payload changed and its original signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{b64({**claims_of(token), **changes})}.{signature}"


def internal_key(system, caller: str) -> str:
    """The key ``caller`` signs ``X-Internal-Auth`` with in ``system`` (its environment's, or the local default)."""
    return system.config.env.get(internal_auth_key_variable(caller)) or LOCAL_INTERNAL_AUTH_KEYS[caller]


def internal_assertion(
    system, caller: str, audience: str, method: str, path: str, *, key: str | None = None, user_id: int | None = None,
    **user_claims,
) -> str:
    """``X-Internal-Auth`` as ``caller`` signs it in ``system`` for one request (docs/accounts.md), with ``key``
    instead of the caller's own when given; ``user_id`` and ``user_claims`` (email, jti, token_exp): the user."""
    now = int(time.time())
    claims = {"iss": caller, "aud": audience, "iat": now, "exp": now + 30, "method": method, "path": path}
    if user_id is not None:
        claims.update(sub=str(user_id), **user_claims)
    return jwt.encode(claims, key or internal_key(system, caller), algorithm="HS256", headers={"kid": caller})
