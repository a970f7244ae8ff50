"""Kept PostgreSQL connections (common.postgresql): one the server dropped is replaced before a request uses it,
one it kept is used without a check of its own.

Requests go through Django's WSGI handler as gunicorn calls it, so each begins and
ends as in production (the test client turns off Django's per-request connection
handling).
"""

import time

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.test import RequestFactory

from common.internal_auth import sign_internal

pytestmark = pytest.mark.django_db(databases=["default", "users"], transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connections["users"].vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's connections are files, nothing drops them")


@pytest.fixture
def profile_read(make_profile):
    """``profile_read()``: the status of a ``GET /api/profile`` the gateway forwarded, served as gunicorn serves it."""
    profile = make_profile(email="ada@example.com", name="Ada")
    handler = WSGIHandler()

    def read() -> str:
        assertion = sign_internal(
            "users",
            issuer="gateway",
            method="GET",
            path="/api/profile",
            user_id=profile.pk,
            email=profile.email,
            jti="j",
            token_exp=int(time.time()) + 3600,
        )
        environ = RequestFactory().get("/api/profile", HTTP_X_INTERNAL_AUTH=assertion).environ
        statuses = []
        response = handler(environ, lambda status, headers, *args: statuses.append(status))
        b"".join(response)
        response.close()
        return statuses[0]

    return read


@pytest.fixture
def health_checks(monkeypatch):
    """The health checks (Django's ``SELECT 1``) made on the users database, counted."""
    wrapper = type(connections["users"])
    checks = []
    is_usable = wrapper.is_usable

    def counted(self):
        if self.alias == "users":
            checks.append(self.alias)
        return is_usable(self)

    monkeypatch.setattr(wrapper, "is_usable", counted)
    return checks


def terminate_server_process(connection) -> None:
    """Have PostgreSQL terminate the server process of ``connection``, as a restart or an administrator would."""
    pid = connection.connection.info.backend_pid
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            # Waits (at most 5 s) until that process is gone.
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            assert cursor.fetchone()[0] is True
    finally:
        other.close()


def test_a_request_on_a_connection_the_server_dropped_is_answered_on_a_new_one(profile_read, health_checks):
    assert profile_read().startswith("200")
    kept = connections["users"].connection
    terminate_server_process(connections["users"])

    assert profile_read().startswith("200")
    assert connections["users"].connection is not kept
    assert health_checks == ["users"]  # the dead one was checked before use


def test_a_connection_the_server_kept_is_used_without_a_round_trip_to_check_it(profile_read, health_checks):
    assert profile_read().startswith("200")
    kept = connections["users"].connection

    for _ in range(3):
        assert profile_read().startswith("200")
    assert connections["users"].connection is kept
    assert health_checks == []
