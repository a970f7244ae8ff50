"""POST /internal/credentials and DELETE /internal/credentials/<user_id>: the users service's calls."""

import pytest

from credentials.models import Credential
from credentials.tests.data import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

URL = "/internal/credentials"


def registration(user_id: int, **changes) -> dict:
    return {
        "user_id": user_id,
        "email": "New.Person+x@Gmail.com",
        "password": PASSWORD,
        "name": "Ada",
        "created_at": "2019-01-01 00:00:37",
        **changes,
    }


def test_201_answers_tokens_and_a_retry_answers_201_again(users_service_client, new_user_id):
    first = users_service_client.post(URL, registration(new_user_id), format="json")
    retry = users_service_client.post(URL, registration(new_user_id), format="json")

    for response in (first, retry):
        assert response.status_code == 201
        assert set(response.json()) == {"token", "refresh"}
    assert first.json()["refresh"] != retry.json()["refresh"]
    credential = Credential.objects.get(pk=new_user_id)
    assert credential.user_created_at.isoformat() == "2019-01-01T00:00:37+00:00"


def test_409_for_another_password_for_the_user_id_or_an_email_already_held(
    users_service_client, new_user_id, make_credential
):
    users_service_client.post(URL, registration(new_user_id), format="json")
    make_credential(email="grace@example.com")

    other_password = users_service_client.post(
        URL, registration(new_user_id, password="another passphrase entirely"), format="json"
    )
    email_taken = users_service_client.post(
        URL, registration(new_user_id + 1000, email="Grace@Example.com"), format="json"
    )

    assert other_password.status_code == 409
    assert other_password.json() == {"error": "A different credential already exists for this user id"}
    assert (email_taken.status_code, email_taken.json()) == (409, {"error": "User already exists"})


def test_400_for_a_weak_password_without_its_value(users_service_client, new_user_id):
    response = users_service_client.post(URL, registration(new_user_id, password="12345678"), format="json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors and all(e["path"] == "password" and "value" not in e for e in errors)


def test_400_for_missing_fields(users_service_client):
    response = users_service_client.post(URL, {"email": "ada@example.com"}, format="json")

    assert response.status_code == 400
    assert {e["path"] for e in response.json()["errors"]} == {"user_id", "password", "created_at"}


def test_delete_answers_204_also_when_there_is_nothing_to_delete(users_service_client, make_credential, revocations):
    credential = make_credential()

    first = users_service_client.delete(f"{URL}/{credential.user_id}")
    again = users_service_client.delete(f"{URL}/{credential.user_id}")

    assert (first.status_code, first.content) == (204, b"")
    assert again.status_code == 204
    assert not Credential.objects.filter(pk=credential.user_id).exists()


def test_callers_other_than_the_users_service_get_a_403(gateway_client, new_user_id, make_credential):
    credential = make_credential()

    create = gateway_client.post(URL, registration(new_user_id), format="json")
    delete = gateway_client.delete(f"{URL}/{credential.user_id}")

    for response in (create, delete):
        assert (response.status_code, response.json()) == (403, {"error": "Permission denied"})
    assert Credential.objects.filter(pk=credential.user_id).exists()
