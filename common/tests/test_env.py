"""``common.env``'s readers of values that are more than a string."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from common.env import (
    DATABASE_ALIASES,
    database_url_variable,
    gunicorn_worker_class,
    gunicorn_workers,
    instant,
    service_databases,
    writes_sqlite_files,
)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-12-06T03:00:00Z", datetime(2026, 12, 6, 3, tzinfo=UTC)),
        ("2026-12-06T04:30:00+01:30", datetime(2026, 12, 6, 3, tzinfo=UTC)),
        ("", None),
        ("  ", None),
    ],
)
def test_an_instant_is_read_with_its_offset(monkeypatch, value, expected):
    monkeypatch.setenv("SOME_INSTANT", value)

    assert instant("SOME_INSTANT") == expected


def test_an_unset_instant_is_none(monkeypatch):
    monkeypatch.delenv("SOME_INSTANT", raising=False)

    assert instant("SOME_INSTANT") is None


@pytest.mark.parametrize("value", ["2026-12-06T03:00:00", "tomorrow", "1765000000"])
def test_an_instant_without_an_offset_or_unreadable_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv("SOME_INSTANT", value)

    with pytest.raises(ImproperlyConfigured, match="SOME_INSTANT must be an ISO 8601 instant"):
        instant("SOME_INSTANT")


def on_postgresql(monkeypatch, service):
    for alias in DATABASE_ALIASES[service]:
        monkeypatch.setenv(database_url_variable(service, alias), f"postgres://postgres@127.0.0.1:5432/{alias}")


def test_the_auth_service_runs_one_worker_process_and_the_others_one_per_core_up_to_two(monkeypatch):
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    on_postgresql(monkeypatch, "users")
    on_postgresql(monkeypatch, "auth")
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert gunicorn_workers("auth") == 1
    assert gunicorn_workers("users") == gunicorn_workers("gateway") == 2
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert gunicorn_workers("users") == 1


@pytest.mark.parametrize("sqlite_alias", ["default", "users"])
def test_a_service_writing_a_sqlite_file_runs_one_worker_process(monkeypatch, sqlite_alias):
    """Its writers take turns within the process; a second one would wait in SQLite's busy handler, held whole."""
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    on_postgresql(monkeypatch, "users")
    monkeypatch.delenv(database_url_variable("users", sqlite_alias))  # embedded defaults for this one

    assert writes_sqlite_files("users")
    assert gunicorn_workers("users") == 1
    assert gunicorn_workers("gateway") == 2  # no database of its own
    for value in ("sqlite:////tmp/users.sqlite3", " "):
        monkeypatch.setenv(database_url_variable("users", sqlite_alias), value)
        assert gunicorn_workers("users") == 1


def test_gunicorn_workers_is_what_the_environment_says_for_any_service(monkeypatch):
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    assert gunicorn_workers("auth") == gunicorn_workers("users") == 3


def test_the_gateway_and_the_users_service_run_on_greenlets_and_the_auth_service_on_threads(monkeypatch):
    monkeypatch.delenv("GUNICORN_WORKER_CLASS", raising=False)
    assert gunicorn_worker_class("gateway") == gunicorn_worker_class("users") == "gevent"
    assert gunicorn_worker_class("auth") == "gthread"  # its hashes run on real threads


def test_gunicorn_worker_class_is_what_the_environment_says_for_any_service(monkeypatch):
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "sync")
    assert gunicorn_worker_class("users") == gunicorn_worker_class("auth") == "sync"


def test_an_unset_database_is_a_sqlite_file_through_common_sqlite_and_postgresql_through_common_postgresql(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.delenv("USERS_DB_DEFAULT_URL", raising=False)
    monkeypatch.setenv("USERS_DB_USERS_URL", "postgres://postgres@127.0.0.1:5432/users")

    databases = service_databases("users", ("default", "users"))

    assert databases["default"]["ENGINE"] == "common.sqlite"
    assert databases["default"]["NAME"] == str(tmp_path.resolve() / "users" / "default.sqlite3")
    assert databases["default"]["OPTIONS"]["timeout"] == 20
    assert databases["users"]["ENGINE"] == "common.postgresql"
