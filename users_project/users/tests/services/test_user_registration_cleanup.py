from datetime import timedelta

import pytest
from django.utils import timezone

from users.models import Profile
from users.services import user_registration_cleanup

pytestmark = pytest.mark.django_db(databases="__all__")

MAX_AGE = timedelta(minutes=5)


@pytest.fixture
def stale(make_profile):
    """``stale(email, status)``: an unfinished registration older than the cleanup's threshold."""

    def make(email, status=Profile.Status.PENDING):
        return make_profile(email, status=status, created_at=timezone.now() - MAX_AGE - timedelta(seconds=1))

    return make


def test_deletes_credentials_then_profiles_of_old_unfinished_registrations(fake_auth, stale):
    pending = stale("p@example.com")
    cancelled = stale("c@example.com", Profile.Status.CANCELLED)

    assert user_registration_cleanup(older_than=MAX_AGE) == 2

    assert sorted(call.path for call in fake_auth.calls_to("DELETE")) == sorted(
        f"/internal/credentials/{profile.pk}" for profile in (pending, cancelled)
    )
    assert all(call.issuer == "users" for call in fake_auth.calls)
    assert not Profile.objects.exists()


def test_leaves_active_profiles_and_registrations_still_in_progress(fake_auth, make_profile, stale):
    make_profile("young@example.com", status=Profile.Status.PENDING)
    make_profile("old-but-active@example.com", created_at=timezone.now() - timedelta(days=400))

    assert user_registration_cleanup(older_than=MAX_AGE) == 0

    assert fake_auth.calls == []
    assert Profile.objects.count() == 2


def test_a_profile_whose_credentials_auth_would_not_delete_stays_cancelled(fake_auth, stale):
    profile = stale("p@example.com")
    fake_auth.answers["DELETE"] = (500, None)

    assert user_registration_cleanup(older_than=MAX_AGE) == 0

    profile.refresh_from_db()
    assert profile.status == Profile.Status.CANCELLED  # claimed: a late request can no longer activate it


def test_stops_at_the_first_failure_to_reach_auth_and_keeps_everything_for_the_next_run(absent_auth, stale):
    stale("a@example.com")
    stale("b@example.com")

    assert user_registration_cleanup(older_than=MAX_AGE) == 0

    assert Profile.objects.count() == 2
