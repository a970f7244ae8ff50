"""What the event benchmarks share: a system with a broker of its own, users, requests, the service databases.

Not a benchmark itself: ``events_email_to_login.py`` and ``events_drain.py`` use it.
The system runs on embedded defaults (SQLite files, embedded Redis), or, when the
``*_DB_*_URL`` variables point at PostgreSQL, on fresh PostgreSQL databases named
after those (created, then dropped), as the cross-service tests do.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.testing import RedisServer, free_port  # noqa: E402
from system import DATABASE_VARIABLES, PostgresDatabases, System, query  # noqa: E402, F401  (query: for the benchmarks)

PASSWORD = "a long enough passphrase"
LIFTED = "100000000/d"


@contextmanager
def fresh_databases():
    """``{variable: url}`` of fresh PostgreSQL databases when the environment names PostgreSQL ones; else ``{}``."""
    configured = {
        name: os.environ[name] for name in DATABASE_VARIABLES if os.environ.get(name, "").startswith("postgres")
    }
    databases = PostgresDatabases(configured, prefix="events_bench")
    databases.provision()
    try:
        yield databases.env
    finally:
        databases.drop()


def environment(var_dir: str, broker_url: str, log_level: str, databases: dict[str, str]) -> dict[str, str]:
    """Free ports, the broker on its own Redis, the gateway's rate limits lifted, ``databases`` or SQLite files."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URL") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(databases)
    env.update(
        VAR_DIR=var_dir,
        GATEWAY_PORT=str(free_port()),
        USERS_PORT=str(free_port()),
        AUTH_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
        CELERY_BROKER_URL=broker_url,
        GATEWAY_RATE_LIMIT_GLOBAL=LIFTED,
        GATEWAY_RATE_LIMIT_LOGIN_IP=LIFTED,
        GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT=LIFTED,
        GATEWAY_RATE_LIMIT_REGISTER_IP=LIFTED,
        LOG_LEVEL=log_level,
    )
    return env


@contextmanager
def running_system(var_dir: str, log_level: str):
    """``(system, broker)``: the whole system as ``make run`` starts it, plus a broker Redis that may be stopped."""
    with fresh_databases() as databases:
        broker = RedisServer(Path(var_dir) / "broker")
        broker.start()
        system = System(environment(var_dir, broker.url, log_level, databases), sink=lambda name, line: None)
        try:
            system.start(timeout=120)
            yield system, broker
        finally:
            system.stop()
            broker.stop()


def database_label(system) -> str:
    return "PostgreSQL" if system.config.env.get("USERS_DB_USERS_URL") else "SQLite"


def timestamp(value) -> datetime:
    """A timestamp column as either database returns it."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def event_id(value) -> str:
    """An event id as either database returns it (SQLite: 32 hex digits)."""
    return str(uuid.UUID(str(value)))


class Client:
    """JSON over one keep-alive connection to the gateway (one per thread)."""

    def __init__(self, base_url: str):
        host, port = base_url.removeprefix("http://").split(":")
        self._local = threading.local()
        self._address = (host, int(port))

    def _connection(self) -> http.client.HTTPConnection:
        if getattr(self._local, "connection", None) is None:
            self._local.connection = http.client.HTTPConnection(*self._address, timeout=30)
        return self._local.connection

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(method, path, body=json.dumps(body or {}).encode(), headers=headers)
                response = connection.getresponse()
                return response.status, json.loads(response.read() or b"null")
            except (http.client.HTTPException, ConnectionError):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def register_users(client: Client, count: int, label: str) -> list[dict]:
    """``count`` new accounts: ``id``, ``email``, ``token``."""
    users = []
    for n in range(count):
        email = f"{label}-{n}-{time.monotonic_ns()}@example.com"
        status, answer = client.call("POST", "/api/register", {"email": email, "password": PASSWORD})
        assert status == 201, answer
        users.append({"id": answer["user"]["id"], "email": email, "token": answer["token"]})
    return users


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]
