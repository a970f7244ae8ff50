from datetime import timedelta

import pytest
from django.utils import timezone

from common.errors import ApiError
from users.models import Profile
from users.services import user_register
from users.tasks import registration_cleanup

pytestmark = pytest.mark.django_db(databases="__all__")


def test_a_registration_whose_compensation_failed_is_finished_by_the_cleanup(fake_auth, settings):
    fake_auth.answers["POST"] = (500, None)
    fake_auth.answers["DELETE"] = (503, None)
    with pytest.raises(ApiError, match="Service unavailable"):
        user_register(email="late@example.com", password="correct-Horse-battery-9")
    left = Profile.objects.get()
    assert left.status == Profile.Status.CANCELLED

    # Minutes later, auth is back.
    Profile.objects.filter(pk=left.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.USERS_PENDING_REGISTRATION_MAX_AGE + 1)
    )
    fake_auth.answers["DELETE"] = (204, None)

    assert registration_cleanup() == 1

    assert [call.path for call in fake_auth.calls_to("DELETE")] == [f"/internal/credentials/{left.pk}"] * 2
    assert not Profile.objects.exists()


def test_the_cleanup_runs_every_minute_on_the_users_queue(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["users-registration-cleanup"]
    assert entry == {"task": "users.tasks.registration_cleanup", "schedule": 60.0}
    assert registration_cleanup.name == entry["task"]
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "users"
