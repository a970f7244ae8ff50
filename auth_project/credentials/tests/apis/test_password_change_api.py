"""PUT /api/change-password."""

import pytest

from credentials.sessions import token_pair_issue
from credentials.tests.data import PASSWORD
from credentials.tests.revocations import token_revoked as revoked

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

URL = "/api/change-password"
NEW_PASSWORD = "a brand new passphrase"


def test_200_with_a_fresh_working_pair_and_every_old_token_revoked(
    end_user_client, gateway_client, make_credential, revocations, family
):
    credential = make_credential()
    old = token_pair_issue(credential=credential, family=family)

    response = end_user_client(old.access).put(
        URL, {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"message", "token", "refresh"}
    assert body["message"] == "Password changed successfully"
    assert revoked(revocations, old.access)
    assert not revoked(revocations, body["token"])
    login = gateway_client.post("/api/login", {"email": credential.email, "password": NEW_PASSWORD}, format="json")
    assert login.status_code == 200


def test_a_weak_new_password_is_a_400_naming_the_field_without_its_value(end_user_client, make_credential, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)

    response = end_user_client(tokens.access).put(
        URL, {"currentPassword": PASSWORD, "newPassword": "12345"}, format="json"
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors and {(e["type"], e["path"], e["location"]) for e in errors} == {("field", "newPassword", "body")}
    assert all("value" not in e for e in errors)
    assert "12345" not in response.content.decode()


def test_missing_fields_are_a_400(end_user_client, make_credential, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)

    response = end_user_client(tokens.access).put(URL, {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"type": "field", "msg": "Invalid value", "path": "currentPassword", "location": "body"},
            {"type": "field", "msg": "Invalid value", "path": "newPassword", "location": "body"},
        ]
    }


def test_a_wrong_current_password_is_a_401(end_user_client, make_credential, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)

    response = end_user_client(tokens.access).put(
        URL, {"currentPassword": "wrong", "newPassword": NEW_PASSWORD}, format="json"
    )

    assert (response.status_code, response.json()) == (401, {"error": "Current password is incorrect"})


def test_without_a_signed_in_user_it_is_a_401(gateway_client):
    response = gateway_client.put(URL, {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, format="json")

    assert (response.status_code, response.json()) == (401, {"error": "Access token required"})
