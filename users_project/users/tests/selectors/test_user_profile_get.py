import pytest

from users.models import Profile
from users.selectors import user_profile_get

pytestmark = pytest.mark.django_db(databases="__all__")


def test_finds_an_active_profile_by_user_id(make_profile):
    profile = make_profile()
    assert user_profile_get(user_id=profile.pk) == profile


@pytest.mark.parametrize(
    "fields",
    [{"status": Profile.Status.PENDING}, {"status": Profile.Status.CANCELLED}, {"is_active": False}],
    ids=["pending", "cancelled", "deactivated"],
)
def test_an_unfinished_or_deactivated_account_is_not_found(make_profile, fields):
    assert user_profile_get(user_id=make_profile(**fields).pk) is None


def test_an_unknown_id_is_not_found():
    assert user_profile_get(user_id=424242) is None


def test_every_field_reads_as_the_orm_reads_it(make_profile):
    profile = make_profile(name="Zoë")
    found = user_profile_get(user_id=profile.pk)
    expected = Profile.objects.get(pk=profile.pk)
    for field in Profile._meta.concrete_fields:
        value = getattr(found, field.attname)
        assert (value, type(value)) == (getattr(expected, field.attname), type(getattr(expected, field.attname)))
    assert found._state.db == expected._state.db and not found._state.adding
