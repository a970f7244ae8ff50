"""Every row of the legacy API contract (docs/api.md), through the gateway of the running system.

Each test runs twice: with the legacy routes on the services, and in phase 1 of
the cutover, with every legacy route on the real monolith behind the same
gateway (``monolith_system``, the copy in ``tests/legacy_monolith/``; skipped without Node.js and npm). A row
where the new system answers otherwise than the monolith did (docs/api.md,
"Where answers differ") is checked on the services only.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from accounts import (
    NEW_PASSWORD,
    PASSWORD,
    access_claims,
    call,
    call_raw,
    claims_of,
    login,
    new_account,
    register,
    signed,
    system_private_key,
    unique_email,
)
from conftest import launched_system
from monolith_support import monolith_environment, running_monolith

REQUIRED = {"error": "Access token required"}
INVALID = {"error": "Invalid or expired token"}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}")


@pytest.fixture(scope="module")
def monolith_system(tmp_path_factory):
    """Phase 1 of the cutover: the legacy routes on the monolith, behind the gateway."""
    directory = tmp_path_factory.mktemp("monolith-system")
    with running_monolith(directory) as monolith:
        embedded_redis = not os.environ.get("REDIS_URL")
        with launched_system(directory, embedded_redis=embedded_redis, extra_env=monolith_environment(monolith)) as started:
            yield started


@pytest.fixture(params=["services", "monolith"])
def gateway(request) -> str:
    system, _ = request.getfixturevalue("running_system" if request.param == "services" else "monolith_system")
    return system.gateway_url


@pytest.fixture
def on_monolith(request) -> bool:
    """Whether this run of a test has the legacy routes on the monolith."""
    return request.node.callspec.params.get("gateway") == "monolith"


@pytest.fixture
def services_gateway(running_system) -> str:
    """For a row the new system answers otherwise than the monolith did."""
    system, _ = running_system
    return system.gateway_url


def assert_user(user: dict, *, email: str, name) -> None:
    """The legacy ``user`` object: id, email, name, created_at (extra fields allowed)."""
    assert {"id", "email", "name", "created_at"} <= set(user)
    assert type(user["id"]) is int and user["id"] > 0
    assert user["email"] == email
    assert user["name"] == name
    assert TIMESTAMP.match(user["created_at"]), user["created_at"]


def assert_validation_error(body: dict, *paths: str, passwords_hidden: bool = True) -> None:
    """express-validator's shape, naming each of ``paths``, with no password value anywhere
    (``passwords_hidden``: the monolith echoed a refused one)."""
    assert set(body) == {"errors"}, body
    assert body["errors"], body
    for entry in body["errors"]:
        assert {"type", "msg", "path", "location"} <= set(entry), entry
        assert (entry["type"], entry["location"]) == ("field", "body")
        assert isinstance(entry["msg"], str) and entry["msg"]
        if passwords_hidden and "password" in entry["path"].lower():
            assert "value" not in entry, entry
    assert set(paths) <= {entry["path"] for entry in body["errors"]}, body


# POST /api/register
# ------------------------------------------------------------------------------


def test_register_is_201_with_message_token_and_user_and_the_account_logs_in_at_once(gateway):
    email = unique_email("register")
    status, body = register(gateway, email, name="Ada Lovelace")

    assert status == 201, body
    assert body["message"] == "User registered successfully"
    assert_user(body["user"], email=email, name="Ada Lovelace")
    # Frontends read userId and email from the token.
    assert (claims_of(body["token"])["userId"], claims_of(body["token"])["email"]) == (body["user"]["id"], email)
    assert call(gateway, "GET", "/api/profile", token=body["token"])[0] == 200

    status, logged_in = login(gateway, email)
    assert status == 200, logged_in
    assert logged_in["user"]["id"] == body["user"]["id"]


def test_register_without_a_name_stores_null(gateway):
    email = unique_email("noname")
    status, body = register(gateway, email, name=None)

    assert status == 201, body
    assert_user(body["user"], email=email, name=None)


@pytest.mark.parametrize("again", [str.upper, str.capitalize], ids=["upper", "capitalized"])
def test_registering_an_existing_email_in_another_case_is_400_user_already_exists(gateway, again):
    email = unique_email("dup")
    assert register(gateway, email)[0] == 201

    status, body = register(gateway, again(email))

    assert (status, body) == (400, {"error": "User already exists"})


def test_register_with_a_bad_email_is_a_400_validation_error(gateway):
    status, _, content = call_raw(gateway, "POST", "/api/register", {"email": "not-an-email", "password": PASSWORD})

    assert status == 400
    body = json.loads(content)
    assert_validation_error(body, "email")
    assert PASSWORD.encode() not in content


@pytest.mark.parametrize("password", ["abc", "12345"])
def test_register_with_a_short_password_is_a_400_validation_error_without_the_password(gateway, password, on_monolith):
    email = unique_email("short")
    status, _, content = call_raw(gateway, "POST", "/api/register", {"email": email, "password": password})

    assert status == 400
    body = json.loads(content)
    assert_validation_error(body, "password", passwords_hidden=not on_monolith)
    if not on_monolith:
        assert f'"{password}"'.encode() not in content
    # Nothing was created: the address is still free.
    assert register(gateway, email)[0] == 201


# POST /api/login
# ------------------------------------------------------------------------------


def test_login_is_200_with_message_token_and_user(gateway):
    email = unique_email("login")
    status, registered = register(gateway, email, name="Grace")
    assert status == 201

    status, body = login(gateway, email)

    assert status == 200, body
    assert body["message"] == "Login successful"
    assert_user(body["user"], email=email, name="Grace")
    assert body["user"]["id"] == registered["user"]["id"]
    claims = claims_of(body["token"])
    assert (claims["userId"], claims["email"]) == (registered["user"]["id"], email)
    assert call(gateway, "GET", "/api/profile", token=body["token"])[0] == 200


def test_login_finds_the_account_however_the_email_is_typed(gateway):
    email = unique_email("typed")
    assert register(gateway, email)[0] == 201

    assert login(gateway, email.upper())[0] == 200


@pytest.mark.parametrize(
    "body, paths",
    [
        ({"email": "not-an-email", "password": PASSWORD}, ["email"]),
        ({"email": "someone@example.com"}, ["password"]),
        ({}, ["email", "password"]),
    ],
    ids=["bad-email", "no-password", "empty"],
)
def test_login_with_invalid_input_is_a_400_validation_error(gateway, body, paths):
    status, _, answer = call(gateway, "POST", "/api/login", body)

    assert status == 400
    assert_validation_error(answer, *paths)


def test_login_with_a_wrong_password_or_an_unknown_email_is_401_invalid_credentials(gateway):
    email = unique_email("wrong")
    assert register(gateway, email)[0] == 201

    assert login(gateway, email, "Not-The-Password-1") == (401, {"error": "Invalid credentials"})
    assert login(gateway, unique_email("unknown")) == (401, {"error": "Invalid credentials"})


# GET /api/profile
# ------------------------------------------------------------------------------


def test_get_profile_is_200_with_the_user(gateway):
    account = new_account(gateway, "profile", name="Linus")

    status, _, body = call(gateway, "GET", "/api/profile", token=account["token"])

    assert status == 200
    assert set(body) >= {"user"}
    assert_user(body["user"], email=account["email"], name="Linus")
    assert body["user"]["id"] == account["id"]


def test_get_profile_without_a_token_is_401(gateway):
    assert call(gateway, "GET", "/api/profile")[0::2] == (401, REQUIRED)


def test_get_profile_with_an_invalid_token_is_403(gateway):
    assert call(gateway, "GET", "/api/profile", token="not.a.token")[0::2] == (403, INVALID)


def test_get_profile_of_a_user_that_does_not_exist_is_404(running_system, services_gateway):
    gateway = services_gateway
    system, _ = running_system
    # A valid token (signed with the system's own key) for a user id nobody has.
    token = signed(access_claims(987654321), system_private_key(system))

    assert call(gateway, "GET", "/api/profile", token=token)[0::2] == (404, {"error": "User not found"})


# PUT /api/profile
# ------------------------------------------------------------------------------


def test_put_profile_is_200_with_the_updated_user(gateway):
    account = new_account(gateway, "update", name="Before")
    new_email = unique_email("after")

    changes = {"name": "After", "email": new_email}
    status, _, body = call(gateway, "PUT", "/api/profile", changes, token=account["token"])

    assert status == 200, body
    assert body["message"] == "Profile updated successfully"
    assert_user(body["user"], email=new_email, name="After")
    assert call(gateway, "GET", "/api/profile", token=account["token"])[2]["user"]["name"] == "After"


def test_put_profile_with_a_bad_email_is_a_400_validation_error(gateway):
    account = new_account(gateway, "badupdate")

    status, _, body = call(gateway, "PUT", "/api/profile", {"email": "nope"}, token=account["token"])

    assert status == 400
    assert_validation_error(body, "email")


def test_put_profile_with_another_users_email_is_400_email_already_in_use(gateway):
    first, second = new_account(gateway, "first"), new_account(gateway, "second")

    status, _, body = call(gateway, "PUT", "/api/profile", {"email": first["email"].upper()}, token=second["token"])

    assert (status, body) == (400, {"error": "Email already in use"})


def test_put_profile_without_or_with_an_invalid_token_is_401_or_403(gateway):
    assert call(gateway, "PUT", "/api/profile", {"name": "x"})[0::2] == (401, REQUIRED)
    assert call(gateway, "PUT", "/api/profile", {"name": "x"}, token="garbage")[0::2] == (403, INVALID)


# PUT /api/change-password
# ------------------------------------------------------------------------------


def test_change_password_is_200_a_fresh_token_works_and_the_old_one_is_403(services_gateway):
    gateway = services_gateway  # the monolith's earlier tokens worked on until they expired
    account = new_account(gateway, "chpw")

    status, _, body = call(
        gateway,
        "PUT",
        "/api/change-password",
        {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        token=account["token"],
    )

    assert status == 200, body
    assert body["message"] == "Password changed successfully"
    assert call(gateway, "GET", "/api/profile", token=account["token"])[0::2] == (403, INVALID)
    if "token" in body:  # the new system may hand this client a new session at once
        assert call(gateway, "GET", "/api/profile", token=body["token"])[0] == 200
    assert login(gateway, account["email"]) == (401, {"error": "Invalid credentials"})
    status, fresh = login(gateway, account["email"], NEW_PASSWORD)
    assert status == 200
    assert call(gateway, "GET", "/api/profile", token=fresh["token"])[0] == 200


@pytest.mark.parametrize(
    "body, paths",
    [
        ({"currentPassword": PASSWORD, "newPassword": "abc"}, ["newPassword"]),
        ({"newPassword": NEW_PASSWORD}, ["currentPassword"]),
        ({"currentPassword": PASSWORD}, ["newPassword"]),
    ],
    ids=["short", "no-current", "no-new"],
)
def test_change_password_with_invalid_input_is_a_400_validation_error(gateway, body, paths, on_monolith):
    account = new_account(gateway, "chpw400")

    status, _, content = call_raw(gateway, "PUT", "/api/change-password", body, token=account["token"])

    assert status == 400
    assert_validation_error(json.loads(content), *paths, passwords_hidden=not on_monolith)
    if not on_monolith:
        assert PASSWORD.encode() not in content
    # Nothing changed.
    assert call(gateway, "GET", "/api/profile", token=account["token"])[0] == 200


def test_change_password_with_a_wrong_current_password_is_401(gateway):
    account = new_account(gateway, "chpw401")

    status, _, body = call(
        gateway,
        "PUT",
        "/api/change-password",
        {"currentPassword": "Wrong-Password-77", "newPassword": NEW_PASSWORD},
        token=account["token"],
    )

    assert (status, body) == (401, {"error": "Current password is incorrect"})
    assert call(gateway, "GET", "/api/profile", token=account["token"])[0] == 200


def test_change_password_without_or_with_an_invalid_token_is_401_or_403(gateway):
    body = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    assert call(gateway, "PUT", "/api/change-password", body)[0::2] == (401, REQUIRED)
    assert call(gateway, "PUT", "/api/change-password", body, token="garbage")[0::2] == (403, INVALID)


# GET /api/health
# ------------------------------------------------------------------------------


def test_health_is_200_status_ok_with_an_iso_timestamp(gateway):
    status, headers, body = call(gateway, "GET", "/api/health")

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body["status"] == "OK"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", body["timestamp"])
