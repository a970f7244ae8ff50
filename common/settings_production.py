"""What the three projects' production settings share: required variables, HTTPS, secure cookies.

A project's ``config/settings/production.py`` starts from its ``base.py``, takes the
settings below with ``from common.settings_production import *``, then reads its
secrets with :func:`require_environment`. That names every missing variable in one
``ImproperlyConfigured``, so a container that fails to start says at once
everything that must be set, instead of one variable per restart.

TLS ends in front of the gateway (a load balancer or ingress); the gateway and the
services speak plain HTTP on the private network and learn the client's scheme from
``X-Forwarded-Proto``.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured

from common.env import database_url_variable, env
from common.jwt_keys import key_id, pem_blocks


def comma_list(value: str) -> list[str]:
    """``"a, b,"`` -> ``["a", "b"]``."""
    return [item.strip() for item in value.split(",") if item.strip()]


# GENERAL
# ------------------------------------------------------------------------------
DEBUG = False

# HTTPS
# ------------------------------------------------------------------------------
# Whoever terminates TLS in front of the gateway must set (overwrite) this header;
# the gateway passes its own view of the scheme on to the services.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Answered over plain HTTP from inside the network, never redirected: the
# orchestrator's probes, and calls between services (which carry no
# X-Forwarded-Proto). Patterns match the path without its leading slash.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^internal/"]
# A year, subdomains included, as Django's deploy checks ask. The preload flag only
# makes the domain eligible; nothing is preloaded until someone submits it by hand.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

# COOKIES AND CSRF (the staff admin is the only thing using them)
# ------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Public origins that POST forms, e.g. "https://accounts.example.com": the admin is
# proxied by the gateway, so the service sees its own host, not the browser's.
CSRF_TRUSTED_ORIGINS = comma_list(env.str("DJANGO_CSRF_TRUSTED_ORIGINS", default=""))

# Host names a process answers to whatever DJANGO_ALLOWED_HOSTS says: the container's
# own health check and exec probes call it over the loopback interface.
LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"]


def require_environment(service: str, names: list[str]) -> dict[str, str]:
    """The value of each variable in ``names``; ``ImproperlyConfigured`` naming every one unset or blank."""
    missing = [name for name in names if not os.environ.get(name, "").strip()]
    if missing:
        raise ImproperlyConfigured(
            f"The {service} service's production settings need these environment variables, "
            f"unset or empty now: {', '.join(missing)}. "
            f"Each is described in compose/env/{service}.env.example and docs/deployment.md."
        )
    return {name: os.environ[name] for name in names}


# Bytes of the shortest secret production takes for an HMAC key (HS256's own output size).
MINIMUM_SECRET_BYTES = 32


def refuse_short_secret(variable: str, value: str) -> None:
    """``ImproperlyConfigured`` when ``value`` is set but too short to be a real secret (a guessable HS256 key)."""
    if value and len(value.encode()) < MINIMUM_SECRET_BYTES:
        raise ImproperlyConfigured(
            f"{variable} is {len(value.encode())} bytes long; production takes at least {MINIMUM_SECRET_BYTES}."
        )


def database_url_variables(service: str, aliases) -> list[str]:
    """The variables holding the URLs of ``service``'s databases, one per alias."""
    return [database_url_variable(service, alias) for alias in aliases]


def refuse_sqlite(service: str, databases: dict[str, dict]) -> None:
    """SQLite is a file in one container: replicas and workers would each see their own."""
    on_sqlite = [
        database_url_variable(service, alias)
        for alias, config in databases.items()
        if config.get("ENGINE") == "django.db.backends.sqlite3"
    ]
    if on_sqlite:
        raise ImproperlyConfigured(
            f"{', '.join(on_sqlite)} point at SQLite; production needs a database server every "
            f"container shares (PostgreSQL)."
        )


def allowed_hosts(value: str) -> list[str]:
    """``DJANGO_ALLOWED_HOSTS`` as a list, plus the loopback names the health checks use."""
    hosts = comma_list(value)
    return hosts + [host for host in LOOPBACK_HOSTS if host not in hosts]


def pem(value: str) -> str:
    """A PEM from the environment, whose line breaks may be real or written as ``\\n``."""
    return value.strip().replace("\\n", "\n") + "\n"


def rsa_private_key_pem(variable: str, value: str) -> str:
    """``value`` as a PEM RSA private key, or ``ImproperlyConfigured`` naming ``variable``."""
    text = pem(value)
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{variable} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ImproperlyConfigured(f"{variable} must be an RSA key (tokens are signed with RS256)")
    return text


def rsa_public_key_pem(variable: str, value: str) -> str:
    """``value`` as a PEM RSA public key, or ``ImproperlyConfigured`` naming ``variable``."""
    text = pem(value)
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{variable} is not a PEM public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ImproperlyConfigured(f"{variable} must be an RSA key (tokens are signed with RS256)")
    return text


def rsa_public_keys_pem(variable: str, value: str) -> list[str]:
    """``value`` as one or several PEM RSA public keys, one after another; ``ImproperlyConfigured`` naming ``variable``.

    Several keys are accepted side by side while the signing key is rotated.
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
        text = rsa_public_key_pem(name, block)
        keys.setdefault(key_id(text), text)
    return list(keys.values())
