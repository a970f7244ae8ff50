"""Guessing customers' passwords through the gateway, against the real processes: every door counts and locks.

A system of its own whose gateway allows many logins per account, so what is
proven is the auth service's own lockout; the gateway's per-account limit (which
counts a change of password like a login) is proven in the shared system.
"""

from __future__ import annotations

import os
import threading

import pytest

from accounts import NEW_PASSWORD, PASSWORD, call, login, new_account
from conftest import launched_system
from metrics_support import sample_value, scrape

THRESHOLD = 5  # LOGIN_LOCKOUT_THRESHOLD's default
INVALID = {"error": "Invalid credentials"}
INCORRECT = {"error": "Current password is incorrect"}


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    embedded_redis = not os.environ.get("REDIS_URL")
    extra_env = {"GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT": "100000/d"}
    with launched_system(tmp_path_factory.mktemp("guessing"), embedded_redis=embedded_redis, extra_env=extra_env) as (
        started,
        _,
    ):
        yield started


def failures(system) -> dict[str, float]:
    families = scrape(system.config.url("auth"))
    return {
        reason: sample_value(families, "auth_login_failures_total", {"reason": reason})
        for reason in ("wrong_password", "locked")
    }


def change_password(system, account, current: str):
    body = {"currentPassword": current, "newPassword": NEW_PASSWORD}
    status, _, answer = call(system.gateway_url, "PUT", "/api/change-password", body, token=account["token"])
    return status, answer


def test_guesses_in_flight_at_once_check_no_more_passwords_than_the_threshold(system):
    account = new_account(system.gateway_url, "burst")
    before = failures(system)
    start = threading.Barrier(16)
    answers = []

    def guess(number: int) -> None:
        start.wait()
        answers.append(login(system.gateway_url, account["email"], f"guess-{number}"))

    threads = [threading.Thread(target=guess, args=(number,)) for number in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [(401, INVALID)] * 16
    after = failures(system)
    # Exactly the threshold's worth were checked against the hash; the others were refused as locked.
    assert after["wrong_password"] - before["wrong_password"] == THRESHOLD
    assert after["locked"] - before["locked"] == 16 - THRESHOLD
    assert login(system.gateway_url, account["email"]) == (401, INVALID)


def test_a_wrong_current_password_counts_towards_the_lockout(system):
    account = new_account(system.gateway_url, "oracle")
    for number in range(THRESHOLD - 1):
        assert login(system.gateway_url, account["email"], f"guess-{number}") == (401, INVALID)

    # A stolen token guessing the password: the fifth wrong one locks the account.
    assert change_password(system, account, "guess-by-token") == (401, INCORRECT)

    assert login(system.gateway_url, account["email"]) == (401, INVALID)
    assert change_password(system, account, PASSWORD) == (401, INCORRECT)


def test_changing_the_email_to_taken_addresses_is_answered_a_few_times_an_hour(system):
    taken = new_account(system.gateway_url, "taken")
    prober = new_account(system.gateway_url, "prober")

    def change_email(email: str):
        status, _, answer = call(system.gateway_url, "PUT", "/api/profile", {"email": email}, token=prober["token"])
        return status, answer

    for _ in range(5):
        assert change_email(taken["email"].upper()) == (400, {"error": "Email already in use"})
    status, headers, answer = call(
        system.gateway_url, "PUT", "/api/profile", {"email": "free-" + taken["email"]}, token=prober["token"]
    )
    assert (status, answer) == (429, {"error": "Too many requests"})
    assert 1 <= int(headers["Retry-After"]) <= 3600
    assert change_email(taken["email"]) == (429, {"error": "Too many requests"})
    # The rest of the profile still changes.
    status, _, answer = call(system.gateway_url, "PUT", "/api/profile", {"name": "Still Me"}, token=prober["token"])
    assert (status, answer["user"]["name"]) == (200, "Still Me")
