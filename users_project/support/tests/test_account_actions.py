"""The account actions, one account at a time and on a selection: what each does, records and refuses."""

import pytest

from common.events.models import OutboxEvent
from support.models import StaffAction
from support.tests.admin_pages import CHANGELIST_URL, action_url, change_url
from users.models import Profile

pytestmark = pytest.mark.django_db(databases="__all__")


def events() -> list[tuple[str, int]]:
    return list(OutboxEvent.objects.order_by("pk").values_list("type", "aggregate_id"))


def trail() -> list[tuple[str, int, str]]:
    return list(StaffAction.objects.order_by("pk").values_list("action", "user_id", "reason"))


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# ONE ACCOUNT
# ------------------------------------------------------------------------------


def test_each_action_asks_for_confirmation_and_a_reason_first(support_client, make_profile):
    profile = make_profile("ada@example.com")

    page = support_client.get(action_url(profile, "deactivate"))

    assert page.status_code == 200
    content = page.content.decode()
    assert "ada@example.com" in content and 'name="reason"' in content and "within seconds" in content
    assert not events() and not trail()


@pytest.mark.parametrize("action", ["deactivate", "end-sessions", "delete"])
def test_a_destructive_action_without_a_reason_does_nothing(support_client, make_profile, auth_support, action):
    profile = make_profile()

    response = support_client.post(action_url(profile, action), {"reason": "   "})

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert Profile.objects.get(pk=profile.pk).is_active
    assert not events() and not trail() and not auth_support.calls


def test_deactivation_publishes_user_deactivated_and_records_who_and_why(support_client, support_staff, make_profile):
    profile = make_profile("ada@example.com", version=1)

    response = support_client.post(action_url(profile, "deactivate"), {"reason": "fraud report 77"}, follow=True)

    assert response.redirect_chain == [(change_url(profile), 302)]
    assert f"Account {profile.pk} (ada@example.com) deactivated" in messages_of(response)[0]
    assert not Profile.objects.get(pk=profile.pk).is_active
    assert events() == [("user.deactivated", str(profile.pk))]
    entry = StaffAction.objects.get()
    assert (entry.staff, entry.action, entry.user_id, entry.reason) == (
        support_staff,
        "deactivate",
        profile.pk,
        "fraud report 77",
    )
    assert entry.request_id and entry.occurred_at


def test_reactivation_needs_no_reason(support_client, make_profile):
    profile = make_profile(is_active=False, version=2)

    support_client.post(action_url(profile, "reactivate"), {"reason": ""})

    assert Profile.objects.get(pk=profile.pk).is_active
    assert events() == [("user.reactivated", str(profile.pk))]
    assert trail() == [("reactivate", profile.pk, "")]


def test_only_the_actions_that_fit_the_account_are_offered(support_client, make_profile):
    active, inactive = make_profile("a@example.com"), make_profile("b@example.com", is_active=False)

    active_page = support_client.get(change_url(active)).content.decode()
    inactive_page = support_client.get(change_url(inactive)).content.decode()
    again = support_client.post(action_url(inactive, "deactivate"), {"reason": "twice"}, follow=True)

    assert "support-action-deactivate" in active_page and "support-action-reactivate" not in active_page
    assert "support-action-reactivate" in inactive_page and "support-action-deactivate" not in inactive_page
    for page in (active_page, inactive_page):
        assert all(f"support-action-{name}" in page for name in ("end-sessions", "unlock", "delete"))
    assert "not for this account as it is now" in messages_of(again)[0]
    assert not events() and not trail()


def test_deletion_erases_the_account_here_publishes_user_deleted_and_keeps_only_the_id(support_client, make_profile):
    profile = make_profile("ada@example.com", name="Ada", version=1)

    response = support_client.post(action_url(profile, "delete"), {"reason": "customer asked, ticket 9"})

    assert response["Location"] == CHANGELIST_URL
    assert not Profile.objects.filter(pk=profile.pk).exists()
    assert events() == [("user.deleted", str(profile.pk))]
    entry = StaffAction.objects.get()
    assert (entry.action, entry.user_id, entry.details) == ("delete", profile.pk, {})
    assert "ada" not in f"{entry.reason} {entry.details}".lower()


def test_ending_every_session_asks_the_auth_service_and_records_it(support_client, make_profile, auth_support):
    profile = make_profile()

    support_client.post(action_url(profile, "end-sessions"), {"reason": "phone stolen"})

    assert [call.user_id for call in auth_support.calls_to("POST", "end-sessions")] == [profile.pk]
    assert trail() == [("end_sessions", profile.pk, "phone stolen")]
    assert not events()


def test_unlocking_asks_the_auth_service_and_records_it(support_client, make_profile, auth_support):
    profile = make_profile()

    response = support_client.post(action_url(profile, "unlock"), {"reason": ""}, follow=True)

    assert [call.user_id for call in auth_support.calls_to("POST", "unlock")] == [profile.pk]
    assert [call.issuer for call in auth_support.calls] == ["users", "users"]  # the unlock, then the page's state
    assert trail() == [("unlock", profile.pk, "")]
    assert "unlocked" in messages_of(response)[0]


@pytest.mark.parametrize("action", ["unlock", "end-sessions"])
def test_when_the_auth_service_cannot_be_reached_nothing_is_recorded(support_client, make_profile, absent_auth, action):
    profile = make_profile()

    response = support_client.post(action_url(profile, action), {"reason": "called in"}, follow=True)

    assert "cannot be reached; nothing changed" in messages_of(response)[0]
    assert not trail()


@pytest.mark.parametrize(("status", "says"), [(503, "nothing changed"), (404, "holds no credentials")])
def test_when_the_auth_service_refuses_nothing_is_recorded(support_client, make_profile, auth_support, status, says):
    profile = make_profile()
    auth_support.answers[("POST", "end-sessions")] = (status, {"error": "..."})

    response = support_client.post(action_url(profile, "end-sessions"), {"reason": "called in"}, follow=True)

    assert says in messages_of(response)[0]
    assert not trail()


def test_an_account_deleted_meanwhile_is_said_so(support_client, make_profile):
    profile = make_profile()
    page = action_url(profile, "deactivate")
    Profile.objects.filter(pk=profile.pk).delete()

    response = support_client.post(page, {"reason": "too late"}, follow=True)

    assert "doesn’t exist" in messages_of(response)[0]
    assert not trail()


# A SELECTION OF ACCOUNTS
# ------------------------------------------------------------------------------


def bulk(client, action: str, profiles, **extra):
    data = {"action": action, "_selected_action": [p.pk for p in profiles], **extra}
    return client.post(CHANGELIST_URL, data)


def test_bulk_deactivation_asks_one_reason_then_deactivates_each_account(support_client, make_profile):
    profiles = [make_profile(f"user{n}@example.com", version=1) for n in range(3)]
    already = make_profile("already@example.com", is_active=False)

    confirm = bulk(support_client, "deactivate_selected", [*profiles, already], index="0")
    done = bulk(support_client, "deactivate_selected", [*profiles, already], reason="spam wave", confirm="yes")

    assert confirm.status_code == 200 and "user2@example.com" in confirm.content.decode()
    assert done.status_code == 302
    assert not Profile.objects.filter(is_active=True).exists()
    assert sorted(events()) == sorted(("user.deactivated", str(p.pk)) for p in profiles)
    assert sorted(trail()) == sorted(("deactivate", p.pk, "spam wave") for p in profiles)


def test_bulk_deactivation_without_a_reason_asks_again(support_client, make_profile):
    profile = make_profile()

    response = bulk(support_client, "deactivate_selected", [profile], reason="", confirm="yes")

    assert response.status_code == 200 and response.context["form"].errors["reason"]
    assert Profile.objects.get(pk=profile.pk).is_active


def test_bulk_end_sessions_calls_the_auth_service_per_account_and_reports_failures(
    support_client, make_profile, auth_support
):
    first, second = make_profile("first@example.com"), make_profile("second@example.com")
    auth_support.answers[("POST", "end-sessions")] = (404, {"error": "User not found"})

    response = bulk(support_client, "end_sessions_selected", [first, second], reason="breach", confirm="yes")

    assert sorted([call.user_id for call in auth_support.calls_to("POST", "end-sessions")]) == [first.pk, second.pk]
    shown = messages_of(support_client.get(response["Location"]))
    assert "done for 0 account(s)" in shown[0]
    assert any("first@example.com" in message for message in shown[1:])
    assert not trail()


def test_bulk_actions_need_their_permissions(staff_client_with, make_profile):
    client = staff_client_with("users.view_profile", "users.change_profile")
    profile = make_profile()

    page = client.get(CHANGELIST_URL).content.decode()
    response = bulk(client, "deactivate_selected", [profile], reason="no", confirm="yes")

    assert "deactivate_selected" not in page and "end_sessions_selected" not in page
    assert Profile.objects.get(pk=profile.pk).is_active
    assert response.status_code in (200, 302) and not trail()
