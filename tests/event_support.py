"""What the event tests need beside HTTP: the services' databases, their commands, the broker, and faults.

Everything here acts on a running ``system.System`` from outside, as an
operator (or a failing machine) would: SQL on the service databases, a
``manage.py`` command with the system's environment, messages on its broker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

from system import query  # noqa: F401  (the event tests take it from here)
from system import service_database_url as database_url
from system import service_sqlite_path as sqlite_path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_DIR = {"users": "users_project", "auth": "auth_project", "gateway": "gateway_project"}


def wait_until(predicate, *, timeout: float = 30.0, what: str = "the condition"):
    """Poll ``predicate`` until it returns something truthy; return that, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# DATABASES
# ------------------------------------------------------------------------------


def same_id(value) -> str:
    """An event id however the database stores it (SQLite: 32 hex digits; PostgreSQL: a uuid)."""
    return str(uuid.UUID(str(value)))


def outbox(system, service: str, aggregate_id, event_type: str | None = None) -> list[dict]:
    """The service's outbox rows about ``aggregate_id``, by version."""
    sql = "SELECT id, type, version, sent_at FROM common_outboxevent WHERE aggregate_id = %s"
    params: tuple = (str(aggregate_id),)
    if event_type:
        sql += " AND type = %s"
        params += (event_type,)
    rows = query(system, service, sql + " ORDER BY version", params)
    return [{"id": same_id(row[0]), "type": row[1], "version": row[2], "sent_at": row[3]} for row in rows]


def inbox(system, service: str, event_ids) -> dict[str, str]:
    """event id -> outcome, for those of ``event_ids`` the service consumed."""
    rows = query(system, service, "SELECT id, outcome FROM common_inboxevent")
    wanted = {same_id(event_id) for event_id in event_ids}
    return {same_id(event_id): outcome for event_id, outcome in rows if same_id(event_id) in wanted}


def credential(system, user_id) -> tuple | None:
    """(email, is_active, token_version) of a user's credential at the auth service, or ``None``."""
    rows = query(
        system,
        "auth",
        "SELECT email, is_active, token_version FROM credentials_credential WHERE user_id = %s",
        (user_id,),
    )
    return (rows[0][0], bool(rows[0][1]), rows[0][2]) if rows else None


def logged_once(logs, name: str, message: str, event_id: str, timeout: float = 30.0) -> bool:
    """Whether ``name`` logged ``message`` about ``event_id`` exactly once, waiting for the first line.

    A consumer logs an event once its transaction committed: the line may
    trail the inbox row a little.
    """
    wait_until(lambda: log_count(logs, name, message, event_id), timeout=timeout, what=f"{message} {event_id}")
    return log_count(logs, name, message, event_id) == 1


def log_count(logs, name: str, message: str, event_id: str) -> int:
    """How many log lines of ``name`` say ``message`` about ``event_id``."""
    return sum(
        1 for entry in logs.json_lines(name) if entry.get("message") == message and entry.get("event_id") == event_id
    )


# COMMANDS
# ------------------------------------------------------------------------------


def manage(system, project: str, *args: str, env: dict[str, str] | None = None) -> str:
    """The output of ``manage.py <args>`` in ``project``, run with the system's environment (and ``env``)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT / PROJECT_DIR[project],
        env={**system.config.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def staff_account_create(system, username: str, password: str) -> None:
    """``manage.py staff_account create`` in the users service, as provisioning runs it."""
    email = f"{username}@support.example.com"
    manage(system, "users", "staff_account", "create", username, "--email", email, env={"DJANGO_STAFF_PASSWORD": password})


def manage_json(system, project: str, *args: str):
    return json.loads(manage(system, project, *args).strip().splitlines()[-1])


# THE BROKER
# ------------------------------------------------------------------------------


def broker_url(system) -> str:
    return system.config.env.get("CELERY_BROKER_URL") or system.config.env["REDIS_URL"]


def queue_key(system, queue: str) -> str:
    return system.config.env.get("CELERY_BROKER_KEY_PREFIX", "") + queue


def send_events(system, queue: str, envelopes: list[dict]) -> None:
    """Put a message of ``envelopes`` on ``queue``, addressed to its consumer, as a publisher would."""
    from celery import Celery

    app = Celery("e2e", broker=broker_url(system), set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"global_keyprefix": system.config.env.get("CELERY_BROKER_KEY_PREFIX", "")},
    )
    try:
        app.send_task(f"{queue}.events.consume", args=[envelopes], queue=queue)
    finally:
        app.close()


def queued_events(system, queue: str) -> dict[str, tuple[bytes, dict]]:
    """event id -> (raw message carrying it, its envelope), for the consumer messages waiting on ``queue``."""
    return {
        envelope["id"]: (raw, envelope)
        for raw, envelopes in queued_event_messages(system, queue)
        for envelope in envelopes
    }


def queued_event_messages(system, queue: str) -> list[tuple[bytes, list[dict]]]:
    """(raw message, envelopes) of each consumer message waiting on ``queue``, oldest first."""
    import base64

    client = redis.Redis.from_url(broker_url(system))
    try:
        raw = client.lrange(queue_key(system, queue), 0, -1)
    finally:
        client.close()
    found = []
    for item in reversed(raw):
        message = json.loads(item)
        if message["headers"]["task"] == f"{queue}.events.consume":
            args, _, _ = json.loads(base64.b64decode(message["body"]))
            found.append((item, args[0]))
    return found


def hold_back(system, queue: str, raw_message: bytes) -> None:
    """Take one waiting message off ``queue`` (the network delaying it); ``release`` delivers it later."""
    client = redis.Redis.from_url(broker_url(system))
    try:
        assert client.lrem(queue_key(system, queue), 1, raw_message) == 1
    finally:
        client.close()


def release(system, queue: str, raw_message: bytes) -> None:
    """Put a held-back message on ``queue`` again, behind everything waiting."""
    client = redis.Redis.from_url(broker_url(system))
    try:
        client.lpush(queue_key(system, queue), raw_message)  # consumers pop from the right: the oldest first
    finally:
        client.close()


# FAULTS
# ------------------------------------------------------------------------------


@contextmanager
def consumer_writes_blocked(system, service: str, user_id):
    """Hold a lock the consumer's write about ``user_id`` must wait for, until the block ends.

    PostgreSQL: the user's credential row, locked ``FOR UPDATE``. SQLite: the
    database's write lock (``BEGIN IMMEDIATE``): readers go on, writers wait
    (their busy timeout is 20 s, longer than any test holds it).
    """
    url = database_url(system, service)
    if url is None:
        connection = sqlite3.connect(sqlite_path(system, service), timeout=20, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM credentials_credential WHERE user_id = %s FOR UPDATE", (user_id,))
        yield
    finally:
        connection.rollback()
        connection.close()


@contextmanager
def database_down(system, service: str):
    """The service database unavailable until the block ends: every connection attempt fails.

    SQLite: the file is moved away and a directory takes its name, so opening
    it fails ("unable to open database file"); it is put back afterwards. A
    connection already open goes on with the moved file: the system must open
    one per request and task (``DB_CONN_MAX_AGE=0``, as ``broker_system`` sets).
    PostgreSQL (a shared server that must stay up): the database stops
    accepting connections and its open ones are terminated, then it accepts
    them again.
    """
    url = database_url(system, service)
    if url is None:
        path = sqlite_path(system, service)
        away = path.with_name(path.name + ".away")
        path.rename(away)
        path.mkdir()
        try:
            yield
        finally:
            shutil.rmtree(path)
            away.rename(path)
        return
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    server.autocommit = True
    try:
        with server.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        yield
    finally:
        with server.cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        server.close()


def kill(pid: int) -> None:
    """SIGKILL one process: it gets no chance to hand anything back."""
    os.kill(pid, signal.SIGKILL)
