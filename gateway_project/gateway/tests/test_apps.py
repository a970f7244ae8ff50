"""What the gateway's app does when it starts: no database work around requests."""

from django.core import signals
from django.core.cache import close_caches
from django.db import close_old_connections, connections, reset_queries

from gateway.apps import without_database


def receivers(signal) -> list:
    return [receiver for group in signal._live_receivers(None) for receiver in group]


def test_no_database_work_runs_around_a_request(client):
    connections["default"]  # Django fills DATABASES in with its dummy backend once connections are looked at
    started, finished = receivers(signals.request_started), receivers(signals.request_finished)

    assert reset_queries not in started and close_old_connections not in started
    assert close_old_connections not in finished and close_caches not in finished
    assert client.get("/health").status_code == 200


def test_only_the_dummy_backend_is_no_database():
    assert without_database({})
    assert without_database({"default": {"ENGINE": "django.db.backends.dummy", "NAME": ""}})
    assert not without_database({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "x"}})
    assert not without_database(
        {"default": {"ENGINE": "django.db.backends.dummy"}, "other": {"ENGINE": "django.db.backends.postgresql"}}
    )
