import json

import pytest

from users.models import Preferences, Profile

pytestmark = pytest.mark.django_db(databases="__all__")

DEFAULTS = {"theme": "light", "language": "en", "notifications_enabled": True}


def put(client, body):
    return client.put("/api/profile/preferences", body, content_type="application/json")


def test_preferences_never_set_are_the_defaults(make_profile, client_for):
    response = client_for(make_profile()).get("/api/profile/preferences")
    assert (response.status_code, response.json()) == (200, {"preferences": DEFAULTS})


def test_put_changes_only_the_fields_given_and_get_reads_them_back(make_profile, client_for):
    client = client_for(make_profile())

    response = put(client, {"theme": "dark", "language": "pt-BR"})
    assert (response.status_code, response.json()) == (
        200,
        {"preferences": {"theme": "dark", "language": "pt-BR", "notifications_enabled": True}},
    )
    put(client, {"notifications_enabled": False})

    assert client.get("/api/profile/preferences").json() == {
        "preferences": {"theme": "dark", "language": "pt-BR", "notifications_enabled": False}
    }


@pytest.mark.parametrize(
    "body, path",
    [
        ({"theme": "blue"}, "theme"),
        ({"theme": ["dark"]}, "theme"),
        ({"language": "english please"}, "language"),
        ({"language": "e"}, "language"),
        ({"language": "en-" + "x" * 40}, "language"),
        ({"language": 1}, "language"),
        ({"notifications_enabled": "yes"}, "notifications_enabled"),
        ({"notifications_enabled": 1}, "notifications_enabled"),
        ({"notifications_enabled": None}, "notifications_enabled"),
    ],
)
def test_invalid_values_are_400_in_the_legacy_validation_shape_and_change_nothing(make_profile, client_for, body, path):
    client = client_for(make_profile())

    response = put(client, body)

    assert response.status_code == 400
    assert {(error["type"], error["path"], error["location"]) for error in response.json()["errors"]} == {
        ("field", path, "body")
    }
    assert client.get("/api/profile/preferences").json() == {"preferences": DEFAULTS}


def test_an_unfinished_registration_has_no_preferences(make_profile, client_for):
    client = client_for(make_profile(status=Profile.Status.PENDING))
    for response in (client.get("/api/profile/preferences"), put(client, {"theme": "dark"})):
        assert (response.status_code, response.json()) == (404, {"error": "User not found"})


def test_without_an_end_user_the_access_token_is_required(anonymous_client):
    for response in (anonymous_client.get("/api/profile/preferences"), put(anonymous_client, {"theme": "dark"})):
        assert (response.status_code, response.json()) == (401, {"error": "Access token required"})


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"theme": "dark", "language": "pt-BR", "notifications_enabled": False},
        {"theme": Preferences.Theme.LIGHT, "language": "zh-Hant", "notifications_enabled": True},
        {"theme": "sepia", "language": "", "notifications_enabled": 0},
        {"theme": "", "language": "en", "notifications_enabled": "f"},
    ],
)
def test_the_preferences_answers_write_them_as_their_serializer_does(make_profile, fields):
    from users.apis import PreferencesSerializer, preferences_output
    from users.selectors import user_preferences_get

    profile = make_profile()
    stored = Preferences.objects.create(profile=profile, **fields) if fields else None
    for preferences in (user_preferences_get(profile=profile), *([stored] if stored else [])):
        assert json.dumps(preferences_output(preferences)) == json.dumps(PreferencesSerializer(preferences).data)


def test_the_preferences_read_is_the_orms(make_profile):
    from users.selectors import user_preferences_get

    profile = make_profile()
    Preferences.objects.create(profile=profile, theme="dark", language="fr", notifications_enabled=False)

    read, orm = user_preferences_get(profile=profile), Preferences.objects.get(profile=profile)

    assert [getattr(read, f.attname) for f in Preferences._meta.concrete_fields] == [
        getattr(orm, f.attname) for f in Preferences._meta.concrete_fields
    ]
    assert not read._state.adding and read._state.db == orm._state.db
