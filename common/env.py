"""One reader for configuration from the environment, shared by every project.

Databases are configured by URL, one variable per alias, named
``<SERVICE>_DB_<ALIAS>_URL`` (for example ``USERS_DB_USERS_URL``). With a
variable unset the alias is a SQLite file under ``VAR_DIR`` (``var/`` at the
repository root by default), so the system runs with nothing installed.
"""

from __future__ import annotations

import os
import warnings
from datetime import datetime
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

REPO_ROOT = Path(__file__).resolve().parent.parent

env = environ.Env()


def var_dir() -> Path:
    """Where embedded state lives: SQLite files, the embedded Redis's data."""
    return Path(env.str("VAR_DIR", default=str(REPO_ROOT / "var"))).resolve()


def state_dir(service: str) -> Path:
    """``VAR_DIR/<service>``, created if missing: a service's embedded files (SQLite, beat schedule)."""
    path = var_dir() / service
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url_variable(service: str, alias: str) -> str:
    """The environment variable naming the database URL of ``alias``."""
    return f"{service.upper()}_DB_{alias.upper()}_URL"


def internal_auth_key_variable(caller: str) -> str:
    """The environment variable holding the key ``caller`` signs its ``X-Internal-Auth`` with."""
    return f"INTERNAL_AUTH_{caller.upper()}_KEY"


def service_databases(service: str, aliases: tuple[str, ...]) -> dict[str, dict]:
    """``DATABASES`` for a service: one entry per alias, each from its own URL.

    A SQLite file under ``VAR_DIR/<service>/`` stands in for any alias whose variable
    is unset, set up for a web worker and a Celery worker writing it at once (lock
    waits, ``IMMEDIATE`` transactions, the write-ahead log, ``synchronous=NORMAL``),
    through ``common.sqlite`` (Django's backend; under gevent a worker's writers take
    turns on each file); connections are kept (``CONN_MAX_AGE``). A PostgreSQL alias uses
    ``common.postgresql`` (Django's backend, its kept connections checked without a round
    trip; under gevent its waits cooperative). Why each: docs/architecture.md, "Databases".
    """
    databases = {}
    for alias in aliases:
        variable = database_url_variable(service, alias)
        default = f"sqlite:///{var_dir() / service / f'{alias}.sqlite3'}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an unknown scheme is reported just below
            config = env.db_url(variable, default=default)
        if not config.get("ENGINE"):
            raise ImproperlyConfigured(f"{variable} is not a database URL this system supports")
        if config["ENGINE"] == "django.db.backends.sqlite3":
            config["ENGINE"] = "common.sqlite"
            Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
            config.setdefault("OPTIONS", {}).update(
                timeout=20,
                transaction_mode="IMMEDIATE",
                init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            )
        else:
            if config["ENGINE"] == "django.db.backends.postgresql":
                config["ENGINE"] = "common.postgresql"
            config["CONN_HEALTH_CHECKS"] = True
            config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
        config["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
        databases[alias] = config
    return databases


def gunicorn_worker_class(service: str) -> str:
    """gunicorn's worker class for ``service``: ``GUNICORN_WORKER_CLASS``, else its default.

    gevent's for the gateway and the users service (a greenlet per client
    connection: they wait on their upstreams, Redis and the database; docs/architecture.md,
    "The services' workers"), threads (``gthread``) for the auth service, whose
    password hashes run on threads of their own.
    """
    default = "gevent" if service in ("gateway", "users") else "gthread"
    return env.str("GUNICORN_WORKER_CLASS", default="") or default


def gunicorn_workers(service: str) -> int:
    """How many gunicorn worker processes serve ``service``: ``GUNICORN_WORKERS``, else its default.

    The auth service runs one: its hashes run on that process's hashing threads,
    one per core (``PASSWORD_HASH_THREADS``), whichever connection a login came
    on. With two, connections land on the workers unevenly (the first awake
    accepts) and a worker holding most of them hashed on its share of the cores
    while the other's sat idle (docs/performance.md). A service writing SQLite
    files (:func:`writes_sqlite_files`) runs one too: within a process its
    writers take turns (``common.sqlite``), but a second process meets the
    file's lock in SQLite's busy handler, which holds that whole worker, and
    under steady writes the first passed the lock from one request to the next:
    the second worker's requests waited until the writes stopped (a gateway
    timeout after 10 s in ``bench/events_drain.py``). The others run one per
    core, at most two.
    """
    cores = os.cpu_count() or 1
    one = service == "auth" or writes_sqlite_files(service)
    return env.int("GUNICORN_WORKERS", default=1 if one else min(2, cores))


# Each service's database aliases (its DATABASES), known before Django's settings are (gunicorn's configuration).
DATABASE_ALIASES = {"users": ("default", "users"), "auth": ("default", "credentials")}


def writes_sqlite_files(service: str) -> bool:
    """Whether one of ``service``'s databases is a SQLite file: its URL unset (embedded defaults) or ``sqlite:``
    (a blank one counts as unset here; the settings refuse it by name)."""
    return any(
        ((os.environ.get(database_url_variable(service, alias)) or "").strip() or "sqlite:").startswith("sqlite:")
        for alias in DATABASE_ALIASES.get(service, ())
    )


def redis_url() -> str:
    """The Redis every part of a service uses (broker, cache, revocation)."""
    return env.str("REDIS_URL", default="redis://127.0.0.1:6390/0")


def instant(variable: str) -> datetime | None:
    """An ISO 8601 instant with its offset (``2026-12-06T03:00:00Z``) from ``variable``; ``None`` when unset or blank.

    An instant without an offset would mean another moment on every machine, so it
    is refused (``ImproperlyConfigured`` naming the variable), as is anything unreadable.
    """
    value = env.str(variable, default="").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise ImproperlyConfigured(f"{variable} must be an ISO 8601 instant with its offset, e.g. 2026-12-06T03:00:00Z")
    return moment
