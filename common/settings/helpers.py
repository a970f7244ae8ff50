"""What computes a setting's value: called by the settings modules with plain arguments.

The settings modules themselves only hold values (``common.settings``).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ImproperlyConfigured

from common.env import env, internal_auth_key_variable
from common.jwt_keys import (
    UnsupportedKey,
    accepted_public_keys,
    key_algorithm,
    key_id,
    local_key_pair,
    pem_blocks,
)


def comma_list(value: str) -> list[str]:
    """``"a, b,"`` -> ``["a", "b"]``."""
    return [item.strip() for item in value.split(",") if item.strip()]


def local_internal_auth_keys(callers: tuple[str, ...]) -> dict[str, str]:
    """The fixed keys local and test runs sign ``X-Internal-Auth`` with, one per caller: public, never secret."""
    return {caller: f"local-only-{caller}-internal-auth-key-not-secret" for caller in callers}


def internal_auth_keys_from_env(defaults: dict[str, str]) -> dict[str, str]:
    """Each caller's key from its variable (``internal_auth_key_variable``), ``defaults`` where unset."""
    return {caller: env.str(internal_auth_key_variable(caller), default=key) for caller, key in defaults.items()}


def redis_cache(service: str, redis_url: str) -> dict:
    """``CACHES`` for a service: django-redis on ``redis_url``, keys prefixed by service."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": service,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }


def with_legacy_upstream(upstreams: dict[str, list[str]], legacy: list[str]) -> dict[str, list[str]]:
    """The gateway's ``upstreams``, plus ``"legacy"`` (the monolith) when it has addresses."""
    return {**upstreams, "legacy": legacy} if legacy else dict(upstreams)


def routes_with_overrides(routes: dict, overrides: dict[str, str]) -> dict:
    """The gateway's route table ``routes`` with each prefix of ``overrides`` moved to its upstream."""
    from common.cutover import with_upstream

    table = dict(routes)
    for prefix, upstream in overrides.items():
        table[prefix] = with_upstream(table.get(prefix, upstream), upstream)
    return table


# JWT KEYS: the auth service signs, the gateway verifies
# ------------------------------------------------------------------------------
def pem(value: str) -> str:
    """A PEM from the environment, whose line breaks may be real or written as ``\\n``."""
    return value.strip().replace("\\n", "\n") + "\n"


def _algorithm(variable: str, key) -> str:
    """The algorithm ``key`` signs with, or ``ImproperlyConfigured`` naming ``variable`` when tokens take no such key."""
    try:
        return key_algorithm(key)
    except UnsupportedKey as exc:
        raise ImproperlyConfigured(f"{variable} {exc} (tokens are signed with RS256 or ES256)") from None


def private_key_pem(variable: str, value: str) -> str:
    """``value`` as a PEM private key that signs tokens (RSA, EC P-256); ``ImproperlyConfigured`` naming ``variable``."""
    text = pem(value)
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{variable} is not an unencrypted PEM private key: {exc}") from None
    _algorithm(variable, key)
    return text


def public_key_pem(variable: str, value: str) -> str:
    """``value`` as a PEM public key that verifies tokens (RSA, EC P-256); ``ImproperlyConfigured`` naming ``variable``."""
    text = pem(value)
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{variable} is not a PEM public key: {exc}") from None
    _algorithm(variable, key)
    return text


def public_keys_pem(variable: str, value: str) -> list[str]:
    """``value`` as one or several PEM public keys, one after another; ``ImproperlyConfigured`` naming ``variable``.

    Several keys are accepted side by side while the signing key is rotated,
    RSA and EC alike (each verifies tokens of its own algorithm).
    A bad one is named by its place: ``JWT_PUBLIC_KEY (key 2 of 2)``.
    Duplicates are dropped.
    """
    try:
        blocks = pem_blocks(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{variable} is not a PEM public key, nor several one after another: {exc}") from None
    keys: dict[str, str] = {}
    for number, block in enumerate(blocks, start=1):
        name = variable if len(blocks) == 1 else f"{variable} (key {number} of {len(blocks)})"
        text = public_key_pem(name, block)
        keys.setdefault(key_id(text), text)
    return list(keys.values())


def local_private_key_pem(value: str, local_keys_dir: Path) -> str:
    """A developer's signing key: ``JWT_PRIVATE_KEY``'s ``value`` checked (``private_key_pem``); unset, the local pair's."""
    return private_key_pem("JWT_PRIVATE_KEY", value) if value else local_key_pair(local_keys_dir)[0]


def signer_public_keys(private_pem: str, public_value: str) -> list[str]:
    """The auth service's ``JWT_PUBLIC_KEYS``: its signing key's public half, then those of ``JWT_PUBLIC_KEY`` (a rotation)."""
    listed = public_keys_pem("JWT_PUBLIC_KEY", public_value) if public_value.strip() else []
    return accepted_public_keys(private_pem, listed)


def verifier_public_keys(public_value: str, local_keys_dir: Path | None = None) -> list[str]:
    """The gateway's ``JWT_PUBLIC_KEYS``: those of ``JWT_PUBLIC_KEY``; unset, the local pair's public half."""
    if public_value or local_keys_dir is None:
        return public_keys_pem("JWT_PUBLIC_KEY", public_value)
    return [local_key_pair(local_keys_dir)[1]]


def simple_jwt(shared: dict, public_keys: list[str], signing_key: str = "") -> dict:
    """``SIMPLE_JWT``: ``shared`` (``common.settings.jwt``) with the keys and the algorithm they take.

    ``ALGORITHM`` is the signing key's (the auth service), or the first public
    key's (the gateway, which signs nothing): what SimpleJWT is told must be
    true, though tokens are signed and verified by ``common.token_backend``,
    each key in its own algorithm.
    """
    return {
        **shared,
        "ALGORITHM": key_algorithm(signing_key or public_keys[0]),
        "SIGNING_KEY": signing_key,
        "VERIFYING_KEY": public_keys[0],
    }
