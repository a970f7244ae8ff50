"""Customer accounts in the admin: finding them, reading them, editing name and email."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from common.events.models import OutboxEvent
from legacy_import.models import LegacyRowState
from support.models import StaffAction
from support.tests.admin_pages import CHANGELIST_URL, change_url
from users.tests.fake_auth import credential_state
from users.models import AccountActivity, AccountActivityEntry, Preferences, Profile

pytestmark = pytest.mark.django_db(databases="__all__")


def listed(client, **query) -> list[int]:
    response = client.get(CHANGELIST_URL, query)
    assert response.status_code == 200
    return sorted(profile.pk for profile in response.context["cl"].result_list)


# FINDING AN ACCOUNT
# ------------------------------------------------------------------------------


def test_an_email_is_found_in_any_case_and_in_the_form_the_sign_in_compares(support_client, make_profile):
    ada = make_profile("Ada.Lovelace@Example.com", name="Ada")
    gmail = make_profile("first.last+news@gmail.com")
    make_profile("grace@example.com", name="Grace")

    assert listed(support_client, q="ada.lovelace@EXAMPLE.COM") == [ada.pk]
    assert listed(support_client, q="FirstLast@GMail.com") == [gmail.pk]
    assert listed(support_client, q="  first.last+other@gmail.com ") == [gmail.pk]


def test_a_name_part_of_an_email_or_an_id_finds_accounts(support_client, make_profile):
    ada = make_profile("ada@example.com", name="Ada Lovelace")
    grace = make_profile("grace@example.com", name="Grace Hopper")

    assert listed(support_client, q="lovelace") == [ada.pk]
    assert listed(support_client, q="example.com") == [ada.pk, grace.pk]
    assert listed(support_client, q=str(grace.pk)) == [grace.pk]
    assert listed(support_client, q="9" * 30) == []  # a number no id can be


def test_unfinished_registrations_are_not_accounts(support_client, make_profile):
    active = make_profile("a@example.com")
    make_profile("pending@example.com", status=Profile.Status.PENDING)
    make_profile("cancelled@example.com", status=Profile.Status.CANCELLED)

    assert listed(support_client) == [active.pk]


def test_filters_by_active_joined_and_last_login(support_client, make_profile):
    now = timezone.now()
    old = make_profile("old@example.com", created_at=now - timedelta(days=400))
    inactive = make_profile("inactive@example.com", is_active=False)
    recent = make_profile("recent@example.com")
    AccountActivity.objects.create(profile=recent, last_login_at=now, login_count=1)

    assert listed(support_client, is_active__exact="0") == [inactive.pk]
    assert listed(support_client, is_active__exact="1") == [old.pk, recent.pk]
    week_ago = (now - timedelta(days=7)).isoformat()  # as the filter's "Past 7 days" link says it
    assert listed(support_client, created_at__gte=week_ago) == [inactive.pk, recent.pk]
    assert listed(support_client, activity__last_login_at__gte=week_ago) == [recent.pk]
    assert listed(support_client, activity__last_login_at__isnull="True") == [old.pk, inactive.pk]


def test_the_old_password_filter_keeps_imported_accounts_until_a_login_or_a_password_change(
    support_client, make_profile
):
    registered = make_profile("new@example.com")
    untouched, logged_in, changed = (make_profile(f"imported-{n}@example.com") for n in range(3))
    for profile in (untouched, logged_in, changed):
        LegacyRowState.objects.create(id=profile.pk, status="imported", imported_at=timezone.now())
    AccountActivity.objects.create(profile=logged_in, login_count=1, last_login_at=timezone.now())
    AccountActivity.objects.create(profile=changed, failed_login_count=2, password_changed_at=timezone.now())
    skipped = make_profile("skipped@example.com")
    LegacyRowState.objects.create(id=skipped.pk, status="skipped")

    assert listed(support_client, old_password="yes") == [untouched.pk]
    assert listed(support_client, old_password="no") == [registered.pk, logged_in.pk, changed.pk, skipped.pk]


# READING AN ACCOUNT
# ------------------------------------------------------------------------------


def test_the_account_page_shows_profile_preferences_activity_and_sign_in_but_never_a_hash(
    support_client, make_profile, auth_support
):
    profile = make_profile("ada@example.com", name="Ada Lovelace")
    Preferences.objects.create(profile=profile, theme="dark", language="pt-BR", notifications_enabled=False)
    AccountActivity.objects.create(profile=profile, login_count=7, failed_login_count=2)
    AccountActivityEntry.objects.create(
        profile=profile,
        event_id=uuid.uuid4(),
        kind=AccountActivityEntry.Kind.LOGIN_FAILED,
        reason="wrong_password",
        occurred_at=timezone.now(),
        request_id="req-4821",
    )
    auth_support.answers[("GET", "state")] = (
        200,
        credential_state(
            profile.pk, locked=True, locked_until="2026-11-21T10:30:00.000Z", failed_login_count=5, password="legacy"
        ),
    )

    page = support_client.get(change_url(profile)).content.decode()

    for shown in ("ada@example.com", "Ada Lovelace", "dark", "pt-BR", "off", "wrong_password", "req-4821"):
        assert shown in page
    assert "<strong>locked</strong> until 2026-11-21 10:30:00 UTC" in page
    assert "still the old system" in page
    assert "2026-11-20 09:15:00 UTC" in page  # last login, as auth says
    calls = [(call.method, call.user_id, call.action, call.issuer) for call in auth_support.calls]
    assert calls == [("GET", profile.pk, "state", "users")]
    assert "$2a$" not in page and "$2b$" not in page and "argon2$" not in page


def test_the_account_page_works_when_the_sign_in_service_does_not_answer(support_client, make_profile, absent_auth):
    profile = make_profile()

    response = support_client.get(change_url(profile))

    assert response.status_code == 200
    assert "the sign-in service did not answer" in response.content.decode()


@pytest.mark.parametrize("answer", [(500, {"error": "Internal server error"}), (200, {"user_id": 1})])
def test_the_account_page_works_when_the_sign_in_service_answers_nonsense(
    support_client, make_profile, auth_support, answer
):
    profile = make_profile()
    auth_support.answers[("GET", "state")] = answer

    response = support_client.get(change_url(profile))

    assert response.status_code == 200
    assert "the sign-in service did not answer" in response.content.decode()


def test_the_account_page_says_when_the_sign_in_service_has_no_login(support_client, make_profile, auth_support):
    profile = make_profile()
    auth_support.answers[("GET", "state")] = (404, {"error": "User not found"})

    page = support_client.get(change_url(profile)).content.decode()

    assert "holds no login for this account" in page


def test_the_account_page_lists_what_staff_did_newest_first(support_client, support_staff, make_profile):
    profile = make_profile()
    for action, reason in (("unlock", "locked out, called in"), ("end_sessions", "lost phone")):
        StaffAction.objects.create(staff=support_staff, user_id=profile.pk, action=action, reason=reason)

    page = support_client.get(change_url(profile)).content.decode()

    trail = page[page.index('id="staff-trail"') :]
    assert trail.index("lost phone") < trail.index("locked out, called in")
    assert "ended every session" in trail and "ana" in trail


def test_history_leads_to_the_staff_trail_of_the_account(support_client, make_profile):
    profile = make_profile()

    response = support_client.get(f"/admin/users/profile/{profile.pk}/history/")

    assert response["Location"] == f"/admin/support/staffaction/?user_id={profile.pk}"
    assert support_client.get(response["Location"]).status_code == 200


# EDITING NAME AND EMAIL
# ------------------------------------------------------------------------------


def edit(client, profile, **data):
    form = {"email": profile.email, "name": profile.name or "", "reason": "", **data}
    return client.post(change_url(profile), form)


def test_editing_the_email_publishes_the_change_and_records_it(support_client, support_staff, make_profile):
    profile = make_profile("ada@example.com", name="Ada", version=1)

    response = edit(support_client, profile, email="Ada.New@Example.com", reason="ticket 4821")

    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.email, profile.email_canonical, profile.version) == ("Ada.New@Example.com", "ada.new@example.com", 2)
    [event] = OutboxEvent.objects.all()
    assert (event.type, event.payload["email"], event.payload["changed"]) == (
        "user.profile.updated",
        "Ada.New@Example.com",
        ["email"],
    )
    [entry] = StaffAction.objects.all()
    assert (entry.staff, entry.user_id, entry.action, entry.reason, entry.details) == (
        support_staff,
        profile.pk,
        "profile_update",
        "ticket 4821",
        {"changed": ["email"]},
    )
    assert "ada" not in str(entry.details).lower()


def test_editing_the_name_alone(support_client, make_profile):
    profile = make_profile("ada@example.com", name="Ada", version=1)

    edit(support_client, profile, name="Ada Lovelace")

    profile.refresh_from_db()
    assert (profile.name, profile.email) == ("Ada Lovelace", "ada@example.com")
    assert StaffAction.objects.get().details == {"changed": ["name"]}


def test_editing_the_email_leaves_a_name_with_padding_as_it_is(support_client, make_profile):
    profile = make_profile("ada@example.com", name="  Ada  ", version=1)

    edit(support_client, profile, email="ada@new.example.com")

    profile.refresh_from_db()
    assert profile.name == "  Ada  "
    assert OutboxEvent.objects.get().payload["changed"] == ["email"]


def test_a_name_over_200_characters_is_refused_but_a_legacy_one_stays_while_not_edited(support_client, make_profile):
    legacy = "Maria " * 60
    profile = make_profile("maria@example.com", name=legacy, version=1)

    refused = edit(support_client, profile, name="x" * 201)
    assert refused.status_code == 200 and "At most 200 characters." in refused.content.decode()
    assert edit(support_client, profile, email="maria@new.example.com").status_code == 302

    profile.refresh_from_db()
    assert (profile.name, profile.email) == (legacy, "maria@new.example.com")


def test_saving_without_a_change_publishes_and_records_nothing(support_client, make_profile):
    profile = make_profile("ada@example.com", name="Ada", version=1)

    assert edit(support_client, profile).status_code == 302

    assert not OutboxEvent.objects.exists() and not StaffAction.objects.exists()


@pytest.mark.parametrize("taken", ["Grace.Hopper@Gmail.com", "gracehopper+work@gmail.com", "not an address"])
def test_an_email_of_another_account_or_no_email_is_refused_on_the_form(support_client, make_profile, taken):
    make_profile("grace.hopper@gmail.com")
    profile = make_profile("ada@example.com", version=1)

    response = edit(support_client, profile, email=taken)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"]
    profile.refresh_from_db()
    assert profile.email == "ada@example.com"
    assert not OutboxEvent.objects.exists() and not StaffAction.objects.exists()


def test_a_deactivated_account_is_read_only(support_client, make_profile):
    profile = make_profile("ada@example.com", is_active=False)

    page = support_client.get(change_url(profile)).content.decode()
    response = edit(support_client, profile, email="other@example.com")

    assert 'name="email"' not in page and "Deactivated" in page
    assert response.status_code == 403
    profile.refresh_from_db()
    assert profile.email == "ada@example.com"
