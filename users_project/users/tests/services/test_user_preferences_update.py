import pytest

from users.models import Preferences
from users.services import user_preferences_update

pytestmark = pytest.mark.django_db(databases="__all__")


def test_the_first_update_keeps_the_defaults_of_what_it_does_not_name(make_profile):
    profile = make_profile()

    preferences = user_preferences_update(profile=profile, theme="dark")

    stored = Preferences.objects.get(profile=profile)
    assert stored == preferences
    assert (stored.theme, stored.language, stored.notifications_enabled) == ("dark", "en", True)


def test_later_updates_change_only_what_they_name(make_profile):
    profile = make_profile()
    user_preferences_update(profile=profile, theme="dark", language="pt-BR")

    user_preferences_update(profile=profile, notifications_enabled=False)

    stored = Preferences.objects.get(profile=profile)
    assert (stored.theme, stored.language, stored.notifications_enabled) == ("dark", "pt-BR", False)
