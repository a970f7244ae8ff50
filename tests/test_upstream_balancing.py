"""Two running instances of the users service behind the gateway: spread, one killed, and back again."""

from __future__ import annotations

import signal
import time
import uuid

import pytest

from accounts import call, new_account, register
from common.testing import free_port
from conftest import launched_system
from http_client import request
from system import gunicorn_spec
from metrics_support import scrape, sample_value

# Seconds the gateway skips an address that refused a connection before trying it again.
COOLDOWN = 1.0


@pytest.fixture(scope="module")
def two_users_instances(tmp_path_factory):
    """A system whose gateway spreads users requests over two users gunicorns ("users", "users-2").

    The second runs the same project with the same environment (databases, Redis)
    on a port of its own. Yields ``(system, logs, second_url)``.
    """
    first, second = free_port(), free_port()
    first_url, second_url = f"http://127.0.0.1:{first}", f"http://127.0.0.1:{second}"
    extra_env = {
        "USERS_PORT": str(first),
        "USERS_SERVICE_URL": f"{first_url},{second_url}",
        "GATEWAY_UPSTREAM_COOLDOWN": str(COOLDOWN),
        # Every GET /api/profile goes to an instance: the gateway's copies would answer most of them itself.
        "GATEWAY_EDGE_READS": "false",
    }
    with launched_system(tmp_path_factory.mktemp("two-users"), embedded_redis=True, extra_env=extra_env) as (
        system,
        logs,
    ):
        system.specs["users-2"] = gunicorn_spec(system.config, "users", "users-2", second)
        system.start_process("users-2")
        system.wait_ready(["users-2"], 60)
        yield system, logs, second_url


def users_instances_health(system) -> list[str]:
    """The users instances' states in ``/api/health`` (503 too: on a loaded machine another part may be late)."""
    _, _, body = request(f"{system.gateway_url}/api/health")
    return [instance["status"] for instance in body["services"]["users"]["instances"]]


def wait_for_instances(system, expected: list[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while (seen := users_instances_health(system)) != expected:
        assert time.monotonic() < deadline, f"users instances in /api/health: {seen}, expected {expected}"
        time.sleep(0.1)


def get_profile(system, token: str, label: str) -> str:
    """One ``GET /api/profile`` through the gateway, which must succeed; its request id."""
    request_id = f"{label}-{uuid.uuid4().hex[:12]}"
    status, _, body = call(system.gateway_url, "GET", "/api/profile", token=token, headers={"X-Request-ID": request_id})
    assert status == 200, (request_id, body)
    return request_id


def served_by(logs, request_ids: list[str], timeout: float = 10.0) -> dict[str, set[str]]:
    """Which users instance logged each request, once every one of them has been logged by one."""
    wanted = set(request_ids)
    deadline = time.monotonic() + timeout
    while True:
        found = {
            name: {entry["request_id"] for entry in logs.json_lines(name) if entry.get("request_id") in wanted}
            for name in ("users", "users-2")
        }
        if found["users"] | found["users-2"] == wanted:
            return found
        assert time.monotonic() < deadline, f"not logged by a users instance: {wanted - found['users'] - found['users-2']}"
        time.sleep(0.05)


def test_requests_are_spread_over_both_instances_and_survive_one_being_killed(two_users_instances):
    system, logs, second_url = two_users_instances
    wait_for_instances(system, ["up", "up"])
    account = new_account(system.gateway_url, "spread")

    # Spread: each gateway worker takes the two addresses in turn.
    spread = served_by(logs, [get_profile(system, account["token"], "spread") for _ in range(12)])
    assert spread["users"] and spread["users-2"], spread
    assert not spread["users"] & spread["users-2"]
    # Each instance reports its own requests, summed over its own workers, no one else's.
    route = {"route": "api/profile", "method": "GET", "status": "200"}
    assert sample_value(scrape(second_url), "http_requests_total", route) == len(spread["users-2"])

    # Killed for real: no goodbye, its keep-alive connections to the gateway just die.
    second = system.processes["users-2"]
    second.signal(signal.SIGKILL)
    second.popen.wait(10)
    connect_errors = {"upstream": "users", "url": second_url, "kind": "connect"}
    gateway_metrics = f"http://127.0.0.1:{system.config.gateway_metrics_port}"
    errors_before = sample_value(scrape(gateway_metrics), "gateway_upstream_errors_total", connect_errors)

    after_kill = [get_profile(system, account["token"], "after-kill") for _ in range(12)]
    # Not only safe methods: a registration (POST) that found the address closed was never sent.
    for _ in range(3):
        status, body = register(system.gateway_url)
        assert status == 201, body
    status, _, body = call(system.gateway_url, "PUT", "/api/profile", {"name": "Still Here"}, token=account["token"])
    assert status == 200, body
    assert served_by(logs, after_kill) == {"users": set(after_kill), "users-2": set()}
    assert users_instances_health(system) == ["up", "down"]
    assert sample_value(scrape(gateway_metrics), "gateway_upstream_errors_total", connect_errors) > errors_before

    # Back on the same port: after the cooldown a trial request finds it, and it is in turn again.
    system.stop_process("users-2")
    system.start_process("users-2")
    system.wait_ready(["users-2"], 60)
    wait_for_instances(system, ["up", "up"])
    deadline = time.monotonic() + 10 * COOLDOWN + 20
    back: list[str] = []
    while True:
        back.append(get_profile(system, account["token"], "back"))
        if served_by(logs, back)["users-2"]:
            break
        assert time.monotonic() < deadline, "the restarted users instance got no request"
    later = served_by(logs, [get_profile(system, account["token"], "later") for _ in range(12)])
    assert later["users"] and later["users-2"], later
