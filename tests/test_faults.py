"""Parts of the system going down and coming back, seen through the gateway."""

import signal

from http_client import request, wait_for_status


def test_redis_down_turns_health_into_a_503_naming_redis_and_recovers_without_restart(own_system):
    system, _ = own_system
    health = f"{system.gateway_url}/api/health"
    system.stop_process("redis")
    try:
        status, _, body = request(health)
        assert status == 503
        assert body["status"] != "OK"
        assert body["dependencies"]["redis"]["status"] == "down"
        assert body["services"]["users"]["checks"]["redis"]["status"] == "down"
        assert body["services"]["auth"]["checks"]["redis"]["status"] == "down"
    finally:
        system.start_process("redis")
    body = wait_for_status(health, 200)
    assert body["status"] == "OK"
    assert system.exited() == []


def test_a_service_down_is_a_503_in_health_and_a_json_503_for_its_routes(own_system):
    system, _ = own_system
    system.stop_process("users")
    try:
        status, _, body = request(f"{system.gateway_url}/api/health")
        assert status == 503
        assert body["services"]["users"]["status"] == "down"
        assert body["services"]["auth"]["status"] == "up"
        assert request(f"{system.gateway_url}/api/register")[0::2] == (503, {"error": "Service unavailable"})
    finally:
        system.start_process("users")
    wait_for_status(f"{system.gateway_url}/api/health", 200)


def test_a_hanging_service_is_reported_down_without_holding_up_health(own_system):
    system, _ = own_system
    users = system.processes["users"]
    users.signal(signal.SIGSTOP)  # the whole gunicorn group: accepts connections, never answers
    try:
        status, _, body = request(f"{system.gateway_url}/api/health")
        assert status == 503
        assert body["services"]["users"]["status"] == "down"
        assert body["services"]["auth"]["status"] == "up"
    finally:
        users.signal(signal.SIGCONT)
    wait_for_status(f"{system.gateway_url}/api/health", 200)
