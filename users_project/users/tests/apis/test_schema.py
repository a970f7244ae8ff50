import pytest


@pytest.mark.django_db(databases="__all__")
def test_the_users_services_openapi_schema_describes_its_public_operations(anonymous_client):
    response = anonymous_client.get("/api/schema/users")

    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Users service"
    operations = {
        (path, method): operation["operationId"] for path, item in schema["paths"].items() for method, operation in item.items()
    }
    assert operations == {
        ("/api/register", "post"): "user_register",
        ("/api/profile", "get"): "user_profile_detail",
        ("/api/profile", "put"): "user_profile_update",
        ("/api/profile/preferences", "get"): "user_preferences_detail",
        ("/api/profile/preferences", "put"): "user_preferences_update",
    }
    register = schema["paths"]["/api/register"]["post"]
    assert register["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/UserRegisterInput")
    assert set(register["responses"]) == {"201", "400", "503"}


@pytest.mark.django_db(databases="__all__")
def test_every_400_is_either_error_shape_and_a_new_password_states_the_rules(anonymous_client):
    schema = anonymous_client.get("/api/schema/users").json()
    components = schema["components"]["schemas"]

    bad_requests = [
        operation["responses"]["400"]["content"]["application/json"]["schema"]
        for item in schema["paths"].values()
        for operation in item.values()
        if "400" in operation["responses"]
    ]
    assert len(bad_requests) == 3  # register, profile and preferences updates
    assert all(response == {"$ref": "#/components/schemas/BadRequest"} for response in bad_requests)
    assert components["FieldError"]["properties"]["value"]["oneOf"] == [
        {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
    ]
    password = components["UserRegisterInput"]["properties"]["password"]
    assert (password["minLength"], password["maxLength"], password["pattern"]) == (8, 4096, r"\D")
