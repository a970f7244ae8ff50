import pytest
from django.db import connections

from users.models import Preferences, Profile
from users.selectors import user_profile_get, user_profile_with_preferences_get
from users.services import user_preferences_update

pytestmark = pytest.mark.django_db(databases="__all__")


def fields_of(instance) -> list:
    values = [getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields]
    return [(value, type(value)) for value in values]


def test_saved_preferences_and_their_profile_read_as_the_orm_reads_them(make_profile, django_assert_num_queries):
    profile = make_profile(name="Zoë")
    Preferences.objects.create(profile=profile, theme="dark", language="pt-BR", notifications_enabled=False)

    with django_assert_num_queries(1, connection=connections["users"]):
        found_profile, found_preferences = user_profile_with_preferences_get(user_id=profile.pk)

    expected_profile, expected_preferences = Profile.objects.get(pk=profile.pk), Preferences.objects.get(pk=profile.pk)
    assert fields_of(found_profile) == fields_of(expected_profile)
    assert fields_of(found_preferences) == fields_of(expected_preferences)
    for found, expected in ((found_profile, expected_profile), (found_preferences, expected_preferences)):
        assert found._state.db == expected._state.db and not found._state.adding


def test_preferences_never_set_are_the_defaults_unsaved_beside_the_profile(make_profile):
    profile = make_profile()

    found_profile, preferences = user_profile_with_preferences_get(user_id=profile.pk)

    assert fields_of(found_profile) == fields_of(user_profile_get(user_id=profile.pk))
    assert (preferences.theme, preferences.language, preferences.notifications_enabled) == ("light", "en", True)
    assert preferences.profile_id == profile.pk and preferences._state.adding


def test_a_change_of_preferences_is_read_back_with_the_revision_it_raised(make_profile):
    profile = make_profile()
    user_preferences_update(profile=profile, theme="dark")

    found_profile, preferences = user_profile_with_preferences_get(user_id=profile.pk)

    assert preferences.theme == "dark"
    assert found_profile.revision == Profile.objects.get(pk=profile.pk).revision


@pytest.mark.parametrize(
    "fields",
    [{"status": Profile.Status.PENDING}, {"status": Profile.Status.CANCELLED}, {"is_active": False}],
    ids=["pending", "cancelled", "deactivated"],
)
def test_an_unfinished_or_deactivated_account_is_not_found(make_profile, fields):
    profile = make_profile(**fields)
    Preferences.objects.create(profile=profile, theme="dark")
    assert user_profile_with_preferences_get(user_id=profile.pk) is None


def test_an_unknown_id_is_not_found():
    assert user_profile_with_preferences_get(user_id=424242) is None
