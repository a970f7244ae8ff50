"""Every change to what a user's own GETs show advances the user's revision, here and in Redis, before it commits."""

import pytest
import redis
from django.db import transaction

from common import edge
from common.errors import ApiError
from users.models import Preferences, Profile
from users.services import (
    user_deactivate,
    user_delete,
    user_preferences_update,
    user_profile_update,
    user_reactivate,
    user_revision_establish,
    user_revisions_advance,
)

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture
def current(edge_redis):
    """``current(user_id)``: the user's current revision in Redis, or ``None``."""
    client = redis.Redis.from_url(edge_redis)

    def read(user_id: int) -> int | None:
        value = client.get(edge.revision_key("users", user_id))
        return int(value) if value is not None else None

    yield read
    client.close()


def revision_of(profile: Profile) -> int:
    return Profile.objects.values_list("revision", flat=True).get(pk=profile.pk)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: user_profile_update(user_id=p.pk, name="Renamed"), id="profile"),
        pytest.param(lambda p: user_profile_update(user_id=p.pk, email="other@example.com"), id="email"),
        pytest.param(lambda p: user_preferences_update(profile=p, theme="dark"), id="preferences"),
        pytest.param(lambda p: user_deactivate(user_id=p.pk), id="deactivate"),
    ],
)
def test_a_change_advances_the_revision_and_raises_the_current_one_in_redis(make_profile, current, change):
    profile = make_profile(name="Ada")
    before = revision_of(profile)

    change(profile)

    after = revision_of(profile)
    assert after > before
    assert current(profile.pk) == after


def test_reactivating_advances_it_too(make_profile, current):
    profile = make_profile(is_active=False)
    user_reactivate(user_id=profile.pk)
    assert current(profile.pk) == revision_of(profile)


def test_deleting_leaves_a_current_revision_no_earlier_copy_matches(make_profile, current):
    profile = make_profile()
    before = revision_of(profile)

    user_delete(user_id=profile.pk)

    assert current(profile.pk) > before


def test_an_unchanged_profile_advances_nothing(make_profile, current):
    profile = make_profile(name="Ada")
    before, current_before = revision_of(profile), current(profile.pk)

    user_profile_update(user_id=profile.pk, name="Ada")

    assert revision_of(profile) == before
    assert current(profile.pk) == current_before


def test_redis_down_refuses_the_change_with_a_503_and_nothing_changes(make_profile, settings, unreachable_redis_url):
    profile = make_profile(name="Ada")
    before = revision_of(profile)
    settings.REDIS_URL = unreachable_redis_url

    with pytest.raises(ApiError) as refused:
        user_profile_update(user_id=profile.pk, name="Lost")
    with pytest.raises(ApiError):
        user_preferences_update(profile=profile, theme="dark")

    assert (refused.value.status, refused.value.message) == (503, "Service unavailable")
    profile.refresh_from_db()
    assert (profile.name, profile.revision) == ("Ada", before)
    assert not Preferences.objects.filter(profile=profile).exists()


def test_revisions_only_go_up_in_redis(make_profile, current, edge_redis):
    profile = make_profile()
    edge.revisions_raise(edge_redis, "users", {profile.pk: 10**16}, ttl=60)

    with transaction.atomic(using="users"):
        user_revisions_advance(user_ids=[profile.pk])

    assert current(profile.pk) == 10**16


def test_many_users_advance_in_one_call_and_unknown_ids_are_left_out(make_profile, current):
    profiles = [make_profile(f"user{n}@example.com") for n in range(3)]

    with transaction.atomic(using="users"):
        revisions = user_revisions_advance(user_ids=[p.pk for p in profiles] + [999_999])

    assert set(revisions) == {p.pk for p in profiles}
    assert all(current(p.pk) == revisions[p.pk] == revision_of(p) for p in profiles)


def test_it_refuses_to_run_outside_the_changes_transaction(make_profile):
    with pytest.raises(RuntimeError):
        user_revisions_advance(user_ids=[make_profile().pk])


def test_establishing_sets_a_missing_revision_to_the_committed_one(make_profile, current):
    profile = make_profile()
    user_revision_establish(user_id=profile.pk)
    assert current(profile.pk) == revision_of(profile)


def test_establishing_never_lowers_a_revision_a_change_on_its_way_raised(make_profile, current, edge_redis):
    profile = make_profile()
    ahead = revision_of(profile) + 5
    edge.revisions_raise(edge_redis, "users", {profile.pk: ahead}, ttl=60)

    user_revision_establish(user_id=profile.pk)

    assert current(profile.pk) == ahead


def test_establishing_with_redis_down_answers_anyway(make_profile, settings, unreachable_redis_url):
    profile = make_profile()
    settings.REDIS_URL = unreachable_redis_url
    user_revision_establish(user_id=profile.pk)  # the gateway keeps forwarding: no error for the reader
