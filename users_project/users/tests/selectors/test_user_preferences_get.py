import pytest

from users.selectors import user_preferences_get
from users.services import user_preferences_update

pytestmark = pytest.mark.django_db(databases="__all__")


def test_preferences_never_set_are_the_defaults_and_nothing_is_written(make_profile):
    preferences = user_preferences_get(profile=make_profile())
    assert (preferences.theme, preferences.language, preferences.notifications_enabled) == ("light", "en", True)
    assert preferences._state.adding  # not saved


def test_saved_preferences_are_read_back(make_profile):
    profile = make_profile()
    user_preferences_update(profile=profile, theme="dark")
    assert user_preferences_get(profile=profile).theme == "dark"
