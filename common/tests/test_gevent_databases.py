"""The databases under gunicorn's gevent worker: waits give the thread up; a client connection's databases close
with it.

Each scenario runs in a process gevent has patched (``common.gevent_testing``),
against a real SQLite file, or a socket that never answers where a PostgreSQL
server would be. PostgreSQL's row locks: users_project/config/tests/test_gevent_row_locks.py.
"""

from __future__ import annotations

import socket
from contextlib import closing

import pytest
from django.db.backends.sqlite3.base import SQLiteCursorWrapper
from django.db.utils import ConnectionHandler

from common.testing import gevent_scenario

WRITERS_TAKE_TURNS = ["A wrote", "A ended", "B wrote"]


def sqlite(path, engine: str = "common.sqlite", timeout: float = 2) -> dict:
    """A ``DATABASES`` entry for the SQLite file ``path``, as ``common.env.service_databases`` writes one."""
    return {
        "ENGINE": engine,
        "NAME": str(path),
        "OPTIONS": {
            "timeout": timeout,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


@pytest.mark.parametrize("b_writes", ["atomic", "autocommit"])
@pytest.mark.parametrize("a_ends, value", [("commit", 11), ("rollback", 10)])
def test_a_writer_waits_its_turn_while_another_holds_the_file_and_waits_on_io(tmp_path, b_writes, a_ends, value):
    result = gevent_scenario(database=sqlite(tmp_path / "db.sqlite3"), b_writes=b_writes, a_ends=a_ends)

    assert result["errors"] == {}
    assert result["events"] == WRITERS_TAKE_TURNS
    assert result["value"] == value


@pytest.mark.parametrize("b_writes", ["atomic", "autocommit"])
def test_djangos_sqlite_backend_alone_holds_the_thread_in_the_busy_handler(tmp_path, b_writes):
    """What the backend is for: a writer meeting the lock waits in C, the holder never runs, the writer fails."""
    database = sqlite(tmp_path / "db.sqlite3", engine="django.db.backends.sqlite3", timeout=1)

    result = gevent_scenario(database=database, b_writes=b_writes)

    assert result["errors"] == {"B": "django.db.utils.OperationalError: database is locked"}
    assert result["events"] == ["A wrote", "A ended"]


def test_a_writer_waits_for_its_turn_at_most_the_busy_timeout_then_the_database_is_locked(tmp_path):
    database = sqlite(tmp_path / "db.sqlite3", timeout=0.5)

    result = gevent_scenario(database=database, b_writes="atomic", a_holds="until_b_done")

    assert result["errors"] == {"B": "django.db.utils.OperationalError: database is locked"}
    assert result["events"] == ["A wrote", "A ended"]
    assert result["value"] == 1


def test_a_postgresql_connection_waits_cooperatively_and_gives_up_after_its_connect_timeout():
    with closing(socket.socket()) as silent:  # takes connections and never answers, as a server out of reach
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        database = {
            "ENGINE": "common.postgresql",
            "NAME": "users",
            "USER": "users",
            "HOST": "127.0.0.1",
            "PORT": silent.getsockname()[1],
            "OPTIONS": {"connect_timeout": 1},
        }

        result = gevent_scenario(kind="connect", database=database)

    assert result["events"] == ["other greenlet ran", "connect failed"]
    assert result["errors"] == {"connect": "django.db.utils.OperationalError: timeout expired"}


def test_the_gevent_worker_closes_a_client_connections_database_connections_when_it_ends(tmp_path):
    result = gevent_scenario(kind="worker", database=sqlite(tmp_path / "db.sqlite3"))

    assert result["events"] == ["HTTP/1.1 200 OK"]
    assert result["closed"] is True


def test_without_gevent_the_sqlite_backend_is_djangos(tmp_path, django_db_blocker):
    connection = ConnectionHandler({"default": sqlite(tmp_path / "db.sqlite3")})["default"]
    with django_db_blocker.unblock():
        try:
            with connection.cursor() as cursor:
                cursor.execute("CREATE TABLE t (id integer)")
                assert type(cursor.cursor) is SQLiteCursorWrapper
            assert connection.writer_turn is None
        finally:
            connection.close()
