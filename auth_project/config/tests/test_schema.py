"""GET /api/schema/auth: the service's own OpenAPI document, for the gateway to merge."""

import pytest


@pytest.fixture
def schema(gateway_client) -> dict:
    response = gateway_client.get("/api/schema/auth")
    assert response.status_code == 200
    return response.json()


def test_the_public_operations_are_described(schema):
    assert schema["info"]["title"] == "Auth service"
    assert set(schema["paths"]) == {
        "/api/login",
        "/api/token/refresh",
        "/api/logout",
        "/api/change-password",
        "/api/.well-known/jwks.json",
    }
    login = schema["paths"]["/api/login"]["post"]
    assert login["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/LoginInput")
    assert set(login["responses"]) == {"200", "400", "401"}
    assert schema["paths"]["/api/logout"]["post"]["security"] == [{"bearerAuth": []}]


def test_internal_endpoints_are_left_out(schema):
    assert not any(path.startswith("/internal") for path in schema["paths"])
