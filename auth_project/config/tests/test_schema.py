"""GET /api/schema/auth: the service's own OpenAPI document, for the gateway to merge."""

import pytest
from django.contrib.auth.password_validation import (
    MinimumLengthValidator,
    NumericPasswordValidator,
    get_default_password_validators,
)


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


def _component(schema: dict, name: str) -> dict:
    return schema["components"]["schemas"][name]


def test_a_submitted_value_in_an_error_is_documented_as_any_type_it_echoes(schema):
    value = _component(schema, "FieldError")["properties"]["value"]

    assert value["oneOf"] == [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]
    login_400 = schema["paths"]["/api/login"]["post"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert login_400 == {"$ref": "#/components/schemas/BadRequest"}
    assert _component(schema, "BadRequest")["oneOf"] == [
        {"$ref": "#/components/schemas/ValidationError"},
        {"$ref": "#/components/schemas/Error"},
    ]


def test_what_the_api_refuses_is_outside_the_request_schemas(schema):
    login = _component(schema, "LoginInput")["properties"]
    refresh = _component(schema, "TokenRefreshInput")["properties"]["refresh"]
    change = _component(schema, "PasswordChangeInput")["properties"]

    assert login["password"]["minLength"] == 1
    assert change["currentPassword"]["minLength"] == 1
    assert refresh["pattern"] == r"\S"  # blank, or only spaces: refused
    assert _component(schema, "LogoutInput")["properties"]["refresh"].get("minLength") is None  # blank: no session


def test_a_new_password_is_documented_with_the_configured_validators_rules(schema):
    new_password = _component(schema, "PasswordChangeInput")["properties"]["newPassword"]
    minimum = next(
        validator.min_length for validator in get_default_password_validators()
        if isinstance(validator, MinimumLengthValidator)
    )

    assert new_password["minLength"] == minimum
    assert new_password["maxLength"] == 4096
    assert new_password["pattern"] == r"\D"  # NumericPasswordValidator
    assert {type(validator) for validator in get_default_password_validators()} >= {NumericPasswordValidator}
