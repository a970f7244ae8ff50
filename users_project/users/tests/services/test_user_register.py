from datetime import datetime

import pytest
from django.db import connections

from common.errors import ApiError, LegacyValidationError
from users.models import Profile
from users.services import user_register
from users.tests.fake_auth import HANG

pytestmark = pytest.mark.django_db(databases="__all__")

PASSWORD = "correct-Horse-battery-9"


def register(email="new.person@example.com", password=PASSWORD, name=None):
    return user_register(email=email, password=password, name=name)


def test_stores_the_credentials_at_auth_then_activates_the_profile(fake_auth):
    registration = register(email="New.Person@Example.com", name="  Ada ")

    profile = Profile.objects.get()
    assert registration.profile == profile
    assert (registration.token, registration.refresh) == ("access-token", "refresh-token")
    assert profile.status == Profile.Status.ACTIVE
    assert (profile.email, profile.email_canonical, profile.name) == (
        "New.Person@Example.com",
        "new.person@example.com",
        "  Ada ",
    )
    [call] = fake_auth.calls
    assert (call.method, call.path, call.issuer) == ("POST", "/internal/credentials", "users")
    assert call.body == {
        "user_id": profile.pk,
        "email": "New.Person@Example.com",
        "password": PASSWORD,
        "name": "  Ada ",
        "created_at": profile.created_at.isoformat(),
    }
    assert datetime.fromisoformat(call.body["created_at"]).utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "taken, email",
    [
        ("user5@example.com", "User5@EXAMPLE.com"),
        ("New.Person+old@Gmail.com", "newperson@googlemail.com"),
        ("newperson@gmail.com", "n.e.w.person+x@gmail.com"),
    ],
)
def test_a_taken_canonical_email_is_refused_before_auth_is_called(fake_auth, make_profile, taken, email):
    make_profile(taken)
    with pytest.raises(ApiError) as info:
        register(email=email)
    assert (info.value.message, info.value.status) == ("User already exists", 400)
    assert fake_auth.calls == []
    assert Profile.objects.count() == 1


@pytest.mark.parametrize("status", [Profile.Status.PENDING, Profile.Status.CANCELLED])
def test_the_email_of_an_unfinished_registration_is_still_taken(fake_auth, make_profile, status):
    make_profile("someone@example.com", status=status)
    with pytest.raises(ApiError, match="User already exists"):
        register(email="SOMEONE@example.com")


@pytest.mark.parametrize(
    "password, email",
    [
        ("short1!", "a@example.com"),
        ("password123", "a@example.com"),
        ("4815162342108", "a@example.com"),
        ("johnsmithers", "johnsmithers@example.com"),
    ],
    ids=["too-short", "common", "all-digits", "similar-to-email"],
)
def test_a_password_djangos_validators_refuse_never_reaches_auth(fake_auth, password, email):
    with pytest.raises(LegacyValidationError) as info:
        register(email=email, password=password)
    assert info.value.errors
    for error in info.value.errors:
        assert error["path"] == "password" and "value" not in error
        assert (error["type"], error["location"]) == ("field", "body")
    assert fake_auth.calls == []
    assert not Profile.objects.exists()


def test_a_128_character_password_is_accepted(fake_auth):
    register(password="x7-" * 42 + "ab")
    assert len(fake_auth.calls[0].body["password"]) == 128
    assert Profile.objects.get().status == Profile.Status.ACTIVE


def test_an_email_the_monolith_could_not_normalise_is_invalid(fake_auth):
    with pytest.raises(LegacyValidationError) as info:
        register(email="+tag@gmail.com", password="short")
    assert [error["path"] for error in info.value.errors] == ["email", "password"]
    assert fake_auth.calls == []


def test_auth_refusing_the_password_passes_its_errors_through_and_frees_the_email(fake_auth):
    fake_auth.answers["POST"] = (
        400,
        {"errors": [{"type": "field", "msg": "Too weak", "path": "password", "location": "body", "value": "leak"}]},
    )
    with pytest.raises(LegacyValidationError) as info:
        register()
    assert info.value.errors == [{"type": "field", "msg": "Too weak", "path": "password", "location": "body"}]
    assert not Profile.objects.exists()
    assert fake_auth.calls_to("DELETE") == []  # auth stored nothing


def test_auth_conflict_is_user_already_exists_and_frees_the_profile(fake_auth):
    fake_auth.answers["POST"] = (409, {"error": "Conflict"})
    with pytest.raises(ApiError, match="User already exists"):
        register()
    assert not Profile.objects.exists()
    assert fake_auth.calls_to("DELETE") == []


@pytest.mark.parametrize(
    "answer",
    [(500, {"error": "Internal server error"}), (502, None), (201, {"unexpected": True}), (404, {"error": "Not found"})],
    ids=["500", "502-not-json", "201-without-tokens", "404"],
)
def test_auth_failing_is_compensated_and_nothing_is_left(fake_auth, answer):
    fake_auth.answers["POST"] = answer
    with pytest.raises(ApiError) as info:
        register()
    assert (info.value.message, info.value.status) == ("Service unavailable", 503)
    user_id = fake_auth.calls_to("POST")[0].body["user_id"]
    assert [call.path for call in fake_auth.calls_to("DELETE")] == [f"/internal/credentials/{user_id}"]
    assert not Profile.objects.exists()


def test_auth_unreachable_means_it_stored_nothing_so_the_profile_is_simply_deleted(absent_auth):
    with pytest.raises(ApiError) as info:
        register()
    assert info.value.status == 503
    assert not Profile.objects.exists()


def test_when_the_compensation_fails_too_the_cancelled_profile_is_left_for_the_cleanup(fake_auth):
    fake_auth.answers["POST"] = (500, None)
    fake_auth.answers["DELETE"] = (500, None)
    with pytest.raises(ApiError, match="Service unavailable"):
        register()
    assert len(fake_auth.calls_to("DELETE")) == 1
    assert Profile.objects.get().status == Profile.Status.CANCELLED


def test_no_answer_from_auth_cancels_but_keeps_the_profile_until_the_cleanup(fake_auth, settings):
    # Auth may still be storing the credentials: a DELETE now could overtake that POST.
    settings.USERS_AUTH_READ_TIMEOUT = 0.2
    fake_auth.answers["POST"] = HANG
    with pytest.raises(ApiError, match="Service unavailable"):
        register()
    assert len(fake_auth.calls_to("DELETE")) == 1
    assert Profile.objects.get().status == Profile.Status.CANCELLED


def test_the_password_is_stored_nowhere_in_the_users_databases(fake_auth):
    register(password="Unique-Secret-Passw0rd")
    for alias in ("users",):
        with connections[alias].cursor() as cursor:
            for table in connections[alias].introspection.table_names(cursor):
                cursor.execute(f'SELECT * FROM "{table}"')
                assert "Unique-Secret-Passw0rd" not in repr(cursor.fetchall()), table
