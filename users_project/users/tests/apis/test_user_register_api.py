import logging
import re

import pytest
from django.test import Client

from users.models import Profile
from users.tests.fake_auth import HANG

pytestmark = pytest.mark.django_db(databases="__all__")

PASSWORD = "correct-Horse-battery-9"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def post(client, body):
    return client.post("/api/register", body, content_type="application/json")


def test_registers_and_answers_the_legacy_shape_with_tokens(anonymous_client, fake_auth):
    response = post(anonymous_client, {"email": "New.Person@Example.com", "password": PASSWORD, "name": "Ada"})

    assert response.status_code == 201
    body = response.json()
    profile = Profile.objects.get()
    assert body == {
        "message": "User registered successfully",
        "token": "access-token",
        "refresh": "refresh-token",
        "user": {"id": profile.pk, "email": "New.Person@Example.com", "name": "Ada", "created_at": body["user"]["created_at"]},
    }
    assert ISO_UTC.match(body["user"]["created_at"])


def test_name_is_optional_and_null_when_left_out(anonymous_client, fake_auth):
    response = post(anonymous_client, {"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 201
    assert response.json()["user"]["name"] is None


@pytest.mark.parametrize(
    "first, second",
    [("new.person@example.com", "NEW.person@EXAMPLE.com"), ("New.Person@gmail.com", "newperson+x@googlemail.com")],
)
def test_a_taken_email_in_any_case_or_with_gmail_dots_is_user_already_exists(anonymous_client, fake_auth, first, second):
    assert post(anonymous_client, {"email": first, "password": PASSWORD}).status_code == 201

    response = post(anonymous_client, {"email": second, "password": PASSWORD})

    assert response.status_code == 400
    assert response.json() == {"error": "User already exists"}
    assert len(fake_auth.calls) == 1


@pytest.mark.parametrize(
    "body, path",
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"password": PASSWORD}, "email"),
        ({"email": 42, "password": PASSWORD}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": 123456789}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "name": 7}, "name"),
        ({"email": "a@example.com", "password": PASSWORD, "name": ["Ada"]}, "name"),
        ({"email": ["a@example.com"], "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "lone-\ud800-surrogate"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "name": "nul\x00byte"}, "name"),
        # Every text has a bound: a name of 200 characters, an address of 254, a password of 4096.
        ({"email": "a@example.com", "password": PASSWORD, "name": "x" * 201}, "name"),
        ({"email": "a" * 250 + "@example.com", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "p" * 4097}, "password"),
    ],
)
def test_invalid_fields_are_400_in_the_legacy_validation_shape(anonymous_client, fake_auth, body, path):
    response = post(anonymous_client, body)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [error["path"] for error in errors] == [path]
    assert {key: errors[0][key] for key in ("type", "location")} == {"type": "field", "location": "body"}
    assert fake_auth.calls == []


def test_a_bad_email_is_invalid_value_like_the_monolith_said(anonymous_client, fake_auth):
    response = post(anonymous_client, {"email": "nope", "password": PASSWORD})
    assert response.json() == {
        "errors": [{"type": "field", "msg": "Invalid value", "path": "email", "location": "body", "value": "nope"}]
    }


@pytest.mark.parametrize(
    "password, email",
    [
        ("aB3$xyz", "a@example.com"),
        ("password123", "a@example.com"),
        ("4815162342108", "a@example.com"),
        ("johnsmithers", "johnsmithers@example.com"),
        ("x" * 4097, "a@example.com"),
    ],
    ids=["too-short", "common", "all-digits", "similar-to-email", "absurdly-long"],
)
def test_a_refused_password_is_400_on_path_password_and_never_echoed(anonymous_client, fake_auth, password, email):
    response = post(anonymous_client, {"email": email, "password": password})

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors and all(error["path"] == "password" and "value" not in error for error in errors)
    assert password not in response.content.decode()
    assert fake_auth.calls == []


def test_a_128_character_password_is_accepted(anonymous_client, fake_auth):
    assert post(anonymous_client, {"email": "a@example.com", "password": "Zq9-" * 32}).status_code == 201


def test_spaces_around_a_password_are_kept(anonymous_client, fake_auth):
    post(anonymous_client, {"email": "a@example.com", "password": f"  {PASSWORD}  "})
    assert fake_auth.calls[0].body["password"] == f"  {PASSWORD}  "


def test_auth_refusing_the_password_is_passed_through(anonymous_client, fake_auth):
    error = {"type": "field", "msg": "This password is too common.", "path": "password", "location": "body"}
    fake_auth.answers["POST"] = (400, {"errors": [error]})

    response = post(anonymous_client, {"email": "a@example.com", "password": PASSWORD})

    assert (response.status_code, response.json()) == (400, {"errors": [error]})
    assert not Profile.objects.exists()


@pytest.mark.parametrize("answer", [(500, {"error": "Internal server error"}), HANG], ids=["500", "hang"])
def test_auth_failing_is_a_json_503(anonymous_client, fake_auth, settings, answer):
    settings.USERS_AUTH_READ_TIMEOUT = 0.2
    fake_auth.answers["POST"] = answer

    response = post(anonymous_client, {"email": "a@example.com", "password": PASSWORD})

    assert (response.status_code, response.json()) == (503, {"error": "Service unavailable"})
    assert not Profile.objects.visible().exists()


def test_auth_unreachable_is_a_json_503_and_leaves_no_profile(anonymous_client, absent_auth):
    response = post(anonymous_client, {"email": "a@example.com", "password": PASSWORD})

    assert (response.status_code, response.json()) == (503, {"error": "Service unavailable"})
    assert not Profile.objects.exists()


def test_auth_answering_500_leaves_no_profile_and_deletes_any_credentials(anonymous_client, fake_auth):
    fake_auth.answers["POST"] = (500, None)

    post(anonymous_client, {"email": "a@example.com", "password": PASSWORD})

    user_id = fake_auth.calls_to("POST")[0].body["user_id"]
    assert [call.path for call in fake_auth.calls_to("DELETE")] == [f"/internal/credentials/{user_id}"]
    assert not Profile.objects.exists()


@pytest.mark.parametrize(
    "data, content_type",
    [
        ("{not json", "application/json"),
        ('["a@example.com"]', "application/json"),
        ("null", "application/json"),
        ('"text"', "application/json"),
        ("email=a@example.com", "application/x-www-form-urlencoded"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_json_4xx(anonymous_client, fake_auth, data, content_type):
    response = anonymous_client.post("/api/register", data, content_type=content_type)
    assert response.status_code in (400, 415)
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) <= {"error", "errors"}
    assert fake_auth.calls == []


def test_a_request_that_did_not_come_through_the_gateway_is_refused(fake_auth):
    response = post(Client(), {"email": "a@example.com", "password": PASSWORD})
    assert (response.status_code, response.json()) == (401, {"error": "Requests must come through the gateway"})
    assert fake_auth.calls == []


def test_only_post_is_allowed(anonymous_client):
    response = anonymous_client.get("/api/register")
    assert (response.status_code, response.json()) == (405, {"error": "Method not allowed"})


def test_the_password_never_appears_in_the_logs(anonymous_client, fake_auth, caplog):
    secret = "Never-Log-Me-2024!"
    caplog.set_level(logging.DEBUG)
    post(anonymous_client, {"email": "a@example.com", "password": secret})
    fake_auth.answers["POST"] = (500, None)
    post(anonymous_client, {"email": "b@example.com", "password": secret})
    post(anonymous_client, {"email": "c@example.com", "password": "Tiny#7x"})

    assert caplog.records
    for record in caplog.records:
        assert secret not in record.getMessage() and secret not in repr(vars(record))
    assert "Tiny#7x" not in "".join(repr(vars(record)) for record in caplog.records)
