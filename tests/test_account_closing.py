"""Deactivation and deletion take effect at the commit: with the auth service's worker stopped, every token of
the user is refused at the gateway and every refresh at the auth service (docs/accounts.md, "Closing an account").

A system of its own: the tests stop the auth worker, so the user.* events wait on the queue.
"""

from __future__ import annotations

import pytest

from accounts import call, login, new_account
from event_support import credential, manage, wait_until

INVALID = {"error": "Invalid or expired token"}


@pytest.fixture(scope="module")
def system(own_system):
    return own_system[0]


@pytest.fixture
def auth_worker_stopped(system):
    """The auth service's worker stopped for the test (its events wait on the queue), started again after."""
    system.stop_process("auth-worker")
    try:
        yield
    finally:
        system.start_process("auth-worker")
        system.wait_ready(["auth-worker"], 60)


def refused_everywhere(system, account) -> None:
    """The account's access token at the gateway (an edge read, a write), its refresh token, its password."""
    gateway = system.gateway_url
    assert call(gateway, "GET", "/api/profile", token=account["token"])[0::2] == (403, INVALID)
    assert call(gateway, "PUT", "/api/profile/preferences", {"theme": "dark"}, token=account["token"])[0::2] == (
        403,
        INVALID,
    )
    assert call(gateway, "POST", "/api/token/refresh", {"refresh": account["refresh"]})[0::2] == (401, INVALID)
    assert login(gateway, account["email"]) == (401, {"error": "Invalid credentials"})


def warm(system, account) -> None:
    """Two reads: the second one served from the gateway's copy."""
    for _ in range(2):
        assert call(system.gateway_url, "GET", "/api/profile", token=account["token"])[0] == 200


def test_a_deactivation_refuses_the_users_tokens_at_once_with_the_auth_worker_stopped(system, auth_worker_stopped):
    account = new_account(system.gateway_url, "closing-deactivated")
    warm(system, account)

    manage(system, "users", "user_account", "deactivate", str(account["id"]))

    refused_everywhere(system, account)
    # The auth service has not heard of it: its credential is still active, at the same token version.
    assert credential(system, account["id"])[1:] == (True, 0)


def test_a_deletion_refuses_the_users_tokens_at_once_with_the_auth_worker_stopped(system, auth_worker_stopped):
    account = new_account(system.gateway_url, "closing-deleted")
    warm(system, account)

    manage(system, "users", "user_account", "delete", str(account["id"]))

    refused_everywhere(system, account)
    assert credential(system, account["id"]) is not None


def test_a_reactivated_user_logs_in_afresh_and_the_old_tokens_stay_refused(system):
    account = new_account(system.gateway_url, "closing-reactivated")
    manage(system, "users", "user_account", "deactivate", str(account["id"]))
    manage(system, "users", "user_account", "reactivate", str(account["id"]))
    # The auth service applied both events: the deactivation bumped the token version.
    wait_until(lambda: credential(system, account["id"])[1:] == (True, 1), what="the auth service following")

    assert call(system.gateway_url, "GET", "/api/profile", token=account["token"])[0::2] == (403, INVALID)
    status, session = login(system.gateway_url, account["email"])
    assert status == 200, session
    assert call(system.gateway_url, "GET", "/api/profile", token=session["token"])[0] == 200
