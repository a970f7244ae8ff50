"""POST /api/login: the legacy contract row by row."""

from datetime import timedelta

import pytest
from django.utils import timezone

from credentials.tests.data import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

URL = "/api/login"


def test_200_answers_the_legacy_shape_plus_a_refresh_token(gateway_client, make_credential):
    credential = make_credential(email="ada@example.com", name="Ada Lovelace")

    response = gateway_client.post(URL, {"email": "ada@example.com", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"message", "token", "refresh", "user"}
    assert body["message"] == "Login successful"
    assert body["user"] == {
        "id": credential.user_id,
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "created_at": "2019-01-01T00:00:37.000Z",
    }


def test_the_address_may_be_typed_any_way_the_monolith_normalised(gateway_client, make_credential):
    credential = make_credential(email="firstlast@gmail.com", name=None)

    response = gateway_client.post(URL, {"email": "First.Last+x@Gmail.com", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert response.json()["user"]["id"] == credential.user_id
    assert response.json()["user"]["name"] is None


def test_long_passwords_work(gateway_client, make_credential):
    password = "p" * 128 + " and then some more, because longer is fine too" * 10
    credential = make_credential(password=password)

    response = gateway_client.post(URL, {"email": credential.email, "password": password}, format="json")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"password": PASSWORD}, [{"type": "field", "msg": "Invalid value", "path": "email", "location": "body"}]),
        (
            {"email": "not-an-email", "password": PASSWORD},
            [{"type": "field", "msg": "Invalid value", "path": "email", "location": "body", "value": "not-an-email"}],
        ),
        (
            {"email": "ada@example.com"},
            [{"type": "field", "msg": "Invalid value", "path": "password", "location": "body"}],
        ),
        (
            {"email": "ada@example.com", "password": ""},
            [{"type": "field", "msg": "Invalid value", "path": "password", "location": "body"}],
        ),
    ],
    ids=["no email", "bad email", "no password", "empty password"],
)
def test_400_in_express_validators_shape(gateway_client, body, expected):
    response = gateway_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"errors": expected}


def test_a_400_never_echoes_the_password(gateway_client):
    response = gateway_client.post(URL, {"email": "nope", "password": ["s3cret-value"]}, format="json")

    assert response.status_code == 400
    assert "s3cret-value" not in response.content.decode()


def test_every_401_is_the_same(gateway_client, make_credential):
    make_credential(email="ada@example.com")
    make_credential(email="inactive@example.com", is_active=False)
    make_credential(email="locked@example.com", locked_until=timezone.now() + timedelta(minutes=5))
    attempts = [
        ("nobody@example.com", PASSWORD),
        ("ada@example.com", "wrong password"),
        ("inactive@example.com", PASSWORD),
        ("locked@example.com", PASSWORD),
    ]

    responses = [gateway_client.post(URL, {"email": e, "password": p}, format="json") for e, p in attempts]

    assert {(r.status_code, r.content) for r in responses} == {(401, b'{"error":"Invalid credentials"}')}


def test_the_account_locks_after_repeated_failures(gateway_client, make_credential, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 2
    credential = make_credential()
    wrong = {"email": credential.email, "password": "wrong password"}
    for _ in range(2):
        gateway_client.post(URL, wrong, format="json")

    response = gateway_client.post(URL, {"email": credential.email, "password": PASSWORD}, format="json")

    assert (response.status_code, response.json()) == (401, {"error": "Invalid credentials"})


def test_malformed_json_and_other_methods_are_json_errors(gateway_client):
    malformed = gateway_client.post(URL, "{not json", content_type="application/json")
    get = gateway_client.get(URL)

    assert (malformed.status_code, malformed.json()) == (400, {"error": "Malformed request body"})
    assert (get.status_code, get.json()) == (405, {"error": "Method not allowed"})
