"""Tokens for the gateway's tests, made the way the auth service and the monolith make theirs."""

from __future__ import annotations

import random
import time
import uuid

import jwt
from django.conf import settings

from common.jwt_keys import key_algorithm

LEGACY_SECRET = "the-monolith-jwt-secret-of-at-least-32-bytes"


def new_user_id() -> int:
    """A user id no other test uses, so revocation state never leaks between tests."""
    return random.randint(10**6, 10**12)


def access_claims(user_id: int | None = None, **changes) -> dict:
    """An access token's claims as the auth service issues them; ``claim=None`` leaves one out."""
    now = int(time.time())
    claims = {
        "token_type": "access",
        "userId": new_user_id() if user_id is None else user_id,
        "email": "ada@example.com",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 3600,
        "ver": 0,
        "fam": uuid.uuid4().hex,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def sign(claims: dict, key: str | None = None, algorithm: str | None = None, headers: dict | None = None) -> str:
    """``claims`` signed with the test key pair's private half (or ``key``), in its algorithm (or ``algorithm``)."""
    key = key or settings.JWT_TEST_PRIVATE_KEY
    return jwt.encode(claims, key, algorithm=algorithm or key_algorithm(key), headers=headers)


def access_token(user_id: int | None = None, **changes) -> str:
    return sign(access_claims(user_id, **changes))


def legacy_token(user_id: int | None = None, secret: str = LEGACY_SECRET, **changes) -> str:
    """A token as the monolith issued it: HS256, ``{"userId", "email", "iat", "exp"}``, 24 h."""
    now = int(time.time())
    claims = {
        "userId": new_user_id() if user_id is None else user_id,
        "email": "old@example.com",
        "iat": now,
        "exp": now + 24 * 3600,
    }
    claims.update(changes)
    return jwt.encode({name: value for name, value in claims.items() if value is not None}, secret, algorithm="HS256")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
