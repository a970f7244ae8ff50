"""What a production process needs from its environment, read and checked once for every project.

:func:`production_requirements` names every missing variable in one
``ImproperlyConfigured``, so a container that fails to start says at once everything
that must be set, instead of one variable per restart; then it refuses what is set
but unsafe (a public local key, a short or shared key, SQLite).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from common.env import database_url_variable, internal_auth_key_variable
from common.settings.core import LOCAL_INTERNAL_AUTH_KEYS
from common.settings.helpers import comma_list

# Host names a process answers to whatever DJANGO_ALLOWED_HOSTS says: the container's
# own health check and exec probes call it over the loopback interface.
LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
# Bytes of the shortest secret production takes for an HMAC key (HS256's own output size).
MINIMUM_SECRET_BYTES = 32


@dataclass(frozen=True)
class ProductionRequirements:
    """What every project's production settings take from the environment, checked."""

    values: dict[str, str]
    secret_key: str
    allowed_hosts: list[str]
    internal_auth_keys: dict[str, str]


def production_requirements(
    service: str, callers: dict[str, tuple[str, ...]], databases: dict[str, dict], others: list[str]
) -> ProductionRequirements:
    """The secret key, allowed hosts and internal-auth keys of ``service``, and the values of ``others``.

    Required, in this order: ``DJANGO_SECRET_KEY``, ``DJANGO_ALLOWED_HOSTS``, the
    internal-auth key of the service and of each caller ``callers`` accepts, the URL
    of each of ``databases``, then ``others``. ``databases`` on SQLite are refused.
    """
    owners = internal_auth_key_owners(service, callers)
    values = require_environment(
        service,
        [
            "DJANGO_SECRET_KEY",
            "DJANGO_ALLOWED_HOSTS",
            *[internal_auth_key_variable(owner) for owner in owners],
            *[database_url_variable(service, alias) for alias in databases],
            *others,
        ],
    )
    keys = internal_auth_keys(values, owners)
    refuse_sqlite(service, databases)
    return ProductionRequirements(
        values=values,
        secret_key=values["DJANGO_SECRET_KEY"],
        allowed_hosts=allowed_hosts(values["DJANGO_ALLOWED_HOSTS"]),
        internal_auth_keys=keys,
    )


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


def refuse_short_secret(variable: str, value: str) -> None:
    """``ImproperlyConfigured`` when ``value`` is set but too short to be a real secret (a guessable HS256 key)."""
    if value and len(value.encode()) < MINIMUM_SECRET_BYTES:
        raise ImproperlyConfigured(
            f"{variable} is {len(value.encode())} bytes long; production takes at least {MINIMUM_SECRET_BYTES}."
        )


def internal_auth_key_owners(service: str, callers: dict[str, tuple[str, ...]]) -> list[str]:
    """Whose keys ``service`` holds: its own (it signs with it), then each caller ``callers`` accepts, once."""
    owners = [service]
    for accepted in callers.values():
        owners += [caller for caller in accepted if caller not in owners]
    return owners


def internal_auth_keys(values: dict[str, str], callers: list[str]) -> dict[str, str]:
    """``INTERNAL_AUTH_KEYS`` of a production service: the key of each of ``callers`` from ``values``.

    ``values`` is what :func:`require_environment` read (each ``internal_auth_key_variable``).
    Refused, naming the variables: a local default (public in this repository), a
    key shorter than 32 bytes, and one key given to two callers (either could then
    act as the other).
    """
    keys = {caller: values[internal_auth_key_variable(caller)].strip() for caller in callers}
    for caller, key in keys.items():
        variable = internal_auth_key_variable(caller)
        if key in LOCAL_INTERNAL_AUTH_KEYS.values():
            raise ImproperlyConfigured(f"{variable} is a local-only default; production needs a secret of its own.")
        refuse_short_secret(variable, key)
    by_key: dict[str, list[str]] = {}
    for caller, key in keys.items():
        by_key.setdefault(key, []).append(internal_auth_key_variable(caller))
    shared = [variables for variables in by_key.values() if len(variables) > 1]
    if shared:
        raise ImproperlyConfigured(
            f"{' and '.join(shared[0])} hold the same key; each caller needs one of its own."
        )
    return keys


def refuse_sqlite(service: str, databases: dict[str, dict]) -> None:
    """SQLite is a file in one container: replicas and workers would each see their own."""
    on_sqlite = [
        database_url_variable(service, alias)
        for alias, config in databases.items()
        if config.get("ENGINE") in ("django.db.backends.sqlite3", "common.sqlite")
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
