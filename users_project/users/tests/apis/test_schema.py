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
