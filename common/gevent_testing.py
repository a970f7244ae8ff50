"""Databases (and the request path's Redis connections) under gevent, through Django, in a process of their own (tests).

    python -m common.gevent_testing '<scenario as JSON>'

gevent patches the standard library first, as gunicorn's gevent worker does
before it loads the application; then Django is set up with one database
(``database``: a ``DATABASES`` entry) and the scenario's ``kind`` runs. It
prints one JSON line: ``events`` in the order they happened, ``errors`` by
greenlet (an exception's class and message), and what the kind adds.

``race``: two greenlets write the row of a table of their own at once.

- A, in a transaction: locks the row (SQLite: ``BEGIN IMMEDIATE``;
  PostgreSQL: ``SELECT ... FOR UPDATE``), adds 1, and waits (giving the thread
  up, as a change waiting on Redis does) until B is waiting for A's lock, or
  until B is done (``a_holds``: ``"until_b_waits"``, ``"until_b_done"``); then
  commits, or rolls back (``a_ends``: ``"commit"``, ``"rollback"``).
- B, once A holds the lock: adds 10, in a transaction of its own that locks
  the row first (``b_writes``: ``"atomic"``), or as one ``UPDATE`` in
  autocommit (``"autocommit"``). On PostgreSQL, B's connection has a
  ``lock_timeout`` of ``lock_timeout`` seconds, so a B that cannot wait
  without holding the thread fails instead of hanging.

``value`` is the row at the end. When waits hold the thread, B fails while A
holds the lock; when they are cooperative, B writes after A ends:
``["A wrote", "A ended", "B wrote"]``.

``connect``: a greenlet connects to ``database`` (a server that never answers)
while another greenlet records that it ran: ``["other greenlet ran",
"connect failed"]`` when the connection waits cooperatively and gives up.

``health``: PostgreSQL terminates the server process of a kept connection;
``["termination seen", "replaced"]`` when the health check
(``common.postgresql``) sees it and the next query runs on a new connection.

``redis_slots``: the request path's Redis connections (``common.redis_calls``)
bounded at one: greenlet A holds it, B asks for one and waits, C runs meanwhile,
A gives it back and B is answered on it: ``["A holds the connection", "C ran",
"A gives it back", "B answered"]``, one connection kept.

``worker``: gunicorn's gevent worker as ``common.gunicorn_conf`` runs it
(``common.gevent_worker.GeventWorker``) serves one client connection, one
request whose application connects to the database, on a greenlet as gevent's
server would; ``closed`` says whether that connection was closed when the
client connection ended.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402

import django  # noqa: E402
import gevent  # noqa: E402
from gevent.event import Event  # noqa: E402

TABLE = "gevent_race"


class Rollback(Exception):
    """A's way out of its transaction when it ends with a rollback."""


def describe(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__name__}: {exc}"


def race(scenario: dict) -> dict:
    from django.db import connection, transaction

    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cursor.execute(f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, value integer NOT NULL)")
        cursor.execute(f"INSERT INTO {TABLE} (id, value) VALUES (1, 0)")
    connection.close()

    events: list[str] = []
    errors: dict[str, str] = {}
    a_holds_lock, b_waits, b_done = Event(), Event(), Event()
    b_backend: list[int] = []

    def b_is_waiting(cursor) -> bool:
        if not postgresql:
            return b_waits.is_set()
        if not b_backend:
            return False
        cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", b_backend)
        return cursor.fetchone()[0] > 0

    def a() -> None:
        from django.db import connection

        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    if postgresql:
                        cursor.execute(f"SELECT value FROM {TABLE} WHERE id = 1 FOR UPDATE")
                    cursor.execute(f"UPDATE {TABLE} SET value = value + 1 WHERE id = 1")
                    events.append("A wrote")
                    a_holds_lock.set()
                    until_b_done = scenario.get("a_holds", "until_b_waits") == "until_b_done"
                    while not (b_done.is_set() or (not until_b_done and b_is_waiting(cursor))):
                        gevent.sleep(0.01)
                events.append("A ended")
                if scenario.get("a_ends", "commit") == "rollback":
                    raise Rollback
        except Rollback:
            pass
        except Exception as exc:
            errors["A"] = describe(exc)
        finally:
            connection.close()

    def b() -> None:
        from django.db import connection

        a_holds_lock.wait()
        try:
            with connection.cursor() as cursor:
                if postgresql:
                    cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{scenario['lock_timeout']}s"])
                    cursor.execute("SELECT pg_backend_pid()")
                    b_backend.append(cursor.fetchone()[0])
                b_waits.set()
                if scenario["b_writes"] == "atomic":
                    with transaction.atomic():
                        if postgresql:
                            cursor.execute(f"SELECT value FROM {TABLE} WHERE id = 1 FOR UPDATE")
                        cursor.execute(f"UPDATE {TABLE} SET value = value + 10 WHERE id = 1")
                else:
                    cursor.execute(f"UPDATE {TABLE} SET value = value + 10 WHERE id = 1")
            events.append("B wrote")
        except Exception as exc:
            errors["B"] = describe(exc)
        finally:
            b_done.set()
            connection.close()

    gevent.joinall([gevent.spawn(a), gevent.spawn(b)], raise_error=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT value FROM {TABLE} WHERE id = 1")
        value = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {TABLE}")
    connection.close()
    return {"events": events, "errors": errors, "value": value}


def connect(scenario: dict) -> dict:
    from django.db import connection

    events: list[str] = []
    errors: dict[str, str] = {}

    def connecting() -> None:
        try:
            connection.ensure_connection()
            events.append("connected")
        except Exception as exc:
            events.append("connect failed")
            errors["connect"] = describe(exc)

    def other() -> None:
        events.append("other greenlet ran")

    gevent.joinall([gevent.spawn(connecting), gevent.spawn(other)], raise_error=True)
    return {"events": events, "errors": errors}


def worker(scenario: dict) -> dict:
    import socket

    from django.db import connections
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from common.gevent_worker import GeventWorker

    used = []

    def application(environ, start_response):
        connections["default"].ensure_connection()
        used.append(connections["default"])  # this greenlet's connection (django.db.connection: whoever asks)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    config = Config()
    served = GeventWorker(1, 0, [], None, 30, config, Logger(config))
    served.wsgi = application
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    ours, theirs = socket.socketpair()
    theirs.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    theirs.shutdown(socket.SHUT_WR)
    gevent.spawn(served.handle, listener, ours, ("127.0.0.1", 50000)).join()
    answer = theirs.recv(65536)
    theirs.close()
    listener.close()
    return {
        "events": [answer.split(b"\r\n", 1)[0].decode()],
        "errors": {},
        "closed": bool(used) and used[0].connection is None,
    }


def health(scenario: dict) -> dict:
    """A kept PostgreSQL connection whose server process was terminated: checked, replaced, used."""
    from django.db import connection

    events: list[str] = []
    errors: dict[str, str] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])  # waits until it is gone
    finally:
        other.close()
    if connection.server_has_spoken():
        events.append("termination seen")
    # As a request begins (Django's request_started): a connection found dead is replaced.
    connection.health_check_done = False
    connection.close_if_unusable_or_obsolete()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            events.append("replaced" if cursor.fetchone()[0] != pid else "same connection")
    except Exception as exc:
        errors["query"] = describe(exc)
    connection.close()
    return {"events": events, "errors": errors}


def redis_slots(scenario: dict) -> dict:
    """Three greenlets, one Redis connection allowed (``common.redis_calls``): A holds it while B asks for one."""
    import redis

    from common import redis_calls

    redis_calls.MAX_CONNECTIONS = 1
    client = redis.Redis.from_url(scenario["redis_url"], socket_timeout=5, socket_connect_timeout=5)
    kept = redis_calls._kept_for(client.connection_pool)
    events: list[str] = []
    errors: dict[str, str] = {}
    b_asked, c_ran = Event(), Event()

    def a() -> None:
        held = redis_calls._take(kept)
        events.append("A holds the connection")
        b_asked.wait()
        c_ran.wait()  # B waits for the connection without holding the thread: C runs
        events.append("A gives it back")
        redis_calls._give_back(kept, held)

    def b() -> None:
        gevent.spawn(c)
        b_asked.set()
        try:
            redis_calls.execute(client, "PING")
            events.append("B answered")
        except Exception as exc:
            errors["B"] = describe(exc)

    def c() -> None:
        events.append("C ran")
        c_ran.set()

    greenlets = [gevent.spawn(a)]
    gevent.sleep(0)  # A takes the connection first
    greenlets.append(gevent.spawn(b))
    gevent.joinall(greenlets, raise_error=True, timeout=30)
    return {"events": events, "errors": errors, "connections": len(kept.idle)}


KINDS = {"race": race, "connect": connect, "worker": worker, "health": health, "redis_slots": redis_slots}


if __name__ == "__main__":
    scenario = json.loads(sys.argv[1])
    from django.conf import settings

    settings.configure(DATABASES={"default": scenario["database"]}, USE_TZ=True)
    django.setup()
    print(json.dumps(KINDS[scenario.get("kind", "race")](scenario)))
