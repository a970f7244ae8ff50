"""Parts of the system going down and coming back, seen through the gateway."""

import signal
from urllib.parse import urlsplit

import pytest

from accounts import call, login, new_account
from http_client import request, wait_for_status
from system import DATABASE_VARIABLES


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


def terminate_server_processes(env: dict[str, str]) -> int:
    """Have PostgreSQL terminate every connection to the system's databases, as its restart would; how many."""
    import psycopg2

    urls = [env[variable] for variable in DATABASE_VARIABLES]
    connection = psycopg2.connect(urls[0])
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            # Each waits (at most 5 s) until its process is gone.
            cursor.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                " WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                [[urlsplit(url).path.lstrip("/") for url in urls]],
            )
            return cursor.fetchone()[0]
    finally:
        connection.close()


def test_requests_after_postgresql_dropped_every_kept_connection_are_answered(own_system):
    system, _ = own_system
    if not all(system.config.env.get(variable, "").startswith("postgres") for variable in DATABASE_VARIABLES):
        pytest.skip("PostgreSQL only: SQLite's connections are files, nothing drops them")
    # Connections kept by the workers' threads that serve these (each account: a registration and a login).
    accounts = [new_account(system.gateway_url, "dropped-connections", name="Kept") for _ in range(3)]
    for account in accounts:
        assert call(system.gateway_url, "PUT", "/api/profile", {"name": "Kept"}, token=account["token"])[0] == 200

    assert terminate_server_processes(system.config.env) > 0

    for account in accounts:
        assert call(system.gateway_url, "PUT", "/api/profile", {"name": "Kept"}, token=account["token"])[0] == 200
        assert login(system.gateway_url, account["email"])[0] == 200
    for _ in range(3):
        assert new_account(system.gateway_url, "after-dropped-connections")["id"]
