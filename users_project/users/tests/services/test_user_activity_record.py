"""The auth service's sign-in events, applied by the users service's consumer to the activity read model."""

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from django.db import connections, router

from common.events.envelope import envelope_build, event_from_envelope
from common.events.inbox import events_consume
from common.events.models import InboxEvent, ParkedMessage
from users.models import AccountActivity, AccountActivityEntry
from users.selectors import user_activity_get, user_activity_recent
from users.services import ACTIVITY_RECENT_LIMIT, user_activity_record

pytestmark = pytest.mark.django_db(databases="__all__")

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def auth_event(event_type, user_id, *, at=T0, version=1, **payload):
    return envelope_build(
        id=uuid.uuid4(),
        type=event_type,
        source="auth",
        aggregate_id=str(user_id),
        version=version,
        occurred_at=at,
        request_id="req-1",
        payload={"user_id": user_id, **payload},
    )


def consume(*envelopes):
    return events_consume(envelopes=list(envelopes), attempt=0)


def test_each_kind_of_event_updates_the_summary_and_the_recent_list(make_profile):
    user_id = make_profile().pk

    consume(
        auth_event("auth.login.success", user_id, at=T0, version=1),
        auth_event("auth.login.failed", user_id, at=T0 + timedelta(minutes=1), version=2, reason="wrong_password"),
        auth_event("auth.password.changed", user_id, at=T0 + timedelta(minutes=2), version=3),
        auth_event("auth.logout", user_id, at=T0 + timedelta(minutes=3), version=4, session_ended=True),
    )

    activity = user_activity_get(user_id=user_id)
    assert (activity.login_count, activity.failed_login_count) == (1, 1)
    assert activity.last_login_at == T0
    assert activity.last_failed_login_at == T0 + timedelta(minutes=1)
    assert activity.password_changed_at == T0 + timedelta(minutes=2)
    assert activity.last_logout_at == T0 + timedelta(minutes=3)
    recent = user_activity_recent(user_id=user_id)
    assert [(entry.kind, entry.reason) for entry in recent] == [
        ("logout", ""),
        ("password_changed", ""),
        ("login_failed", "wrong_password"),
        ("login_succeeded", ""),
    ]
    assert {entry.request_id for entry in recent} == {"req-1"}


def test_an_event_delivered_twice_counts_once(make_profile):
    user_id = make_profile().pk
    failure = auth_event("auth.login.failed", user_id, reason="wrong_password")

    consume(failure)
    result = consume(failure)

    assert result.duplicate == 1
    assert user_activity_get(user_id=user_id).failed_login_count == 1
    assert AccountActivityEntry.objects.count() == 1


def test_events_out_of_order_all_count_and_the_latest_time_wins(make_profile):
    user_id = make_profile().pk
    later = auth_event("auth.login.success", user_id, at=T0 + timedelta(hours=1), version=2)
    earlier = auth_event("auth.login.success", user_id, at=T0, version=1)

    consume(later)
    consume(earlier)

    activity = user_activity_get(user_id=user_id)
    assert (activity.login_count, activity.last_login_at) == (2, T0 + timedelta(hours=1))


def test_only_the_most_recent_entries_are_kept(make_profile):
    user_id = make_profile().pk
    consume(
        *(
            auth_event("auth.login.failed", user_id, at=T0 + timedelta(seconds=n), version=n + 1, reason="locked")
            for n in range(ACTIVITY_RECENT_LIMIT + 5)
        )
    )
    recent = AccountActivityEntry.objects.filter(profile_id=user_id)
    assert recent.count() == ACTIVITY_RECENT_LIMIT
    assert min(recent.values_list("occurred_at", flat=True)) == T0 + timedelta(seconds=5)
    assert user_activity_get(user_id=user_id).failed_login_count == ACTIVITY_RECENT_LIMIT + 5


def test_among_entries_of_the_same_time_the_latest_recorded_are_kept(make_profile):
    user_id = make_profile().pk
    consume(*(auth_event("auth.login.success", user_id, version=n + 1) for n in range(ACTIVITY_RECENT_LIMIT + 3)))
    consume(auth_event("auth.logout", user_id, version=ACTIVITY_RECENT_LIMIT + 4))

    recent = AccountActivityEntry.objects.filter(profile_id=user_id).order_by("pk")
    assert recent.count() == ACTIVITY_RECENT_LIMIT
    assert recent.last().kind == "logout"  # the newest, at the same time as the others


def test_a_sign_in_of_a_user_with_activity_costs_three_statements(make_profile, django_assert_num_queries):
    """Every login's event passes here: the summary in one UPDATE, the entry, the pruning."""
    user_id = make_profile().pk
    user_activity_record(event=event_from_envelope(auth_event("auth.login.success", user_id, version=1)))
    later = event_from_envelope(auth_event("auth.login.success", user_id, at=T0 + timedelta(hours=1), version=2))

    with django_assert_num_queries(3, connection=connections[router.db_for_write(AccountActivity)]):
        user_activity_record(event=later)

    activity = user_activity_get(user_id=user_id)
    assert (activity.login_count, activity.last_login_at) == (2, T0 + timedelta(hours=1))


@pytest.mark.parametrize(
    ("event_type", "counts", "latest"),
    [
        ("auth.login.success", (1, 0), "last_login_at"),
        ("auth.login.failed", (0, 1), "last_failed_login_at"),
        ("auth.logout", (0, 0), "last_logout_at"),
        ("auth.password.changed", (0, 0), "password_changed_at"),
    ],
)
def test_a_first_sign_in_makes_the_summary_in_the_same_three_statements(
    make_profile, django_assert_num_queries, event_type, counts, latest
):
    """A migrated user's first login: the summary made by the statement that counts it, no lookup of the profile."""
    user_id = make_profile().pk
    first = event_from_envelope(auth_event(event_type, user_id, reason="wrong_password"))

    with django_assert_num_queries(3, connection=connections[router.db_for_write(AccountActivity)]):
        user_activity_record(event=first)

    activity = user_activity_get(user_id=user_id)
    assert (activity.login_count, activity.failed_login_count) == counts
    assert getattr(activity, latest) == T0
    times = {"last_login_at", "last_failed_login_at", "last_logout_at", "password_changed_at"} - {latest}
    assert [getattr(activity, name) for name in sorted(times)] == [None] * 3
    assert AccountActivityEntry.objects.filter(profile_id=user_id).count() == 1


def test_an_event_about_a_user_deleted_here_changes_nothing(make_profile):
    result = consume(auth_event("auth.login.success", 999_999))
    assert result.applied == 1
    assert not AccountActivity.objects.exists()


def test_a_malformed_payload_is_retried_then_parked_and_counts_nothing(make_profile, settings):
    settings.EVENTS_MAX_RETRIES = 1
    user_id = make_profile().pk
    broken = auth_event("auth.login.success", user_id)
    broken["payload"]["user_id"] = "not a number"

    assert consume(broken).retry == [broken]
    assert events_consume(envelopes=[broken], attempt=1).parked == 1

    assert ParkedMessage.objects.get().error.startswith("ValueError")
    assert not AccountActivity.objects.exists() and not InboxEvent.objects.exists()
