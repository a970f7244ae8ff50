"""Cross-service tests: the real system (gunicorn, Celery, Redis, databases) on free ports.

On embedded defaults every database is a SQLite file in a temporary directory
and Redis is an embedded redis-server. When the ``*_DB_*_URL`` variables point
at PostgreSQL (CI's production-like run), each system gets fresh PostgreSQL
databases of its own, dropped afterwards; a set ``REDIS_URL`` is used as is.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from common.testing import free_port
from system import DATABASE_VARIABLES, PostgresDatabases, System, forget_broker_keys, forget_keys

class LogCollector:
    """Receives every process's output lines; keeps them for assertions and in a file."""

    def __init__(self, path: Path):
        self.path = path
        self._lines: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8")

    def __call__(self, name: str, line: str) -> None:
        with self._lock:
            self._lines.append((name, line))
            self._file.write(f"{name} | {line}\n")
            self._file.flush()

    def json_lines(self, name: str) -> list[dict]:
        with self._lock:
            lines = [line for source, line in self._lines if source == name]
        entries = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
        return entries

    def wait_for(self, name: str, predicate, timeout: float = 10.0) -> dict:
        """The first JSON log entry of ``name`` matching ``predicate``, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            for entry in self.json_lines(name):
                if predicate(entry):
                    return entry
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching log line from {name} (see {self.path})")
            time.sleep(0.05)

    def close(self) -> None:
        self._file.close()


# Every test request comes from 127.0.0.1: per-IP limits far above what a run sends,
# and a per-account login limit the rate-limit tests can count on (day-long windows,
# so no count rolls over during a test).
E2E_RATE_LIMITS = {
    "GATEWAY_RATE_LIMIT_GLOBAL": "100000/d",
    "GATEWAY_RATE_LIMIT_LOGIN_IP": "100000/d",
    "GATEWAY_RATE_LIMIT_REGISTER_IP": "100000/d",
    "GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT": "5/d",
}
# The staff admin as production runs it: a one-time code at every sign-in. A test
# may send X-Forwarded-For as a proxy in front of the gateway would, to sign in from
# an address of its own (the admin's lockout counts per client address).
E2E_STAFF_ADMIN = {"STAFF_OTP_REQUIRED": "true", "GATEWAY_TRUSTED_PROXY_COUNT": "1"}


def system_environment(
    var_dir: Path, *, embedded_redis: bool, extra_env: dict[str, str] | None = None
) -> dict[str, str]:
    """The process environment for a system on free ports with its state under ``var_dir``."""
    env = dict(os.environ)
    env.update(
        VAR_DIR=str(var_dir),
        GATEWAY_PORT=str(free_port()),
        USERS_PORT=str(free_port()),
        AUTH_PORT=str(free_port()),
        GATEWAY_METRICS_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
        # A stalled worker (common.worker_watchdog) restarts well within the tests' waits.
        CELERY_WORKER_STALL_TIMEOUT="10",
        **E2E_RATE_LIMITS,
        **E2E_STAFF_ADMIN,
    )
    for name in ("USERS_SERVICE_URL", "AUTH_SERVICE_URL", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    if embedded_redis:
        env.pop("REDIS_URL", None)
        env.pop("CELERY_BROKER_URL", None)
    elif env.get("REDIS_URL") and not env.get("CELERY_BROKER_URL"):
        env["REDIS_URL"] = own_redis_database(env["REDIS_URL"])
    env.update(extra_env or {})
    return env


# Systems on an external Redis each get a database of their own (2 to 15 in turn),
# emptied first: one system's revocations, rate-limit counters and queues never
# reach another, even while two run at once (the shared system and a module's
# own). User ids start from 1 again in every system's fresh databases, so a shared
# keyspace would let one system's "user 1's tokens are revoked" hit another's user 1.
# Two suites run at once on one Redis (two checkouts) each need a range of their
# own: TEST_REDIS_DATABASES="2-8" in one, "9-15" in the other.
def _test_redis_databases(spec: str) -> range:
    first, _, last = spec.partition("-")
    return range(int(first), int(last or first) + 1)


_redis_databases = itertools.cycle(_test_redis_databases(os.environ.get("TEST_REDIS_DATABASES", "2-15")))


def own_redis_database(url: str) -> str:
    """``url`` pointing at the next test database of the same Redis, emptied."""
    import redis

    url = urlunsplit(urlsplit(url)._replace(path=f"/{next(_redis_databases)}"))
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


@contextmanager
def system_environment_with_databases(
    var_dir: Path, *, embedded_redis: bool, extra_env: dict[str, str] | None = None
):
    """``system_environment``, with fresh PostgreSQL databases when PostgreSQL is configured."""
    env = system_environment(var_dir, embedded_redis=embedded_redis, extra_env=extra_env)
    databases = PostgresDatabases(env)
    databases.provision()
    try:
        yield env
    finally:
        databases.drop()


def forget_revocations(redis_url: str) -> None:
    """Drop the revocation entries an earlier system left in a Redis that outlives it.

    A new system's fresh databases hand out user ids from 1 again; an earlier
    run's "tokens of user 3 below version 2" would revoke the new user 3's tokens.
    """
    forget_keys(redis_url, "revocation:*")


@contextmanager
def launched_system(var_dir: Path, *, embedded_redis: bool, extra_env: dict[str, str] | None = None):
    """A started system and its logs; on exit it is stopped and its databases dropped.

    ``extra_env`` adds to (or replaces) the variables every process gets. On a
    Redis that outlives the system, its broker keys get a prefix of their own:
    an earlier or concurrent run's events never reach this system's workers.
    """
    with system_environment_with_databases(var_dir, embedded_redis=embedded_redis, extra_env=extra_env) as env:
        if not embedded_redis:
            forget_revocations(env["REDIS_URL"])
            env.setdefault("CELERY_BROKER_KEY_PREFIX", f"e2e-{uuid.uuid4().hex[:8]}:")
        logs = LogCollector(var_dir / "system.log")
        system = System(env, sink=logs)
        try:
            system.start(timeout=120)
            yield system, logs
        finally:
            system.stop()
            logs.close()
            if not embedded_redis:
                forget_broker_keys(env.get("CELERY_BROKER_URL") or env["REDIS_URL"], env["CELERY_BROKER_KEY_PREFIX"])


@pytest.fixture(scope="session")
def running_system(tmp_path_factory):
    """One system shared by the tests that only read from it."""
    embedded_redis = not os.environ.get("REDIS_URL")
    with launched_system(tmp_path_factory.mktemp("shared-system"), embedded_redis=embedded_redis) as started:
        yield started


# Consumers that give up (park) after 3 fast retries and a relay that runs every
# second, so the event fault tests see retries, parking and recovery quickly.
FAST_EVENT_RETRIES = {
    "EVENTS_MAX_RETRIES": "3",
    "EVENTS_RETRY_BACKOFF": "0.2",
    "EVENTS_RETRY_BACKOFF_MAX": "1",
    "EVENTS_RELAY_INTERVAL": "1",
    "CELERY_WORKER_STALL_TIMEOUT": "4",
}


@pytest.fixture(scope="module")
def broker_system(tmp_path_factory):
    """A system whose Celery broker is a Redis of its own (stoppable alone), with fast event retries.

    Yields ``(system, logs, broker)``; ``broker`` is a ``common.testing.RedisServer``
    (append-only) that a test may stop and start again on the same port.
    """
    from common.testing import RedisServer

    directory = tmp_path_factory.mktemp("broker-system")
    broker = RedisServer(directory / "broker")
    broker.start()
    try:
        extra_env = {**FAST_EVENT_RETRIES, "CELERY_BROKER_URL": broker.url}
        if not any(os.environ.get(variable) for variable in DATABASE_VARIABLES):
            # A SQLite file can be made unavailable to new connections only (event_support.database_down):
            # an open one goes on with the moved file. Every request and task opens its own here.
            extra_env["DB_CONN_MAX_AGE"] = "0"
        with launched_system(directory, embedded_redis=True, extra_env=extra_env) as (system, logs):
            yield system, logs, broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def own_system(tmp_path_factory):
    """A system for one module that breaks things (stops Redis, a service): always its own Redis."""
    with launched_system(tmp_path_factory.mktemp("own-system"), embedded_redis=True) as started:
        yield started
