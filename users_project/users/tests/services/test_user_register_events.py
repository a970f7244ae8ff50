"""A completed registration publishes ``user.registered`` (version 1) with the activation; a failed one nothing."""

import pytest

from common.errors import ApiError
from common.events.models import OutboxEvent
from users.models import Profile
from users.services import user_register

pytestmark = pytest.mark.django_db(databases="__all__")

PASSWORD = "correct-Horse-battery-9"


def test_the_activation_publishes_user_registered(fake_auth):
    registration = user_register(email="Ada@Example.com", password=PASSWORD, name="Ada")

    profile = Profile.objects.get()
    assert (profile.status, profile.version, registration.profile.version) == (Profile.Status.ACTIVE, 1, 1)
    event = OutboxEvent.objects.get()
    assert (event.type, event.aggregate_id, event.version) == ("user.registered", str(profile.pk), 1)
    assert event.payload == {
        "user_id": profile.pk,
        "email": "Ada@Example.com",
        "name": "Ada",
        "is_active": True,
        "created_at": profile.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


@pytest.mark.parametrize("answer", [(409, {"error": "User already exists"}), (500, {"error": "boom"})])
def test_a_registration_that_fails_publishes_nothing(fake_auth, answer):
    fake_auth.answers["POST"] = answer
    with pytest.raises(ApiError):
        user_register(email="ada@example.com", password=PASSWORD)
    assert not OutboxEvent.objects.exists()
