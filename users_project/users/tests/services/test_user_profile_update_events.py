"""``user_profile_update`` publishes ``user.profile.updated`` in its own transaction, once per real change."""

import pytest

from common.errors import ApiError
from common.events.models import OutboxEvent
from users.services import user_profile_update

pytestmark = pytest.mark.django_db(databases="__all__")


def test_a_change_writes_the_event_with_the_users_whole_state_at_the_next_version(
    make_profile, django_capture_on_commit_callbacks
):
    profile = make_profile("ada@example.com", name="Ada", version=1)

    with django_capture_on_commit_callbacks(using="users") as callbacks:
        user_profile_update(user_id=profile.pk, email="Ada.L@example.com")

    profile.refresh_from_db()
    assert profile.version == 2
    event = OutboxEvent.objects.get()
    assert (event.type, event.aggregate_id, event.version, event.sent_at) == (
        "user.profile.updated",
        str(profile.pk),
        2,
        None,
    )
    assert event.payload == {
        "user_id": profile.pk,
        "email": "Ada.L@example.com",
        "name": "Ada",
        "is_active": True,
        "changed": ["email"],
    }
    assert len(callbacks) == 1  # sent after the commit, not before


def test_each_change_gets_the_next_version(make_profile):
    profile = make_profile("ada@example.com", version=1)

    user_profile_update(user_id=profile.pk, email="first@example.com")
    user_profile_update(user_id=profile.pk, email="second@example.com", name="Ada")

    events = list(OutboxEvent.objects.order_by("version").values_list("version", "payload"))
    assert [version for version, _ in events] == [2, 3]
    assert events[1][1]["changed"] == ["email", "name"]
    assert events[1][1]["email"] == "second@example.com"


def test_nothing_changed_publishes_nothing(make_profile):
    profile = make_profile("ada@example.com", name="Ada", version=1)

    user_profile_update(user_id=profile.pk, email="ada@example.com", name="Ada")
    user_profile_update(user_id=profile.pk)

    assert not OutboxEvent.objects.exists()
    profile.refresh_from_db()
    assert profile.version == 1


def test_a_refused_update_rolls_back_and_publishes_nothing(make_profile, django_capture_on_commit_callbacks):
    make_profile("bob@example.com")
    profile = make_profile("ada@example.com", version=1)

    with django_capture_on_commit_callbacks(using="users") as callbacks:
        with pytest.raises(ApiError, match="Email already in use"):
            user_profile_update(user_id=profile.pk, email="BOB@example.com", name="changed")

    assert callbacks == []
    assert not OutboxEvent.objects.exists()
    profile.refresh_from_db()
    assert (profile.version, profile.name) == (1, None)
