"""POST /api/token/refresh."""

import pytest

from credentials.sessions import token_pair_issue

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

URL = "/api/token/refresh"


def test_200_answers_a_new_pair(gateway_client, make_credential, revocations, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)

    response = gateway_client.post(URL, {"refresh": tokens.refresh}, format="json")

    assert response.status_code == 200
    assert set(response.json()) == {"token", "refresh"}
    assert response.json()["refresh"] != tokens.refresh


def test_a_reused_refresh_token_is_a_401_and_ends_the_session(gateway_client, make_credential, revocations, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)
    rotated = gateway_client.post(URL, {"refresh": tokens.refresh}, format="json").json()

    reuse = gateway_client.post(URL, {"refresh": tokens.refresh}, format="json")
    successor = gateway_client.post(URL, {"refresh": rotated["refresh"]}, format="json")

    assert (reuse.status_code, reuse.json()) == (401, {"error": "Invalid or expired token"})
    assert (successor.status_code, successor.json()) == (401, {"error": "Invalid or expired token"})
    assert revocations.get(f"revocation:family:{family}") == "1"


def test_an_invalid_token_is_a_401(gateway_client):
    response = gateway_client.post(URL, {"refresh": "not.a.token"}, format="json")

    assert (response.status_code, response.json()) == (401, {"error": "Invalid or expired token"})


def test_a_missing_token_is_a_400(gateway_client):
    response = gateway_client.post(URL, {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"type": "field", "msg": "Invalid value", "path": "refresh", "location": "body"}]
    }
