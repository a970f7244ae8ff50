"""PostgreSQL under gunicorn's gevent worker: a greenlet waiting on a row lock gives the thread to its holder; a kept
connection the server dropped is still seen before it is used.

Each scenario runs in a process gevent has patched (``common.gevent_testing``),
on the users database of this run. SQLite's turns: common/tests/test_gevent_databases.py.
"""

import pytest
from django.db import connections

from common.testing import gevent_scenario

pytestmark = pytest.mark.django_db(databases=["default", "users"], transaction=True)


@pytest.fixture
def database():
    """The users database of this run, as the scenario's process connects to it."""
    if connections["users"].vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's file lock is common/tests/test_gevent_databases.py")
    settings = connections["users"].settings_dict
    keys = ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS")
    return {key: settings[key] for key in keys}


@pytest.mark.parametrize("b_writes", ["atomic", "autocommit"])
def test_a_writer_waiting_on_a_row_lock_lets_the_greenlet_holding_it_commit(database, b_writes):
    result = gevent_scenario(database=database, b_writes=b_writes, lock_timeout=2)

    assert result["errors"] == {}
    assert result["events"] == ["A wrote", "A ended", "B wrote"]
    assert result["value"] == 11


def test_djangos_postgresql_backend_alone_waits_on_the_lock_holding_the_thread(database):
    """What the wait callback is for: the waiter holds the thread, the holder never runs, the lock times out."""
    result = gevent_scenario(
        database={**database, "ENGINE": "django.db.backends.postgresql"}, b_writes="atomic", lock_timeout=1
    )

    assert result["errors"]["B"].startswith("django.db.utils.OperationalError: canceling statement due to lock timeout")
    assert result["events"] == ["A wrote", "A ended"]


def test_a_kept_connection_the_server_dropped_is_seen_and_replaced_under_gevent(database):
    result = gevent_scenario(kind="health", database=database)

    assert result["errors"] == {}
    assert result["events"] == ["termination seen", "replaced"]
