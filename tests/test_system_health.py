"""The running system through the gateway: health, request ids, JSON errors."""

import json
import re

from http_client import raw_request, request


def test_api_health_reports_every_part_up(running_system):
    system, _ = running_system
    status, headers, body = request(f"{system.gateway_url}/api/health")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body["status"] == "OK"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["timestamp"])
    assert set(body["services"]) == {"users", "auth"}
    for service in body["services"].values():
        assert service["status"] == "up"
        assert all(check == {"status": "up"} for check in service["checks"].values())
    assert set(body["services"]["users"]["checks"]) == {"database:default", "database:users", "redis"}
    assert set(body["services"]["auth"]["checks"]) == {"database:default", "database:credentials", "redis"}
    assert body["dependencies"] == {"redis": {"status": "up"}}


def test_each_service_answers_health_and_ready_itself(running_system):
    system, _ = running_system
    for name in ("gateway", "users", "auth"):
        assert request(f"{system.config.url(name)}/health")[:1] == (200,)
        status, _, body = request(f"{system.config.url(name)}/ready")
        assert (status, body["status"]) == (200, "ready")


def test_a_request_id_from_the_client_is_kept_and_logged_by_gateway_and_service(running_system):
    system, logs = running_system
    status, headers, content = raw_request(
        f"{system.gateway_url}/api/register/x?token=hunter2-secret", headers={"X-Request-ID": "e2e-trace-1"}
    )
    assert status == 404
    assert headers["X-Request-ID"] == "e2e-trace-1"
    entries = {}
    for name in ("gateway", "users"):
        entry = entries[name] = logs.wait_for(
            name, lambda e: e.get("request_id") == "e2e-trace-1" and e.get("message") == "request"
        )
        # gunicorn's access line, the query string left out.
        assert (entry["service"], entry["logger"], entry["method"], entry["path"], entry["status"]) == (
            name, "gunicorn.access", "GET", "/api/register/x", 404,
        )
        assert entry["duration_ms"] > 0 and entry["bytes"] > 0 and entry["remote_addr"] == "127.0.0.1"
        traced = [e for e in logs.json_lines(name) if e.get("request_id") == "e2e-trace-1"]
        assert [e["message"] for e in traced].count("request") == 1  # logged once, by gunicorn only
        assert "hunter2" not in json.dumps(traced)
    # The users service's answer, passed on unchanged.
    assert entries["gateway"]["bytes"] == entries["users"]["bytes"] == len(content)


def test_a_missing_request_id_is_generated_and_reaches_the_service(running_system):
    system, logs = running_system
    _, headers, _ = request(f"{system.gateway_url}/api/register/y")
    request_id = headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    logs.wait_for("users", lambda e: e.get("request_id") == request_id)


def test_unknown_routes_are_json_404s_at_the_gateway_and_behind_it(running_system):
    system, _ = running_system
    assert request(f"{system.gateway_url}/no/such/route")[0::2] == (404, {"error": "Not found"})
    assert request(f"{system.gateway_url}/api/register/no/such")[0::2] == (404, {"error": "Not found"})


def test_service_logs_are_json_lines_carrying_the_service_name(running_system):
    _, logs = running_system
    for name in ("gateway", "users", "auth"):
        entries = logs.json_lines(name)
        assert entries, f"no JSON log lines from {name}"
        assert {entry["service"] for entry in entries} == {name}
