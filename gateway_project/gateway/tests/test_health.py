"""``GET /api/health``: the legacy answer plus every upstream's readiness and the gateway's Redis."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from django.test import override_settings

from gateway import routing

from .conftest import json_answer

ROUTES = {"/api/profile": "users", "/api/login": "auth"}
USERS_CHECKS = {"database:users": {"status": "up"}, "redis": {"status": "up"}}
AUTH_CHECKS = {"database:auth": {"status": "up"}, "redis": {"status": "up"}}


def ready(checks: dict):
    """An upstream whose ``/ready`` says it is ready."""
    return lambda received: json_answer(200, {"status": "ready", "service": "x", "checks": checks})


def not_ready(checks: dict):
    return lambda received: json_answer(503, {"status": "unavailable", "service": "x", "checks": checks})


def health_settings(users_url: str, auth_url: str, redis: str, **extra):
    return override_settings(
        GATEWAY_UPSTREAMS={"users": users_url, "auth": auth_url},
        GATEWAY_ROUTES=ROUTES,
        REDIS_URL=redis,
        **extra,
    )


def single(state: dict) -> dict:
    """How an upstream with one address is reported: its state, and the same as its only instance."""
    return {**state, "instances": [{"instance": 1, **state}]}


def assert_timestamp(value: str) -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", value), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timezone.utc.utcoffset(None)


def test_everything_up_is_200_ok_with_each_part(client, start_upstream, redis_url):
    users, auth = start_upstream(ready(USERS_CHECKS)), start_upstream(ready(AUTH_CHECKS))
    with health_settings(users.url, auth.url, redis_url):
        response = client.get("/api/health")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert_timestamp(body.pop("timestamp"))
    assert body == {
        "status": "OK",
        "services": {
            "users": single({"status": "up", "checks": USERS_CHECKS}),
            "auth": single({"status": "up", "checks": AUTH_CHECKS}),
        },
        "dependencies": {"redis": {"status": "up"}},
    }
    assert [(r.method, r.target) for r in users.received] == [("GET", "/ready")]
    assert [(r.method, r.target) for r in auth.received] == [("GET", "/ready")]


def test_an_upstream_that_is_not_ready_makes_it_503(client, start_upstream, redis_url):
    failing = {"database:users": {"status": "down", "error": "unapplied migrations"}, "redis": {"status": "up"}}
    users, auth = start_upstream(not_ready(failing)), start_upstream(ready(AUTH_CHECKS))
    with health_settings(users.url, auth.url, redis_url):
        response = client.get("/api/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] != "OK"
    assert_timestamp(body["timestamp"])
    assert body["services"]["users"] == single({"status": "down", "checks": failing})
    assert body["services"]["auth"] == single({"status": "up", "checks": AUTH_CHECKS})
    assert body["dependencies"] == {"redis": {"status": "up"}}


def test_an_upstream_that_hangs_is_down_and_the_answer_still_comes(client, start_upstream, redis_url):
    users, auth = start_upstream(kind="hang"), start_upstream(ready(AUTH_CHECKS))
    with health_settings(users.url, auth.url, redis_url, GATEWAY_HEALTH_TIMEOUT=0.3):
        response = client.get("/api/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] != "OK"
    # The gateway gave up waiting (the hanging upstream never closes first).
    assert body["services"]["users"] in (
        single({"status": "down", "error": "unreachable: ReadTimeoutError"}),
        single({"status": "down", "error": "no answer in time"}),
    )
    assert body["services"]["auth"] == single({"status": "up", "checks": AUTH_CHECKS})
    assert body["dependencies"] == {"redis": {"status": "up"}}
    assert users.connections_accepted == 1


def test_an_upstream_nobody_listens_on_is_down(client, start_upstream, closed_url, redis_url):
    auth = start_upstream(ready(AUTH_CHECKS))
    with health_settings(closed_url, auth.url, redis_url):
        response = client.get("/api/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] != "OK"
    assert body["services"]["users"]["status"] == "down"
    assert body["services"]["auth"]["status"] == "up"


@pytest.mark.parametrize(
    "respond",
    [
        lambda received: (200, [("Content-Type", "text/html")], b"<html>It works!</html>"),
        lambda received: json_answer(200, ["not", "an", "object"]),
    ],
    ids=["html", "json-list"],
)
def test_an_upstream_answering_something_else_than_a_readiness_report_is_down(
    client, start_upstream, redis_url, respond
):
    users, auth = start_upstream(respond), start_upstream(ready(AUTH_CHECKS))
    with health_settings(users.url, auth.url, redis_url):
        response = client.get("/api/health")

    assert response.status_code == 503
    assert response.json()["services"]["users"] == single({"status": "down", "error": "unexpected answer (HTTP 200)"})


def test_an_upstream_answering_garbage_is_down(client, start_upstream, redis_url):
    users, auth = start_upstream(kind="garbage"), start_upstream(ready(AUTH_CHECKS))
    with health_settings(users.url, auth.url, redis_url):
        response = client.get("/api/health")

    assert response.status_code == 503
    assert response.json()["services"]["users"]["status"] == "down"
    assert response.json()["services"]["auth"]["status"] == "up"


def test_redis_unreachable_makes_it_503_naming_redis(client, start_upstream, unreachable_redis_url):
    users, auth = start_upstream(ready(USERS_CHECKS)), start_upstream(ready(AUTH_CHECKS))
    with health_settings(users.url, auth.url, unreachable_redis_url):
        response = client.get("/api/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] != "OK"
    assert body["dependencies"]["redis"]["status"] == "down"
    assert "unreachable" in body["dependencies"]["redis"]["error"]
    assert body["services"]["users"]["status"] == "up"
    assert body["services"]["auth"]["status"] == "up"


def test_an_upstream_no_route_uses_is_not_checked(client, start_upstream, redis_url):
    users, auth = start_upstream(ready(USERS_CHECKS)), start_upstream(ready(AUTH_CHECKS))
    unused = start_upstream(kind="hang")
    with override_settings(
        GATEWAY_UPSTREAMS={"users": users.url, "auth": auth.url, "legacy": unused.url},
        GATEWAY_ROUTES=ROUTES,
        REDIS_URL=redis_url,
    ):
        response = client.get("/api/health")

    assert response.status_code == 200
    assert set(response.json()["services"]) == {"users", "auth"}
    assert unused.connections_accepted == 0


def test_head_is_answered_and_other_methods_are_refused_as_json(client, start_upstream, redis_url):
    users, auth = start_upstream(ready(USERS_CHECKS)), start_upstream(ready(AUTH_CHECKS))
    with health_settings(users.url, auth.url, redis_url):
        head = client.head("/api/health")
        post = client.post("/api/health")

    assert head.status_code == 200
    assert post.status_code == 405
    assert post["Allow"] == "GET, HEAD"
    assert post.json() == {"error": "Method not allowed"}
    # /api/health is the gateway's own: nothing is proxied for it.
    assert [r.target for r in users.received + auth.received] == ["/ready", "/ready"]


# SEVERAL ADDRESSES PER UPSTREAM
# ------------------------------------------------------------------------------


def test_each_address_of_an_upstream_is_checked_and_reported_in_order(client, start_upstream, redis_url):
    users_1, users_2, auth = start_upstream(ready(USERS_CHECKS)), start_upstream(ready(USERS_CHECKS)), start_upstream(
        ready(AUTH_CHECKS)
    )
    with health_settings(f"{users_1.url},{users_2.url}", auth.url, redis_url):
        response = client.get("/api/health")

    assert response.status_code == 200
    assert response.json()["services"]["users"] == {
        "status": "up",
        "checks": USERS_CHECKS,
        "instances": [
            {"instance": 1, "status": "up", "checks": USERS_CHECKS},
            {"instance": 2, "status": "up", "checks": USERS_CHECKS},
        ],
    }
    assert [r.target for r in users_1.received] == ["/ready"]
    assert [r.target for r in users_2.received] == ["/ready"]


def test_an_upstream_with_one_address_down_is_up_and_names_the_one_down(client, start_upstream, closed_url, redis_url):
    users, auth = start_upstream(ready(USERS_CHECKS)), start_upstream(ready(AUTH_CHECKS))
    with health_settings(f"{closed_url},{users.url}", auth.url, redis_url):
        response = client.get("/api/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "OK"
    state = body["services"]["users"]
    assert (state["status"], state["checks"]) == ("up", USERS_CHECKS)
    assert state["instances"] == [
        {"instance": 1, "status": "down", "error": "unreachable: NewConnectionError"},
        {"instance": 2, "status": "up", "checks": USERS_CHECKS},
    ]
    # The answer is public: the internal addresses are not in it.
    assert closed_url.split("//")[1] not in response.content.decode()
    assert users.url.split("//")[1] not in response.content.decode()


def test_an_upstream_with_every_address_down_is_down(client, start_upstream, closed_url, redis_url):
    not_ready_users = start_upstream(not_ready({"redis": {"status": "down", "error": "unreachable: ConnectionError"}}))
    auth = start_upstream(ready(AUTH_CHECKS))
    with health_settings(f"{closed_url},{not_ready_users.url}", auth.url, redis_url):
        response = client.get("/api/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "UNAVAILABLE"
    assert body["services"]["users"]["status"] == "down"
    assert [instance["status"] for instance in body["services"]["users"]["instances"]] == ["down", "down"]


def monolith(received):
    """The legacy monolith: no /ready (its 404 is HTML), ``{"status": "OK"}`` at /api/health."""
    if received.target == "/api/health":
        return json_answer(200, {"status": "OK", "timestamp": "2026-01-01T00:00:00.000Z"})
    return 404, [("Content-Type", "text/html")], b"<pre>Cannot GET</pre>"


def test_the_monolith_is_checked_at_its_own_health_path_beside_the_services(client, start_upstream, redis_url):
    users, auth, legacy = start_upstream(ready(USERS_CHECKS)), start_upstream(ready(AUTH_CHECKS)), start_upstream(monolith)
    with override_settings(
        GATEWAY_UPSTREAMS={"users": users.url, "auth": auth.url, "legacy": legacy.url},
        GATEWAY_ROUTES={**ROUTES, "/api/register": "legacy"},
        REDIS_URL=redis_url,
    ):
        response = client.get("/api/health")

    assert response.status_code == 200, response.json()
    assert response.json()["services"]["legacy"] == single({"status": "up"})
    assert [received.target for received in legacy.received] == ["/api/health"]
    assert {received.target for received in users.received} == {"/ready"}


def test_a_monolith_whose_health_path_fails_is_down(client, start_upstream, redis_url):
    users, auth = start_upstream(ready(USERS_CHECKS)), start_upstream(ready(AUTH_CHECKS))
    legacy = start_upstream(lambda received: json_answer(500, {"error": "Internal server error"}))
    with override_settings(
        GATEWAY_UPSTREAMS={"users": users.url, "auth": auth.url, "legacy": legacy.url},
        GATEWAY_ROUTES={"/api/profile": "users", "/api/login": "legacy"},
        REDIS_URL=redis_url,
    ):
        response = client.get("/api/health")

    assert response.status_code == 503
    assert response.json()["services"]["legacy"]["status"] == "down"
    assert "auth" not in response.json()["services"]


def test_a_health_path_must_start_with_a_slash():
    problems = routing.validate_routes({"/api/login": "legacy"}, {"legacy": "http://127.0.0.1:3900"}, {"legacy": "api/health"})

    assert problems == ["upstream 'legacy': health path 'api/health' must start with '/'"]
