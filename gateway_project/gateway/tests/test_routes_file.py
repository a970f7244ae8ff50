"""The cutover's routes file: re-read without a restart, frozen routes, and ``manage.py routes`` enforcing the order."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from common import cutover
from gateway import routing

from .conftest import echo

SERVICE_ROUTES = {
    "/api/register": "users",
    "/api/profile": {"upstream": "users", "auth": "token", "edge": True},
    "/api/login": "auth",
    "/api/change-password": {"upstream": "auth", "auth": "token"},
}
LEGACY_ROUTES = {
    "/api/register": "legacy",
    "/api/profile": {"upstream": "legacy", "auth": "token"},
    "/api/login": "legacy",
    "/api/change-password": {"upstream": "legacy", "auth": "token"},
}


@pytest.fixture
def routes_file(tmp_path, monkeypatch):
    """A routes file the gateway looks at on every request (no second's wait in a test)."""
    monkeypatch.setattr(routing, "ROUTES_FILE_CHECK_SECONDS", 0.0)
    return tmp_path / "cutover" / "routes.json"


@pytest.fixture
def cutover_settings(routes_file, start_upstream):
    """Phase 1: every legacy route on the monolith (an echoing upstream each: users, auth, legacy)."""
    users, auth, legacy = start_upstream(echo), start_upstream(echo), start_upstream(echo)
    with override_settings(
        GATEWAY_UPSTREAMS={"users": users.url, "auth": auth.url, "legacy": legacy.url},
        GATEWAY_SERVICE_ROUTES=SERVICE_ROUTES,
        GATEWAY_ROUTES=LEGACY_ROUTES,
        GATEWAY_ROUTES_FILE=str(routes_file),
        CUTOVER_FREEZE_SETTLE_SECONDS=0.0,
    ):
        yield {"users": users, "auth": auth, "legacy": legacy}


def routes(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("routes", *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def owner(path: str) -> str:
    return routing.resolve(path).upstream


def final_catchups(routes_file, at: float | None = None) -> None:
    for service in cutover.IMPORT_SERVICES:
        cutover.record_final_catchup(routes_file, service, at if at is not None else cutover.now())


def test_a_route_moved_in_the_file_is_used_without_a_restart_and_keeps_its_token_check(cutover_settings, routes_file):
    assert owner("/api/profile") == "legacy"
    routes_file.parent.mkdir(parents=True)
    routes_file.write_text(json.dumps({"routes": {"/api/profile": "users"}}))

    route = routing.resolve("/api/profile/preferences")
    assert (route.upstream, route.token_required, route.edge, route.signed) == ("users", True, True, True)
    assert owner("/api/profile") == "users"  # a path resolved before is resolved in the new table
    assert owner("/api/login") == "legacy"


def test_the_file_is_looked_at_at_most_once_a_second_per_worker(cutover_settings, routes_file, monkeypatch):
    monkeypatch.setattr(routing, "ROUTES_FILE_CHECK_SECONDS", 3600.0)
    assert owner("/api/login") == "legacy"
    routes_file.parent.mkdir(parents=True)
    routes_file.write_text(json.dumps({"routes": {"/api/login": "auth"}}))

    assert owner("/api/login") == "legacy"  # not looked at again yet


@pytest.mark.parametrize(
    "content",
    ["{not json", json.dumps({"routes": {"/api/login": "nowhere"}}), json.dumps({"frozen": {"/nope": 1.0}})],
    ids=["not-json", "unknown-upstream", "unknown-frozen-route"],
)
def test_a_file_that_is_not_a_valid_table_is_refused_and_the_table_in_use_stays(
    cutover_settings, routes_file, content, caplog
):
    routes_file.parent.mkdir(parents=True)
    routes_file.write_text(json.dumps({"routes": {"/api/login": "auth"}}))
    assert owner("/api/login") == "auth"

    routes_file.write_text(content)

    assert owner("/api/login") == "auth"
    assert any(record.getMessage() == "routes file refused, the table in use stays" for record in caplog.records)


def test_a_frozen_route_answers_writes_503_with_retry_after_and_forwards_reads(client, cutover_settings, routes_file):
    routes("freeze", "/api/register")

    response = client.post("/api/register", {"email": "a@example.com"}, content_type="application/json")
    assert response.status_code == 503
    assert response.json() == {"error": "Service unavailable"}
    assert response["Retry-After"] == "5"
    assert cutover_settings["legacy"].received == []

    assert client.get("/api/register").status_code == 200
    assert [received.method for received in cutover_settings["legacy"].received] == ["GET"]


def test_the_whole_order_freeze_final_move_thaw(cutover_settings, routes_file):
    routes("freeze", *cutover.WRITE_ROUTES)
    final_catchups(routes_file)
    for prefix in ("/api/profile", "/api/change-password", "/api/login", "/api/register"):
        routes("move", prefix, "--to", "services")
    routes("thaw", *cutover.WRITE_ROUTES)

    assert {prefix: owner(prefix) for prefix in SERVICE_ROUTES} == {
        "/api/register": "users", "/api/profile": "users", "/api/login": "auth", "/api/change-password": "auth"
    }
    assert not any(routing.resolve(prefix).frozen for prefix in SERVICE_ROUTES)
    assert "final catch-up (users)" in routes("show")


def test_nothing_moves_before_the_writing_routes_are_frozen(cutover_settings, routes_file):
    routes("freeze", "/api/register", "/api/profile")
    final_catchups(routes_file)

    with pytest.raises(CommandError, match="not frozen: /api/change-password"):
        routes("move", "/api/profile", "--to", "services")
    assert owner("/api/profile") == "legacy"


def test_nothing_moves_without_a_final_catch_up_after_the_last_freeze(cutover_settings, routes_file):
    final_catchups(routes_file, at=cutover.now() - 60)
    routes("freeze", *cutover.WRITE_ROUTES)

    with pytest.raises(CommandError, match="no final catch-up since the last freeze for users, auth"):
        routes("move", "/api/profile", "--to", "services")


def test_logins_move_only_once_no_token_route_is_left_on_the_monolith(cutover_settings, routes_file):
    routes("freeze", *cutover.WRITE_ROUTES)
    final_catchups(routes_file)
    routes("move", "/api/profile", "--to", "services")

    with pytest.raises(CommandError, match="still on it: /api/change-password"):
        routes("move", "/api/login", "--to", "services")


def test_a_writing_route_on_the_services_thaws_only_once_logins_are_there(cutover_settings, routes_file):
    routes("freeze", *cutover.WRITE_ROUTES)
    final_catchups(routes_file)
    routes("move", "/api/profile", "--to", "services")

    with pytest.raises(CommandError, match="move /api/login first"):
        routes("thaw", "/api/profile")
    assert routing.resolve("/api/profile").frozen


def test_freezing_a_route_not_on_the_monolith_is_refused(cutover_settings):
    with pytest.raises(CommandError, match="not a route of the table"):
        routes("freeze", "/api/nothing-here")
    with override_settings(GATEWAY_ROUTES=SERVICE_ROUTES):
        with pytest.raises(CommandError, match="not on the monolith"):
            routes("freeze", "/api/login")


def test_a_rollback_sends_the_route_back_and_says_what_it_costs(cutover_settings, routes_file):
    routes("freeze", *cutover.WRITE_ROUTES)
    final_catchups(routes_file)
    routes("move", "/api/profile", "--to", "services")

    said = routes("move", "/api/profile", "--to", "legacy")

    assert owner("/api/profile") == "legacy"
    assert "is not in the monolith" in said


def test_a_token_route_goes_back_only_after_the_routes_handing_out_tokens(cutover_settings, routes_file):
    routes("freeze", *cutover.WRITE_ROUTES)
    final_catchups(routes_file)
    for prefix in ("/api/profile", "/api/change-password", "/api/login"):
        routes("move", prefix, "--to", "services")

    with pytest.raises(CommandError, match="/api/login still hand out"):
        routes("move", "/api/profile", "--to", "legacy")
    routes("move", "/api/login", "--to", "legacy")
    routes("move", "/api/profile", "--to", "legacy")

    assert owner("/api/profile") == "legacy"
