"""Sessions and tokens across the gateway and both services: logout, refresh, attacks, legacy tokens, Redis down."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from datetime import UTC, datetime

import jwt
import pytest

from accounts import (
    NEW_PASSWORD,
    PASSWORD,
    access_claims,
    b64,
    call,
    call_raw,
    claims_of,
    forged,
    internal_assertion,
    internal_key,
    login,
    new_account,
    signed,
    system_private_key,
    system_public_key,
    unique_email,
    unsigned,
)
from common.jwt_keys import local_key_pair
from conftest import launched_system
from http_client import request, wait_for_status

REQUIRED = {"error": "Access token required"}
INVALID = {"error": "Invalid or expired token"}
LEGACY_SECRET = "the-monoliths-jwt-secret-for-the-e2e-tests"


@pytest.fixture
def gateway(running_system) -> str:
    system, _ = running_system
    return system.gateway_url


def profile_status(gateway: str, token: str) -> int:
    return call(gateway, "GET", "/api/profile", token=token)[0]


# LOGOUT
# ------------------------------------------------------------------------------


def test_logout_kills_the_presented_token_at_once(gateway):
    account = new_account(gateway, "logout")
    other_session = login(gateway, account["email"])[1]["token"]

    status, _, body = call(gateway, "POST", "/api/logout", {}, token=account["token"])

    assert status == 200, body
    assert call(gateway, "GET", "/api/profile", token=account["token"])[0::2] == (403, INVALID)
    assert call(gateway, "POST", "/api/logout", {}, token=account["token"])[0::2] == (403, INVALID)
    # Another login of the same user is another session.
    assert profile_status(gateway, other_session) == 200


def test_logout_with_the_refresh_token_ends_the_whole_session(gateway):
    account = new_account(gateway, "logout-refresh")
    status, _, rotated = call(gateway, "POST", "/api/token/refresh", {"refresh": account["refresh"]})
    assert status == 200

    status, _, body = call(gateway, "POST", "/api/logout", {"refresh": rotated["refresh"]}, token=account["token"])

    assert status == 200, body
    # The other access token of the session, and its refresh token, die with it.
    assert profile_status(gateway, rotated["token"]) == 403
    assert call(gateway, "POST", "/api/token/refresh", {"refresh": rotated["refresh"]})[0] == 401


def test_logout_without_a_token_is_401(gateway):
    assert call(gateway, "POST", "/api/logout", {})[0::2] == (401, REQUIRED)


# REFRESH: rotation, and a reused refresh token kills the family
# ------------------------------------------------------------------------------


def test_refresh_rotates_and_the_new_tokens_work(gateway):
    account = new_account(gateway, "refresh")

    status, _, body = call(gateway, "POST", "/api/token/refresh", {"refresh": account["refresh"]})

    assert status == 200, body
    assert body["token"] != account["token"] and body["refresh"] != account["refresh"]
    assert claims_of(body["token"])["userId"] == account["id"]
    assert profile_status(gateway, body["token"]) == 200
    assert call(gateway, "POST", "/api/token/refresh", {"refresh": body["refresh"]})[0] == 200


def test_a_reused_refresh_token_is_refused_and_kills_its_family(gateway):
    account = new_account(gateway, "reuse")
    other_session = login(gateway, account["email"])[1]
    status, _, rotated = call(gateway, "POST", "/api/token/refresh", {"refresh": account["refresh"]})
    assert status == 200

    status, _, body = call(gateway, "POST", "/api/token/refresh", {"refresh": account["refresh"]})

    assert (status, body) == (401, INVALID)
    for token in (account["token"], rotated["token"]):
        assert call(gateway, "GET", "/api/profile", token=token)[0::2] == (403, INVALID)
    assert call(gateway, "POST", "/api/token/refresh", {"refresh": rotated["refresh"]})[0] == 401
    assert profile_status(gateway, other_session["token"]) == 200


# TOKEN ATTACKS at the gateway
# ------------------------------------------------------------------------------


def _attacks(system, account) -> dict[str, str]:
    private_key, public_key = system_private_key(system), system_public_key(system)
    other_private, _ = local_key_pair(system.config.var_dir / "attacker-keys")
    claims = access_claims(account["id"], account["email"])
    now = int(time.time())
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}"
    key_confusion = hmac.new(public_key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return {
        "garbage": "garbage",
        "alg-none": unsigned(claims),
        "forged-user": forged(account["token"], userId=account["id"] + 1),
        "expired": signed({**claims, "iat": now - 7200, "exp": now - 60}, private_key),
        "no-exp": signed({k: v for k, v in claims.items() if k != "exp"}, private_key),
        "refresh-as-access": account["refresh"],
        "another-key": signed(claims, other_private),
        "hs256-with-the-public-key": f"{signing_input}.{b64(key_confusion)}",
        "legacy-without-the-secret": jwt.encode(
            {"userId": account["id"], "email": account["email"], "iat": now, "exp": now + 3600},
            LEGACY_SECRET,
            algorithm="HS256",
        ),
    }


ATTACK_NAMES = [
    "garbage", "alg-none", "forged-user", "expired", "no-exp", "refresh-as-access", "another-key",
    "hs256-with-the-public-key", "legacy-without-the-secret",
]


@pytest.fixture(scope="module")
def victim(running_system) -> dict:
    """One account every attack below goes after; none of them may change it."""
    system, _ = running_system
    return new_account(system.gateway_url, "victim", name="Victim")


@pytest.mark.parametrize("attack", ATTACK_NAMES)
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/api/profile", None),
        ("PUT", "/api/profile", {"name": "Mallory"}),
        ("GET", "/api/profile/preferences", None),
        ("PUT", "/api/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
        ("POST", "/api/logout", {}),
    ],
    ids=["profile", "profile-update", "preferences", "change-password", "logout"],
)
def test_token_attacks_are_403_at_the_gateway(running_system, victim, attack, method, path, body):
    system, _ = running_system
    token = _attacks(system, victim)[attack]

    status, _, answer = call(system.gateway_url, method, path, body, token=token)

    assert (status, answer) == (403, INVALID)
    # Nothing happened to the account: same name, its session alive (not logged out, password unchanged).
    status, _, profile = call(system.gateway_url, "GET", "/api/profile", token=victim["token"])
    assert (status, profile["user"]["name"]) == (200, "Victim")


# THE SERVICES' OWN PORTS: nothing without the gateway's credential
# ------------------------------------------------------------------------------


def _forged_internal(system, audience: str, method: str, path: str, user_id: int) -> dict[str, str]:
    """Credentials a client might make up or capture: wrong key, no signature, the gateway's for another service
    or another request, the gateway's key passing for the users service."""
    now = int(time.time())
    claims = {"iss": "gateway", "aud": audience, "iat": now, "exp": now + 30, "method": method, "path": path}
    claims["sub"] = str(user_id)
    other_method = "DELETE" if method != "DELETE" else "GET"
    as_gateway = lambda **changes: internal_assertion(  # noqa: E731
        system, "gateway", **{"audience": audience, "method": method, "path": path, "user_id": user_id, **changes}
    )
    return {
        "wrong-key": jwt.encode(claims, "not-the-internal-key-but-long-enough-for-hs256", headers={"kid": "gateway"}),
        "alg-none": unsigned(claims),
        "other-audience": as_gateway(audience="users" if audience == "auth" else "auth"),
        "other-method": as_gateway(method=other_method),
        "other-path": as_gateway(path=path + "/elsewhere"),
        "gateway-key-as-users": internal_assertion(
            system, "users", audience, method, path, user_id=user_id, key=internal_key(system, "gateway")
        ),
    }


DIRECT = [
    ("users", "GET", "/api/profile", None),
    ("users", "PUT", "/api/profile", {"name": "Mallory"}),
    ("users", "GET", "/api/profile/preferences", None),
    ("users", "POST", "/api/register", {"email": "direct@example.com", "password": PASSWORD}),
    ("auth", "POST", "/api/login", {"email": "direct@example.com", "password": PASSWORD}),
    ("auth", "POST", "/api/logout", {}),
    ("auth", "PUT", "/api/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}),
    ("auth", "POST", "/api/token/refresh", {"refresh": "x"}),
]


@pytest.mark.parametrize("service, method, path, body", DIRECT, ids=[f"{d[0]}{d[2]}-{d[1]}" for d in DIRECT])
def test_a_service_refuses_a_request_that_did_not_come_through_the_gateway(
    running_system, victim, service, method, path, body
):
    system, _ = running_system
    account = victim
    base = system.config.url(service)

    # A valid user token is not enough: only the gateway's credential is.
    status, headers, answer = call(base, method, path, body, token=account["token"])
    assert (status, answer) == (401, {"error": "Requests must come through the gateway"})
    assert headers["Content-Type"] == "application/json"
    for name, value in _forged_internal(system, service, method, path, account["id"]).items():
        status, _, answer = call(base, method, path, body, token=account["token"], headers={"X-Internal-Auth": value})
        assert (status, answer) == (401, {"error": "Invalid internal credential"}), name


# Each auth endpoint, and who may call it: the gateway the public API, the users service the internal one.
AUTH_CALLERS = [
    ("POST", "/api/login", {"email": "direct@example.com", "password": PASSWORD}, "gateway", "users"),
    ("POST", "/internal/credentials/{id}/end-sessions", None, "users", "gateway"),
    ("GET", "/internal/credentials/{id}/state", None, "users", "gateway"),
    ("DELETE", "/internal/credentials/{id}", None, "users", "gateway"),
]


@pytest.mark.parametrize(
    "method, path, body, caller, other", AUTH_CALLERS, ids=[f"{c[1].split('/')[2]}-{c[0]}" for c in AUTH_CALLERS]
)
def test_the_auth_service_takes_each_endpoint_from_its_own_caller_only(running_system, victim, method, path, body,
                                                                       caller, other):
    system, _ = running_system
    base, path = system.config.url("auth"), path.format(id=victim["id"])

    # The other caller's own, valid credential: not allowed here.
    status, _, answer = call(base, method, path, body, headers={
        "X-Internal-Auth": internal_assertion(system, other, "auth", method, path)})
    assert (status, answer) == (403, {"error": "Permission denied"})
    # The other caller's key (leaked, say) passing for the right caller: not its key.
    forged = internal_assertion(system, caller, "auth", method, path, key=internal_key(system, other))
    status, _, answer = call(base, method, path, body, headers={"X-Internal-Auth": forged})
    assert (status, answer) == (401, {"error": "Invalid internal credential"})
    # The victim's session survived every attempt.
    assert profile_status(system.gateway_url, victim["token"]) == 200


def test_the_users_services_own_credential_reaches_the_internal_endpoints(running_system, victim):
    system, _ = running_system
    path = f"/internal/credentials/{victim['id']}/state"
    signed = internal_assertion(system, "users", "auth", "GET", path)

    status, _, answer = call(system.config.url("auth"), "GET", path, headers={"X-Internal-Auth": signed})

    assert (status, answer["user_id"], answer["is_active"]) == (200, victim["id"], True)


def test_a_captured_gateway_credential_works_for_its_own_request_only(running_system, victim):
    """What the gateway sent for one request cannot be replayed for another (another method, another path)."""
    system, _ = running_system
    users = system.config.url("users")
    captured = internal_assertion(system, "gateway", "users", "GET", "/api/profile", user_id=victim["id"],
                                  email=victim["email"], jti="captured", token_exp=int(time.time()) + 600)

    assert call(users, "GET", "/api/profile", headers={"X-Internal-Auth": captured})[0] == 200
    for method, path, body in [("PUT", "/api/profile", {"name": "Mallory"}), ("GET", "/api/profile/preferences", None)]:
        status, _, answer = call(users, method, path, body, headers={"X-Internal-Auth": captured})
        assert (status, answer) == (401, {"error": "Invalid internal credential"}), path
    assert call(system.gateway_url, "GET", "/api/profile", token=victim["token"])[2]["user"]["name"] == "Victim"


# LEGACY TOKENS: honoured while LEGACY_JWT_SECRET is set, under the same revocation rules
# ------------------------------------------------------------------------------

# The legacy system's cutover: /api/login moved to the auth service an hour before it started.
CUTOVER = int(time.time()) - 3600


@pytest.fixture(scope="module")
def legacy_system(tmp_path_factory):
    """A system whose gateway honours the monolith's tokens issued before ``CUTOVER`` (its own Redis)."""
    issued_before = datetime.fromtimestamp(CUTOVER, UTC).isoformat()
    with launched_system(
        tmp_path_factory.mktemp("legacy-system"),
        embedded_redis=True,
        extra_env={"LEGACY_JWT_SECRET": LEGACY_SECRET, "LEGACY_JWT_ISSUED_BEFORE": issued_before},
    ) as started:
        yield started


def legacy_token(
    user_id: int, email: str, secret: str = LEGACY_SECRET, lifetime: int = 24 * 3600, issued_at: int | None = None
) -> str:
    """A token exactly as the monolith's ``jsonwebtoken`` issued it, by default two hours ago (before ``CUTOVER``)."""
    issued_at = int(time.time()) - 7200 if issued_at is None else issued_at
    claims = {"userId": user_id, "email": email, "iat": issued_at, "exp": issued_at + lifetime}
    return jwt.encode(claims, secret, algorithm="HS256")


def test_a_monolith_token_keeps_working_through_the_cutover_until_logout(legacy_system):
    system, _ = legacy_system
    gateway = system.gateway_url
    account = new_account(gateway, "legacy", name="Old Timer")
    token = legacy_token(account["id"], account["email"])

    status, _, body = call(gateway, "GET", "/api/profile", token=token)
    assert status == 200
    assert (body["user"]["id"], body["user"]["name"]) == (account["id"], "Old Timer")
    status, _, body = call(gateway, "PUT", "/api/profile/preferences", {"theme": "dark"}, token=token)
    assert (status, body["preferences"]["theme"]) == (200, "dark")

    assert call(gateway, "POST", "/api/logout", {}, token=token)[0] == 200
    assert call(gateway, "GET", "/api/profile", token=token)[0::2] == (403, INVALID)
    # The new-style session of the same user is another session.
    assert profile_status(gateway, account["token"]) == 200


def test_a_monolith_token_dies_when_the_password_changes(legacy_system):
    system, _ = legacy_system
    gateway = system.gateway_url
    account = new_account(gateway, "legacy-chpw")
    token = legacy_token(account["id"], account["email"])
    assert profile_status(gateway, token) == 200

    status, _, _ = call(
        gateway, "PUT", "/api/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, token=token
    )

    assert status == 200
    assert profile_status(gateway, token) == 403


def test_a_logged_out_monolith_token_is_refused_in_every_spelling(legacy_system):
    system, _ = legacy_system
    gateway = system.gateway_url
    account = new_account(gateway, "legacy-spelling")
    token = legacy_token(account["id"], account["email"])
    padded = token + "="  # the same signature bytes, spelled otherwise: verifies as the token itself
    assert profile_status(gateway, padded) == 200

    assert call(gateway, "POST", "/api/logout", {}, token=token)[0] == 200

    assert call(gateway, "GET", "/api/profile", token=padded)[0::2] == (403, INVALID)
    assert call(gateway, "GET", "/api/profile", token=token)[0::2] == (403, INVALID)


def _without_iat(account) -> str:
    now = int(time.time())
    return jwt.encode({"userId": account["id"], "email": account["email"], "exp": now + 3600}, LEGACY_SECRET)


@pytest.mark.parametrize(
    "make",
    [
        lambda account: legacy_token(account["id"], account["email"], secret="another-secret-that-is-long-enough-x"),
        lambda account: legacy_token(account["id"], account["email"], lifetime=7000),  # expired minutes ago
        _without_iat,
        lambda account: legacy_token(account["id"], account["email"], lifetime=48 * 3600),
        lambda account: legacy_token(account["id"], account["email"], issued_at=CUTOVER),
        lambda account: legacy_token(account["id"], account["email"], issued_at=int(time.time()) - 60),
    ],
    ids=["wrong-secret", "expired", "no-iat", "longer-than-the-monoliths-24h", "at-the-cutover", "after-the-cutover"],
)
def test_a_bad_monolith_token_is_refused_even_with_the_secret(legacy_system, make):
    system, _ = legacy_system
    account = new_account(system.gateway_url, "legacy-bad")

    assert call(system.gateway_url, "GET", "/api/profile", token=make(account))[0::2] == (403, INVALID)


def test_without_the_secret_a_monolith_token_is_refused(gateway):
    account = new_account(gateway, "no-legacy")
    token = legacy_token(account["id"], account["email"])

    assert call(gateway, "GET", "/api/profile", token=token)[0::2] == (403, INVALID)


# REVOCATION FAILS CLOSED when Redis stops
# ------------------------------------------------------------------------------


def test_with_redis_stopped_protected_routes_are_503_and_come_back_with_it(own_system):
    system, _ = own_system
    gateway = system.gateway_url
    account = new_account(gateway, "redis-down")
    assert profile_status(gateway, account["token"]) == 200

    system.stop_process("redis")
    try:
        assert call(gateway, "GET", "/api/profile", token=account["token"])[0::2] == (
            503,
            {"error": "Service unavailable"},
        )
        # Refusing a token needs no Redis; and the rate limits let the rest through (fail open).
        assert call(gateway, "GET", "/api/profile", token="garbage")[0::2] == (403, INVALID)
        assert call(gateway, "GET", "/api/profile")[0::2] == (401, REQUIRED)
        assert request(f"{gateway}/health")[0] == 200
        status, _, _ = call(gateway, "GET", "/api/.well-known/jwks.json")
        assert status == 200
    finally:
        system.start_process("redis")
    wait_for_status(f"{gateway}/api/health", 200)
    assert profile_status(gateway, account["token"]) == 200


# RATE LIMITS
# ------------------------------------------------------------------------------


def test_logins_to_one_account_beyond_its_limit_are_429_with_retry_after(gateway):
    # tests/conftest.py gives every system a per-account login limit of 5 a day.
    email = unique_email("limited")
    other = new_account(gateway, "unlimited")
    statuses = [login(gateway, email, "Wrong-Password-1")[0] for _ in range(5)]

    status, headers, body = call(gateway, "POST", "/api/login", {"email": email.upper(), "password": PASSWORD})

    assert statuses == [401] * 5
    assert (status, body) == (429, {"error": "Too many requests"})
    assert 1 <= int(headers["Retry-After"]) <= 24 * 3600
    # Another account from the same address still logs in.
    assert login(gateway, other["email"])[0] == 200


def test_an_address_respelt_or_a_change_of_password_is_no_fresh_guess_at_the_gateway(gateway):
    account = new_account(gateway, "respelt")  # its login is the first of its 5 a day
    local, domain = account["email"].split("@")
    spellings = [f"  {account['email'].upper()}  ", f"\t{local}@{domain.upper()}\n"]
    statuses = [login(gateway, email, "Wrong-Password-1")[0] for email in spellings]
    utf16 = json.dumps({"email": account["email"] + " ", "password": "Wrong-Password-1"}).encode("utf-16")
    statuses.append(
        call_raw(gateway, "POST", "/api/login", utf16, headers={"Content-Type": "application/json; charset=utf-16"})[0]
    )
    wrong_current = {"currentPassword": "Wrong-Password-1", "newPassword": "Another-Long-Password-7"}
    statuses.append(call(gateway, "PUT", "/api/change-password", wrong_current, token=account["token"])[0])

    assert statuses == [401, 401, 401, 401]
    assert call(gateway, "PUT", "/api/change-password", wrong_current, token=account["token"])[0] == 429
    assert login(gateway, account["email"])[0] == 429


# EVERY ERROR IS JSON: malformed bodies, unknown routes, wrong methods
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, needs_token",
    [
        ("POST", "/api/login", False),
        ("POST", "/api/register", False),
        ("POST", "/api/token/refresh", False),
        ("PUT", "/api/profile", True),
        ("PUT", "/api/profile/preferences", True),
        ("PUT", "/api/change-password", True),
        ("POST", "/api/logout", True),
    ],
)
def test_malformed_json_is_a_json_400(gateway, method, path, needs_token):
    token = new_account(gateway, "malformed")["token"] if needs_token else None

    status, headers, body = call(gateway, method, path, b'{"email": "a@b.c", oops', token=token)

    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert isinstance(body, dict) and ("error" in body or "errors" in body)


@pytest.mark.parametrize(
    "path", ["/nothing/here", "/api/nope", "/api/login/extra", "/api/register/extra", "/api/token/refresh/x"]
)
def test_unknown_routes_are_json_404s(gateway, path):
    status, headers, body = call(gateway, "GET", path)

    assert (status, body) == (404, {"error": "Not found"})
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "method, path, needs_token",
    [
        ("GET", "/api/login", False),
        ("GET", "/api/register", False),
        ("GET", "/api/token/refresh", False),
        ("POST", "/api/health", False),
        ("POST", "/api/schema/", False),
        ("DELETE", "/api/profile", True),
        ("POST", "/api/profile/preferences", True),
        ("GET", "/api/logout", True),
        ("POST", "/api/change-password", True),
    ],
)
def test_wrong_methods_are_json_405s(gateway, method, path, needs_token):
    token = new_account(gateway, "method")["token"] if needs_token else None

    status, headers, body = call(gateway, method, path, {} if method != "GET" else None, token=token)

    assert (status, body) == (405, {"error": "Method not allowed"})
    assert headers["Content-Type"] == "application/json"
    assert headers["Allow"]


# PREFERENCES
# ------------------------------------------------------------------------------


def test_preferences_have_defaults_and_can_be_changed(gateway):
    account = new_account(gateway, "prefs")

    status, _, body = call(gateway, "GET", "/api/profile/preferences", token=account["token"])
    assert status == 200
    assert body["preferences"] == {"theme": "light", "language": "en", "notifications_enabled": True}

    status, _, body = call(
        gateway,
        "PUT",
        "/api/profile/preferences",
        {"theme": "dark", "notifications_enabled": False},
        token=account["token"],
    )
    assert status == 200, body
    assert body["preferences"] == {"theme": "dark", "language": "en", "notifications_enabled": False}
    status, _, body = call(gateway, "PUT", "/api/profile/preferences", {"language": "pt-BR"}, token=account["token"])
    assert (status, body["preferences"]["language"]) == (200, "pt-BR")
    status, _, body = call(gateway, "GET", "/api/profile/preferences", token=account["token"])
    assert body["preferences"] == {"theme": "dark", "language": "pt-BR", "notifications_enabled": False}


def test_invalid_preferences_are_a_400_validation_error(gateway):
    account = new_account(gateway, "prefs-bad")

    status, _, body = call(gateway, "PUT", "/api/profile/preferences", {"theme": "purple"}, token=account["token"])

    assert status == 400
    assert body["errors"][0]["path"] == "theme"
    _, _, body = call(gateway, "GET", "/api/profile/preferences", token=account["token"])
    assert body["preferences"]["theme"] == "light"


def test_preferences_need_a_token(gateway):
    assert call(gateway, "GET", "/api/profile/preferences")[0::2] == (401, REQUIRED)
    assert call(gateway, "PUT", "/api/profile/preferences", {"theme": "dark"}, token="x.y.z")[0::2] == (403, INVALID)


def test_each_users_preferences_are_their_own(gateway):
    first, second = new_account(gateway, "prefs-a"), new_account(gateway, "prefs-b")
    call(gateway, "PUT", "/api/profile/preferences", {"theme": "dark"}, token=first["token"])

    assert call(gateway, "GET", "/api/profile/preferences", token=second["token"])[2]["preferences"]["theme"] == "light"
