"""Deactivation, reactivation and deletion: what changes here, and the event that makes the auth service follow."""

import time

import pytest

from common import revocation
from common.errors import ApiError
from common.legacy_import.models import Status
from common.events.models import OutboxEvent
from users.models import AccountActivity, Preferences, Profile
from users.selectors import user_profile_get
from users.services import user_deactivate, user_delete, user_reactivate
from legacy_import.models import LegacyRowState

pytestmark = pytest.mark.django_db(databases="__all__")


def events():
    return list(OutboxEvent.objects.order_by("version").values_list("type", "version", "payload"))


def test_deactivation_hides_the_profile_and_publishes_user_deactivated(make_profile):
    profile = make_profile("ada@example.com", name="Ada", version=4)

    user_deactivate(user_id=profile.pk)

    profile.refresh_from_db()
    assert (profile.is_active, profile.version) == (False, 5)
    assert user_profile_get(user_id=profile.pk) is None
    assert events() == [
        (
            "user.deactivated",
            5,
            {"user_id": profile.pk, "email": "ada@example.com", "name": "Ada", "is_active": False},
        )
    ]


def test_deactivating_twice_publishes_once(make_profile):
    profile = make_profile(version=1)
    user_deactivate(user_id=profile.pk)
    user_deactivate(user_id=profile.pk)
    assert [event_type for event_type, _, _ in events()] == ["user.deactivated"]


def test_reactivation_shows_the_profile_again_and_publishes_user_reactivated(make_profile):
    profile = make_profile(version=1)
    user_deactivate(user_id=profile.pk)

    user_reactivate(user_id=profile.pk)
    user_reactivate(user_id=profile.pk)

    assert user_profile_get(user_id=profile.pk) == profile
    assert [(event_type, version) for event_type, version, _ in events()] == [
        ("user.deactivated", 2),
        ("user.reactivated", 3),
    ]
    assert events()[1][2]["is_active"] is True


def test_deletion_removes_everything_here_and_publishes_user_deleted(make_profile):
    profile = make_profile("ada@example.com", version=2)
    Preferences.objects.create(profile=profile)
    AccountActivity.objects.create(profile=profile, login_count=3)

    user_delete(user_id=profile.pk)

    assert not Profile.objects.exists()
    assert not Preferences.objects.exists() and not AccountActivity.objects.exists()
    assert events() == [("user.deleted", 3, {"user_id": profile.pk})]


def test_a_deactivated_user_can_be_deleted(make_profile):
    profile = make_profile(version=1)
    user_deactivate(user_id=profile.pk)
    user_delete(user_id=profile.pk)
    assert [event_type for event_type, _, _ in events()] == ["user.deactivated", "user.deleted"]


@pytest.mark.parametrize("action", [user_deactivate, user_reactivate, user_delete])
@pytest.mark.parametrize("status", [Profile.Status.PENDING, Profile.Status.CANCELLED])
def test_an_unfinished_registration_is_left_to_the_cleanup(make_profile, action, status):
    profile = make_profile(status=status)
    with pytest.raises(ApiError, match="User not found") as info:
        action(user_id=profile.pk)
    assert info.value.status == 404
    assert Profile.objects.filter(pk=profile.pk).exists()
    assert not OutboxEvent.objects.exists()


@pytest.mark.parametrize("action", [user_deactivate, user_reactivate, user_delete])
def test_an_unknown_user_is_not_found(action):
    with pytest.raises(ApiError, match="User not found"):
        action(user_id=404)


def test_deletion_erases_the_address_the_legacy_import_kept(make_profile):
    profile = make_profile("ada@example.com")
    LegacyRowState.objects.create(
        pk=profile.pk, status=Status.IMPORTED, email="ada@example.com", detail="ada@example.com: not bcrypt"
    )
    user_delete(user_id=profile.pk)
    assert LegacyRowState.objects.filter(pk=profile.pk).values_list("email", "detail").get() == ("", "")


# TOKENS REFUSED FROM THE COMMIT: common.revocation's mark, read by the gateway and the auth service
# ------------------------------------------------------------------------------


@pytest.fixture
def revocations(edge_redis):
    return revocation.client_for(edge_redis)


def refused(client, user_id: int, issued_at: float) -> bool:
    return revocation.user_tokens_refused(client, user_id, issued_at=issued_at)


@pytest.mark.parametrize("action", [user_deactivate, user_delete])
def test_deactivation_and_deletion_refuse_the_users_tokens_before_the_auth_service_hears(make_profile, revocations, action):
    profile = make_profile()
    revocations.delete(f"{revocation.PREFIX}:disabled:{profile.pk}")  # a mark an earlier run left for this id

    action(user_id=profile.pk)

    assert refused(revocations, profile.pk, time.time() + 3600)  # every token, whenever issued


def test_reactivation_accepts_tokens_issued_from_then_on_only(make_profile, revocations):
    profile = make_profile()
    user_deactivate(user_id=profile.pk)
    before = time.time() - 1

    user_reactivate(user_id=profile.pk)

    assert refused(revocations, profile.pk, before)  # the sessions the deactivation ended stay ended
    assert not refused(revocations, profile.pk, time.time() + 1)


def test_reactivating_an_active_user_lifts_a_refusal_left_behind(make_profile, revocations):
    """A deactivation whose commit failed after the mark was written: support staff reactivate to lift it."""
    profile = make_profile(version=1)
    revocation.user_disable(revocations, profile.pk)

    user_reactivate(user_id=profile.pk)

    assert not refused(revocations, profile.pk, time.time() + 1)
    assert not OutboxEvent.objects.exists()


def test_reactivating_an_active_user_leaves_their_tokens_alone(make_profile, revocations):
    profile = make_profile(version=1)
    revocations.delete(f"{revocation.PREFIX}:disabled:{profile.pk}")

    user_reactivate(user_id=profile.pk)

    assert revocations.get(f"{revocation.PREFIX}:disabled:{profile.pk}") is None


@pytest.mark.parametrize("action", [user_deactivate, user_delete, user_reactivate])
def test_a_refusal_redis_does_not_take_is_a_503_and_nothing_changes(make_profile, monkeypatch, action):
    profile = make_profile(version=1)
    if action is user_reactivate:
        user_deactivate(user_id=profile.pk)
        OutboxEvent.objects.all().delete()

    def unavailable(*args, **kwargs):
        raise revocation.RevocationUnavailable("down")

    monkeypatch.setattr(revocation, "user_disable", unavailable)
    monkeypatch.setattr(revocation, "user_enable", unavailable)
    with pytest.raises(ApiError) as raised:
        action(user_id=profile.pk)

    assert (raised.value.status, raised.value.message) == (503, "Service unavailable")
    assert Profile.objects.get(pk=profile.pk).is_active is (action is not user_reactivate)
    assert not OutboxEvent.objects.exists()
