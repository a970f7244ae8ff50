"""Bounded input through the gateway, against the real processes: text limits, hostile JSON, body size.

Every endpoint answers a hostile body (nested deep, numbers huge, not JSON at
all) with a 400 JSON error, a text over its limit with a 400 in the legacy
validation shape, and a body over 64 KiB with a 413 JSON error: never a 500.
"""

from __future__ import annotations

import pytest

from accounts import PASSWORD, call, call_raw, new_account, register, unique_email
from http_client import raw_request

MALFORMED = {"error": "Malformed request body"}
TOO_LARGE = {"error": "Request body too large"}
HOSTILE_BODIES = {
    "deep nesting": b"[" * 60_000,
    "deep nesting within the limit of the C parser": b'{"email": ' + b"[" * 500 + b"]" * 500 + b"}",
    "a huge integer": b'{"email": "a@example.com", "password": 1' + b"0" * 5000 + b"}",
    "an infinite number": b'{"email": "a@example.com", "password": 1e999}',
    "NaN": b'{"email": NaN}',
    "not UTF-8": b'{"email": "\xff\xfe"}',
}
ENDPOINTS = [
    ("POST", "/api/login", False),
    ("POST", "/api/register", False),
    ("POST", "/api/token/refresh", False),
    ("POST", "/api/logout", True),
    ("PUT", "/api/profile", True),
    ("PUT", "/api/profile/preferences", True),
    ("PUT", "/api/change-password", True),
]


@pytest.fixture(scope="module")
def account(running_system):
    system, _ = running_system
    return new_account(system.gateway_url, "bounded", name="Bounded Input")


def errors_at(answer) -> list[str]:
    return [error["path"] for error in answer["errors"]]


@pytest.mark.parametrize("method, path, needs_token", ENDPOINTS)
@pytest.mark.parametrize("kind", list(HOSTILE_BODIES))
def test_a_hostile_body_is_a_json_400_everywhere(running_system, account, method, path, needs_token, kind):
    system, _ = running_system
    if path == "/api/change-password":
        account = new_account(system.gateway_url, "hostile")  # each counts towards its account's login limit
    token = account["token"] if needs_token else None
    status, headers, body = call_raw(system.gateway_url, method, path, HOSTILE_BODIES[kind], token=token)
    assert (status, headers["Content-Type"]) == (400, "application/json"), body[:200]


@pytest.mark.parametrize("method, path, needs_token", ENDPOINTS)
def test_a_body_over_64_kib_is_a_json_413_everywhere(running_system, account, method, path, needs_token):
    system, _ = running_system
    body = b'{"name": "' + b"x" * (64 * 1024) + b'"}'
    token = account["token"] if needs_token else None
    status, _, answer = call(system.gateway_url, method, path, body, token=token)
    assert (status, answer) == (413, TOO_LARGE)


def test_each_service_refuses_a_large_body_itself(running_system):
    system, _ = running_system
    large = b'{"x": "' + b"x" * (64 * 1024) + b'"}'
    for service in ("users", "auth"):
        # /admin/ needs no internal credential: the bound holds before anything else is asked.
        url = f"{system.config.url(service)}/admin/login/"
        status, _, body = raw_request(url, "POST", {"Content-Type": "application/json"}, large)
        assert (status, body) == (413, b'{"error": "Request body too large"}'), service


def test_a_name_of_megabytes_never_gets_in_and_the_limits_answer_in_the_legacy_shape(running_system, account):
    system, _ = running_system
    gateway = system.gateway_url

    status, _, answer = call(gateway, "PUT", "/api/profile", {"name": "x" * 201}, token=account["token"])
    assert (status, errors_at(answer)) == (400, ["name"])
    assert answer["errors"][0]["msg"] == "Invalid value"
    status, _, answer = call(gateway, "PUT", "/api/profile", {"name": "x" * 200}, token=account["token"])
    assert (status, len(answer["user"]["name"])) == (200, 200)

    status, answer = register(gateway, unique_email("long-name"), name="y" * 201)
    assert (status, errors_at(answer)) == (400, ["name"])
    status, _, answer = call(gateway, "POST", "/api/login", {"email": "a" * 250 + "@example.com", "password": "x"})
    assert (status, errors_at(answer)) == (400, ["email"])
    status, _, answer = call(gateway, "POST", "/api/token/refresh", {"refresh": "r" * 4097})
    assert (status, errors_at(answer)) == (400, ["refresh"])
    status, _, answer = call(gateway, "POST", "/api/login", {"email": account["email"], "password": "p" * 4097})
    assert (status, errors_at(answer)) == (400, ["password"])
    assert call(gateway, "POST", "/api/login", {"email": account["email"], "password": PASSWORD})[0] == 200
