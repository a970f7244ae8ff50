"""Reads of the auth service's records."""

from __future__ import annotations

from django.contrib.auth.hashers import get_hasher, identify_hasher, is_password_usable
from django.conf import settings
from django.db import connections, router

from common.emails import login_key
from common.jwt_keys import public_jwk
from common.sql import model_from_row, model_statement
from credentials.models import Credential


def credential_get(*, user_id: int) -> Credential | None:
    """The credential of ``user_id``, or ``None``."""
    return Credential.objects.filter(pk=user_id).first()


def credential_get_by_email(*, email: str) -> Credential | None:
    """The credential an address belongs to, however the user typed it (``First.Last+x@Gmail.com``).

    Every login reads it: in SQL (``common.sql``), its text built once, a third of the CPU of the ORM's.
    """
    canonical = login_key(email)
    if canonical is None:
        return None
    using = router.db_for_read(Credential)
    with connections[using].cursor() as cursor:
        cursor.execute(model_statement(Credential, using, _BY_EMAIL), [canonical])
        row = cursor.fetchone()
    return None if row is None else model_from_row(Credential, using, _FIELDS, row)


_FIELDS = [field.name for field in Credential._meta.concrete_fields]
_BY_EMAIL = f"SELECT {', '.join('{%s}' % name for name in _FIELDS)} FROM {{table}} WHERE {{email_canonical}} = %s"


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
