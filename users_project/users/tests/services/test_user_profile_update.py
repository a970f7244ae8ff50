import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from common.errors import ApiError, LegacyValidationError
from users.models import Profile
from users.services import user_profile_update

pytestmark = pytest.mark.django_db(databases="__all__")


def test_changes_only_what_is_given(make_profile):
    profile = make_profile("ada@example.com", name="Ada")

    updated = user_profile_update(user_id=profile.pk, name=" Ada L. ")

    profile.refresh_from_db()
    assert updated == profile
    assert (profile.name, profile.email) == (" Ada L. ", "ada@example.com")


def test_a_name_may_be_cleared(make_profile):
    profile = make_profile(name="Ada")
    assert user_profile_update(user_id=profile.pk, name=None).name is None


def test_an_email_is_stored_as_typed_with_its_canonical_form_beside_it(make_profile):
    profile = make_profile("ada@example.com")

    user_profile_update(user_id=profile.pk, email="A.Da+News@GoogleMail.com")

    profile.refresh_from_db()
    assert (profile.email, profile.email_canonical) == ("A.Da+News@GoogleMail.com", "ada@gmail.com")


def test_retyping_ones_own_email_differently_is_allowed(make_profile):
    profile = make_profile("ada@gmail.com")
    assert user_profile_update(user_id=profile.pk, email="A.D.A@Gmail.com").email == "A.D.A@Gmail.com"


@pytest.mark.parametrize(
    "other, email",
    [("bob@example.com", "BOB@example.com"), ("bo.b@gmail.com", "bob+x@googlemail.com")],
)
@pytest.mark.parametrize("status", [Profile.Status.ACTIVE, Profile.Status.PENDING])
def test_an_email_another_profile_holds_is_refused(make_profile, other, email, status):
    make_profile(other, status=status)
    profile = make_profile("ada@example.com")

    with pytest.raises(ApiError, match="Email already in use") as info:
        user_profile_update(user_id=profile.pk, email=email, name="changed")

    assert info.value.status == 400
    profile.refresh_from_db()
    assert (profile.email, profile.name) == ("ada@example.com", None)


def test_an_email_the_monolith_could_not_normalise_is_invalid(make_profile):
    profile = make_profile()
    with pytest.raises(LegacyValidationError) as info:
        user_profile_update(user_id=profile.pk, email="+only-a-tag@gmail.com")
    assert info.value.errors == [
        {"type": "field", "msg": "Invalid value", "path": "email", "location": "body", "value": "+only-a-tag@gmail.com"}
    ]


@pytest.mark.parametrize("fields", [{"status": Profile.Status.PENDING}, {"is_active": False}])
def test_an_account_that_is_not_visible_is_not_found(make_profile, fields):
    profile = make_profile(**fields)
    with pytest.raises(ApiError, match="User not found") as info:
        user_profile_update(user_id=profile.pk, name="x")
    assert info.value.status == 404


def test_a_profile_updated_to_what_it_already_is_writes_nothing(make_profile):
    profile = make_profile("ada@example.com", name="Ada")
    before = Profile.objects.get(pk=profile.pk)

    with CaptureQueriesContext(connections["users"]) as queries:
        user_profile_update(user_id=profile.pk, name="Ada", email="ada@example.com")

    statements = [query["sql"].split()[0].upper() for query in queries.captured_queries]
    assert statements == ["SELECT"]  # one read: no lock, no transaction, the address is its own

    assert Profile.objects.get(pk=profile.pk).updated_at == before.updated_at
