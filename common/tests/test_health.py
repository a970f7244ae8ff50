import pytest
from django.test import override_settings


def test_health_answers_without_touching_dependencies(client, unreachable_redis_url):
    with override_settings(REDIS_URL=unreachable_redis_url):
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "common-tests"}


@pytest.mark.django_db(databases="__all__")
def test_ready_when_databases_are_migrated_and_redis_answers(client, redis_url):
    with override_settings(REDIS_URL=redis_url):
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database:default": {"status": "up"},
        "database:service": {"status": "up"},
        "redis": {"status": "up"},
    }


@pytest.mark.django_db(databases="__all__")
def test_not_ready_names_redis_when_it_is_unreachable(client, unreachable_redis_url):
    with override_settings(REDIS_URL=unreachable_redis_url):
        response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["database:default"] == {"status": "up"}


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_not_ready_while_a_migration_is_unapplied(client, redis_url):
    from django.core.management import call_command

    from common import health

    health._migrated_aliases.clear()
    call_command("migrate", "sessions", "zero", database="default", verbosity=0)
    try:
        with override_settings(REDIS_URL=redis_url):
            response = client.get("/ready")
        assert response.status_code == 503
        assert response.json()["checks"]["database:default"] == {"status": "down", "error": "unapplied migrations"}
    finally:
        call_command("migrate", "sessions", database="default", verbosity=0)


def test_health_refuses_other_methods_as_json(client):
    response = client.post("/health")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json() == {"error": "Method not allowed"}
