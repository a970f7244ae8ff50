import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from django.test import Client

from users.apis import UserOutputSerializer, user_output
from users.models import Profile
from users.selectors import user_profile_get

pytestmark = pytest.mark.django_db(databases="__all__")


def put(client, body):
    return client.put("/api/profile", body, content_type="application/json")


def test_get_answers_the_users_profile_in_the_legacy_shape(make_profile, client_for):
    created = datetime(2019, 1, 1, 0, 0, 37, tzinfo=timezone.utc)
    profile = make_profile("User5@EXAMPLE.com", name="  Zoë  ", created_at=created)

    response = client_for(profile).get("/api/profile")

    assert response.status_code == 200
    assert response.json() == {
        "user": {"id": profile.pk, "email": "User5@EXAMPLE.com", "name": "  Zoë  ", "created_at": "2019-01-01T00:00:37.000Z"}
    }


def test_without_an_end_user_the_access_token_is_required(anonymous_client):
    for response in (anonymous_client.get("/api/profile"), put(anonymous_client, {"name": "x"})):
        assert (response.status_code, response.json()) == (401, {"error": "Access token required"})


def test_without_the_gateways_credential_the_request_is_refused():
    response = Client().get("/api/profile")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("status", [Profile.Status.PENDING, Profile.Status.CANCELLED])
def test_an_unfinished_registration_is_user_not_found(make_profile, client_for, status):
    client = client_for(make_profile(status=status))
    for response in (client.get("/api/profile"), put(client, {"name": "x"})):
        assert (response.status_code, response.json()) == (404, {"error": "User not found"})


def test_a_user_without_a_profile_is_not_found(client_for):
    ghost = Profile(pk=999_999, email="ghost@example.com")
    response = client_for(ghost).get("/api/profile")
    assert (response.status_code, response.json()) == (404, {"error": "User not found"})


def test_put_updates_name_and_email_and_answers_the_legacy_shape(make_profile, client_for):
    profile = make_profile("ada@example.com", name="Ada")

    response = put(client_for(profile), {"name": "Ada Lovelace", "email": "Ada.L@Example.com"})

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Profile updated successfully"
    assert {key: body["user"][key] for key in ("id", "email", "name")} == {
        "id": profile.pk,
        "email": "Ada.L@Example.com",
        "name": "Ada Lovelace",
    }
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", body["user"]["created_at"])
    profile.refresh_from_db()
    assert profile.email_canonical == "ada.l@example.com"


def test_put_with_nothing_to_change_answers_the_profile(make_profile, client_for):
    profile = make_profile(name="Ada")
    response = put(client_for(profile), {"unknown": "ignored"})
    assert (response.status_code, response.json()["user"]["name"]) == (200, "Ada")


def test_put_may_clear_the_name(make_profile, client_for):
    profile = make_profile(name="Ada")
    assert put(client_for(profile), {"name": None}).json()["user"]["name"] is None


@pytest.mark.parametrize("theirs, typed", [("bob@example.com", "BOB@example.com"), ("bob@gmail.com", "b.o.b+work@gmail.com")])
def test_an_email_another_user_has_is_already_in_use(make_profile, client_for, theirs, typed):
    make_profile(theirs)
    profile = make_profile("ada@example.com")

    response = put(client_for(profile), {"email": typed})

    assert (response.status_code, response.json()) == (400, {"error": "Email already in use"})


@pytest.mark.parametrize(
    "body, path",
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": None}, "email"),
        ({"email": 5}, "email"),
        ({"name": 42}, "name"),
        ({"name": True}, "name"),
        ({"name": {"first": "Ada"}}, "name"),
        ({"name": "bad\x00byte"}, "name"),
        pytest.param({"name": "lone \ud800 surrogate"}, "name"),
        pytest.param({"email": "\udfff@example.com"}, "email"),
    ],
)
def test_invalid_fields_are_400_in_the_legacy_validation_shape(make_profile, client_for, body, path):
    response = put(client_for(make_profile()), body)
    assert response.status_code == 400
    assert {(error["type"], error["path"], error["location"]) for error in response.json()["errors"]} == {
        ("field", path, "body")
    }


def test_malformed_json_is_a_json_400(make_profile, client_for):
    response = client_for(make_profile()).put("/api/profile", "{nope", content_type="application/json")
    assert (response.status_code, response.json()) == (400, {"error": "Malformed request body"})


def test_other_methods_are_a_json_405(make_profile, client_for):
    response = client_for(make_profile()).post("/api/profile", {}, content_type="application/json")
    assert (response.status_code, response.json()) == (405, {"error": "Method not allowed"})


def test_a_name_longer_than_the_limit_is_refused_in_the_legacy_shape(make_profile, client_for):
    profile = make_profile(name="Ada")

    response = put(client_for(profile), {"name": "x" * 201})

    assert response.status_code == 400
    assert response.json()["errors"][0] | {"value": None} == {
        "type": "field",
        "msg": "Invalid value",
        "path": "name",
        "location": "body",
        "value": None,
    }
    assert put(client_for(profile), {"name": "y" * 200}).status_code == 200


def test_a_legacy_name_over_the_limit_stays_until_it_is_edited(make_profile, client_for):
    long_name = "Maria " * 60  # imported from the monolith as it was: 360 characters
    profile = make_profile("maria@example.com", name=long_name)

    # Sent back as it is (a client saving the whole profile) or left out: kept.
    assert put(client_for(profile), {"name": long_name, "email": "maria2@example.com"}).status_code == 200
    assert put(client_for(profile), {"email": "maria@example.com"}).json()["user"]["name"] == long_name
    # Another long name is an edit: refused.
    assert put(client_for(profile), {"name": long_name + "!"}).status_code == 400
    profile.refresh_from_db()
    assert profile.name == long_name


@pytest.mark.parametrize(
    "name, created_at",
    [
        ("Ada", datetime(2019, 1, 1, 0, 0, 37, tzinfo=timezone.utc)),
        (None, datetime(2026, 12, 6, 10, 46, 15, 788999, tzinfo=timezone.utc)),
        ("  Zoë 名前  ", datetime(2020, 2, 29, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5)))),
        ("", datetime(2021, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
    ],
)
def test_the_profiles_own_answers_write_a_user_as_its_serializer_does(make_profile, name, created_at):
    profile = make_profile("Ünïcode+tag@Example.com", name=name, created_at=created_at)
    read = user_profile_get(user_id=profile.pk)

    written = user_output(read)

    assert json.dumps(written) == json.dumps(UserOutputSerializer(read).data)
