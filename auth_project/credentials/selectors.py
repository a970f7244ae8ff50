"""Reads of the auth service's records."""

from __future__ import annotations

from django.contrib.auth.hashers import get_hasher, identify_hasher, is_password_usable
from django.conf import settings
from django.db import router

from common.emails import login_key
from common.jwt_keys import public_jwk
from common.sql import quoted_table
from credentials.models import Credential


def credential_get(*, user_id: int) -> Credential | None:
    """The credential of ``user_id``, or ``None``."""
    return Credential.objects.filter(pk=user_id).first()


def credential_get_by_email(*, email: str) -> Credential | None:
    """The credential an address belongs to, however the user typed it (``First.Last+x@Gmail.com``).

    Every login reads it: a raw query (``common.sql``), a third of the CPU of building the ORM's.
    """
    canonical = login_key(email)
    if canonical is None:
        return None
    using = router.db_for_read(Credential)
    table, columns = quoted_table(Credential, using)
    found = Credential.objects.db_manager(using).raw(
        f"SELECT {', '.join(columns.values())} FROM {table} WHERE {columns['email_canonical']} = %s", [canonical]
    )
    return next(iter(found), None)


def signing_key_set() -> dict:
    """The JWK Set (RFC 7517) of the keys that verify users' tokens: the signing key's first, then any being rotated."""
    return {"keys": [public_jwk(pem) for pem in settings.JWT_PUBLIC_KEYS]}


def credential_password_kind(*, credential: Credential) -> str:
    """What protects the account, never the hash itself.

    ``"current"``: a hash of the preferred hasher (Argon2); ``"legacy"``: the
    monolith's bcrypt hash, replaced at the next successful login;
    ``"unusable"``: no password can log in (imported without a usable one).
    """
    if not is_password_usable(credential.password):
        return "unusable"
    try:
        algorithm = identify_hasher(credential.password).algorithm
    except ValueError:
        return "unusable"
    return "current" if algorithm == get_hasher().algorithm else "legacy"
