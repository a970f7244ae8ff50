"""``manage.py user_account``: support staff's actions on an account, through the services."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from common.events.models import OutboxEvent
from users.models import AccountActivity, Profile

pytestmark = pytest.mark.django_db(databases="__all__")


def run(*args) -> str:
    out = io.StringIO()
    call_command("user_account", *args, stdout=out)
    return out.getvalue()


def test_deactivate_reactivate_and_delete_publish_their_events(make_profile):
    user_id = make_profile().pk

    assert run("deactivate", str(user_id)).strip() == f"user {user_id}: deactivated"
    assert run("reactivate", str(user_id)).strip() == f"user {user_id}: reactivated"
    assert run("delete", str(user_id)).strip() == f"user {user_id}: deleted"

    assert list(OutboxEvent.objects.order_by("version").values_list("type", flat=True)) == [
        "user.deactivated",
        "user.reactivated",
        "user.deleted",
    ]
    assert not Profile.objects.exists()


def test_show_prints_the_profile_and_its_activity(make_profile):
    profile = make_profile("ada@example.com", name="Ada", version=2)
    AccountActivity.objects.create(profile=profile, login_count=3)

    shown = json.loads(run("show", str(profile.pk)))

    assert shown["user"] == {
        "id": profile.pk,
        "email": "ada@example.com",
        "name": "Ada",
        "status": "active",
        "is_active": True,
        "version": 2,
    }
    assert (shown["activity"]["login_count"], shown["activity"]["last_login_at"], shown["activity"]["recent"]) == (
        3,
        None,
        [],
    )


@pytest.mark.parametrize("action", ["show", "deactivate", "delete"])
def test_an_unknown_user_is_an_error(action):
    with pytest.raises(CommandError, match="User not found"):
        run(action, "404")
