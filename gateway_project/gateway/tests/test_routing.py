"""The route table: which upstream owns a public path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from gateway import routing
from gateway.routing import RESOLVED_PATHS_MAX, balancers, resolve, upstreams_in_use, validate_routes

from .tokens import access_token, bearer

UPSTREAMS = {
    "users": "http://users.internal:8001",
    "auth": "http://auth.internal:8002/",
    "legacy": "http://legacy.internal:3000",
}
PROJECT_DIR = Path(__file__).resolve().parents[2]


def owner(path: str) -> str | None:
    route = resolve(path)
    return route.upstream if route else None


@pytest.mark.parametrize("reverse", [False, True], ids=["shortest-first", "longest-first"])
def test_the_longest_matching_prefix_wins_whatever_the_table_order(reverse):
    routes = {"/api": "legacy", "/api/profile": "users", "/api/profile/preferences": "auth"}
    if reverse:
        routes = dict(reversed(list(routes.items())))
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES=routes):
        assert owner("/api/profile/preferences/theme") == "auth"
        assert owner("/api/profile/preferences") == "auth"
        assert owner("/api/profile/avatar") == "users"
        assert owner("/api/profile") == "users"
        assert owner("/api/login") == "legacy"
        assert owner("/api") == "legacy"


def test_a_prefix_matches_whole_segments_only():
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES={"/api/profile": "users"}):
        assert owner("/api/profile") == "users"
        assert owner("/api/profile/") == "users"
        assert owner("/api/profile/preferences") == "users"
        assert owner("/api/profiles") is None
        assert owner("/api/profile-picture") is None
        assert owner("/api/profilex/preferences") is None


def test_a_segment_that_only_starts_like_a_longer_prefix_falls_back_to_the_shorter_one():
    routes = {"/api": "legacy", "/api/profile": "users"}
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES=routes):
        assert owner("/api/profiles") == "legacy"


@pytest.mark.parametrize("path", ["/", "/apis", "/ap", "/other/api/profile", "/API/profile", ""])
def test_a_path_no_prefix_owns_resolves_to_none(path):
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES={"/api/profile": "users", "/api": "legacy"}):
        assert resolve(path) is None


def addresses_of(route) -> list[str]:
    return [address.url for address in route.balancer.addresses]


def test_a_route_carries_its_upstream_base_url_without_trailing_slash():
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES={"/api/login": "auth"}):
        route = resolve("/api/login")
    assert (route.prefix, route.upstream, addresses_of(route)) == ("/api/login", "auth", ["http://auth.internal:8002"])


@pytest.mark.parametrize(
    "configured",
    [
        "http://users-1:8001, http://users-2:8001/,",
        ["http://users-1:8001", "http://users-2:8001/"],
    ],
    ids=["comma-separated", "list"],
)
def test_an_upstream_may_have_several_base_urls(configured):
    with override_settings(GATEWAY_UPSTREAMS={"users": configured}, GATEWAY_ROUTES={"/api/profile": "users"}):
        route = resolve("/api/profile")
        assert addresses_of(route) == ["http://users-1:8001", "http://users-2:8001"]
        # One balancer per upstream, whichever route leads to it.
        assert route.balancer is balancers()["users"]


def test_routes_to_one_upstream_share_its_balancer():
    routes = {"/api/login": "auth", "/api/logout": {"upstream": "auth", "auth": "token"}}
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES=routes):
        assert resolve("/api/login").balancer is resolve("/api/logout").balancer


def test_upstreams_in_use_are_only_those_a_route_points_at():
    routes = {"/api/login": "auth", "/api/logout": "auth", "/api/profile": "users"}
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES=routes):
        in_use = upstreams_in_use()
        assert {name: [a.url for a in balancer.addresses] for name, balancer in in_use.items()} == {
            "auth": ["http://auth.internal:8002"],
            "users": ["http://users.internal:8001"],
        }


@pytest.mark.parametrize(
    "path",
    ["/metrics", "/metrics/", "/metrics/x", "/api/profile/../../metrics", "/api/./../metrics/x", "/static/../metrics"],
)
def test_a_reserved_path_is_never_routed_even_under_a_catch_all_route(path):
    routes = {"/": "legacy", "/api/profile": "users", "/static": "users"}
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES=routes):
        assert resolve(path) is None


@pytest.mark.parametrize("path", ["/metricsx", "/api/metrics", "/api/profile/metrics", "/api/profile/./x"])
def test_paths_that_only_look_like_reserved_ones_are_routed(path):
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES={"/": "legacy", "/api/profile": "users"}):
        assert resolve(path) is not None


def test_overridden_settings_reach_the_cached_table():
    """The table is cached; conftest resets it on every change of settings, which all tests here rely on."""
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES={"/api/login": "auth"}):
        assert owner("/api/login") == "auth"
        with override_settings(GATEWAY_ROUTES={"/api/login": "legacy"}):
            assert owner("/api/login") == "legacy"
        assert owner("/api/login") == "auth"


def test_a_path_resolves_the_same_when_asked_again_and_remembered_paths_are_bounded():
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES={"/api": "users", "/api/login": "auth"}):
        assert [owner("/api/login"), owner("/api/login"), owner("/metrics"), owner("/metrics")] == [
            "auth",
            "auth",
            None,
            None,
        ]
        for number in range(RESOLVED_PATHS_MAX + 10):
            assert owner(f"/api/item/{number}") == "users"
        assert len(routing._resolved[1]) <= RESOLVED_PATHS_MAX
        assert owner("/api/login") == "auth"


# VALIDATION
# ------------------------------------------------------------------------------


def test_the_shipped_table_is_valid():
    assert validate_routes(settings.GATEWAY_ROUTES, settings.GATEWAY_UPSTREAMS) == []


def test_a_valid_table_has_no_problems():
    assert validate_routes({"/api/login": "auth", "/api/profile": "users"}, UPSTREAMS) == []


def test_a_route_says_whether_it_needs_a_token_and_whether_its_upstream_is_signed_for():
    routes = {
        "/api/profile": {"upstream": "users", "auth": "token"},
        "/api/login": "auth",
        "/api/old": {"upstream": "legacy", "auth": "token"},
        "/api/older": "legacy",
    }
    with override_settings(GATEWAY_UPSTREAMS=UPSTREAMS, GATEWAY_ROUTES=routes):
        assert (resolve("/api/profile/preferences").token_required, resolve("/api/profile").signed) == (True, True)
        assert (resolve("/api/login").token_required, resolve("/api/login").signed) == (False, True)
        assert (resolve("/api/old").token_required, resolve("/api/old").signed) == (True, False)
        assert (resolve("/api/older").token_required, resolve("/api/older").signed) == (False, False)


def test_the_shipped_table_protects_the_legacy_token_endpoints():
    protected = {prefix for prefix in settings.GATEWAY_ROUTES if resolve(prefix).token_required}
    assert protected == {"/api/profile", "/api/logout", "/api/change-password"}


def test_validation_reports_an_unknown_auth_mode():
    routes = {"/api/x": {"upstream": "users", "auth": "maybe"}, "/api/y": {"auth": "token"}}
    assert validate_routes(routes, UPSTREAMS) == [
        "route '/api/x' has unknown auth mode 'maybe'",
        "route '/api/y' points at unknown upstream None",
    ]


def test_validation_reports_a_reserved_prefix():
    assert validate_routes({"/metrics": "users", "/metrics/x": "users"}, UPSTREAMS) == [
        "route prefix '/metrics' is reserved: the gateway never forwards it",
        "route prefix '/metrics/x' is reserved: the gateway never forwards it",
    ]


def test_validation_reports_upstreams_without_a_usable_url():
    upstreams = {"users": " , ", "auth": "http://auth:8000,auth:8000", "legacy": ["ftp://legacy", "http://"]}
    assert validate_routes({}, upstreams) == [
        "upstream 'users' has no URL",
        "upstream 'auth': 'auth:8000' is not an http:// or https:// URL with a host",
        "upstream 'legacy': 'ftp://legacy' is not an http:// or https:// URL with a host",
        "upstream 'legacy': 'http:' is not an http:// or https:// URL with a host",
    ]


def test_validation_reports_bad_prefixes_and_unknown_upstreams():
    problems = validate_routes(
        {"api/login": "auth", "/api/profile": "billing", "static": "nowhere", "/admin": "users"},
        {"users": "http://u", "auth": "http://a"},
    )
    assert sorted(problems) == sorted(
        [
            "route prefix 'api/login' must start with '/'",
            "route '/api/profile' points at unknown upstream 'billing'",
            "route prefix 'static' must start with '/'",
            "route 'static' points at unknown upstream 'nowhere'",
        ]
    )


# CUTOVER: moving prefixes to the legacy monolith from the environment
# ------------------------------------------------------------------------------


def settings_from_environment(**variables: str) -> dict:
    """``GATEWAY_UPSTREAMS`` and ``GATEWAY_ROUTES`` as the settings compute them from ``variables``."""
    unset = ("GATEWAY_ROUTE_OVERRIDES", "LEGACY_UPSTREAM_URL")
    environment = {key: value for key, value in os.environ.items() if key not in unset}
    script = (
        "import json; from config.settings import base; "
        "print(json.dumps({'upstreams': base.GATEWAY_UPSTREAMS, 'routes': base.GATEWAY_ROUTES}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env={**environment, **variables},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_route_overrides_move_prefixes_to_the_legacy_upstream(client, start_upstream):
    users, auth, legacy = start_upstream(), start_upstream(), start_upstream()
    configured = settings_from_environment(
        USERS_SERVICE_URL=users.url,
        AUTH_SERVICE_URL=auth.url,
        LEGACY_UPSTREAM_URL=legacy.url,
        GATEWAY_ROUTE_OVERRIDES="/api/login=legacy,/api/register=legacy",
    )
    assert configured["upstreams"] == {"users": [users.url], "auth": [auth.url], "legacy": [legacy.url]}
    assert configured["routes"]["/api/login"] == "legacy"
    assert configured["routes"]["/api/register"] == "legacy"
    assert configured["routes"]["/api/logout"] == {"upstream": "auth", "auth": "token"}
    assert validate_routes(configured["routes"], configured["upstreams"]) == []

    with override_settings(GATEWAY_UPSTREAMS=configured["upstreams"], GATEWAY_ROUTES=configured["routes"]):
        for path in ("/api/login", "/api/register"):
            assert client.post(path, data={}, content_type="application/json").status_code == 200
        for path in ("/api/logout", "/api/profile"):  # token-protected
            response = client.post(path, data={}, content_type="application/json", headers=bearer(access_token()))
            assert response.status_code == 200

    assert [received.target for received in legacy.received] == ["/api/login", "/api/register"]
    assert [received.target for received in auth.received] == ["/api/logout"]
    assert [received.target for received in users.received] == ["/api/profile"]


def test_a_protected_prefix_moved_to_the_legacy_upstream_stays_protected(client, start_upstream):
    users, auth, legacy = start_upstream(), start_upstream(), start_upstream()
    configured = settings_from_environment(
        USERS_SERVICE_URL=users.url,
        AUTH_SERVICE_URL=auth.url,
        LEGACY_UPSTREAM_URL=legacy.url,
        GATEWAY_ROUTE_OVERRIDES="/api/profile=legacy,/api/new-thing=legacy",
    )
    assert configured["routes"]["/api/profile"] == {"upstream": "legacy", "auth": "token"}
    # A prefix the table did not have is public.
    assert configured["routes"]["/api/new-thing"] == "legacy"
    assert validate_routes(configured["routes"], configured["upstreams"]) == []

    token = access_token()
    with override_settings(GATEWAY_UPSTREAMS=configured["upstreams"], GATEWAY_ROUTES=configured["routes"]):
        refused = client.get("/api/profile")
        accepted = client.get("/api/profile", headers=bearer(token))

    assert (refused.status_code, refused.json()) == (401, {"error": "Access token required"})
    assert accepted.status_code == 200
    [received] = legacy.received
    # The monolith checks the token itself, and never sees the services' credential.
    assert received.header("Authorization") == f"Bearer {token}"
    assert received.header("X-Internal-Auth") is None
    assert users.received == []


def test_without_overrides_there_is_no_legacy_upstream():
    configured = settings_from_environment()
    assert "legacy" not in configured["upstreams"]
    assert "legacy" not in configured["routes"].values()
    assert validate_routes(configured["routes"], configured["upstreams"]) == []


def test_an_override_to_legacy_without_its_url_is_reported():
    configured = settings_from_environment(GATEWAY_ROUTE_OVERRIDES="/api/login=legacy")
    assert validate_routes(configured["routes"], configured["upstreams"]) == [
        "route '/api/login' points at unknown upstream 'legacy'"
    ]


def test_service_urls_from_the_environment_may_list_several_addresses():
    configured = settings_from_environment(
        USERS_SERVICE_URL="http://users-1:8000,http://users-2:8000", AUTH_SERVICE_URL="http://auth:8000"
    )
    assert configured["upstreams"] == {"users": ["http://users-1:8000", "http://users-2:8000"], "auth": ["http://auth:8000"]}
    assert validate_routes(configured["routes"], configured["upstreams"]) == []


def test_manage_py_check_reports_every_problem_of_the_table():
    from gateway.checks import route_table_check

    with override_settings(GATEWAY_UPSTREAMS={"users": "http://users:8000,users-2:8000"}, GATEWAY_ROUTES={"/metrics": "users"}):
        errors = route_table_check(None)

    assert [(error.id, error.msg) for error in errors] == [
        ("gateway.E001", "route prefix '/metrics' is reserved: the gateway never forwards it"),
        ("gateway.E001", "upstream 'users': 'users-2:8000' is not an http:// or https:// URL with a host"),
    ]
    assert route_table_check(None) == []
