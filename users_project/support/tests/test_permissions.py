"""Who reaches the admin and what each may do there: staff only, Support with just what support needs."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client

from support.services import SUPPORT_GROUP, SUPPORT_PERMISSIONS, support_group_sync
from support.tests.admin_pages import CHANGELIST_URL, action_url, change_url
from support.tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.django_db(databases="__all__")


def group_permissions() -> set[str]:
    group = Group.objects.get(name=SUPPORT_GROUP)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def login(username: str, password: str) -> Client:
    client = Client()
    response = client.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"})
    return client, response


def test_migrate_made_the_support_group_with_just_what_support_needs():
    assert group_permissions() == set(SUPPORT_PERMISSIONS) == {
        "users.view_profile",
        "users.change_profile",
        "support.view_staffaction",
        "support.deactivate_account",
        "support.reactivate_account",
        "support.end_account_sessions",
        "support.unlock_account",
        "support.delete_account",
    }


def test_syncing_takes_away_what_was_added_to_the_group_by_hand():
    group = Group.objects.get(name=SUPPORT_GROUP)
    group.permissions.add(Permission.objects.get(codename="delete_user"))

    support_group_sync()

    assert group_permissions() == set(SUPPORT_PERMISSIONS)


def test_support_staff_sign_in_with_their_password(support_staff):
    client, response = login("ana", STAFF_PASSWORD)

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert client.get(CHANGELIST_URL).status_code == 200


def test_a_customer_account_never_reaches_the_admin(make_profile):
    # Customers are profiles here and credentials at the auth service: no staff account answers to them.
    profile = make_profile("customer@example.com")

    client, response = login(profile.email, STAFF_PASSWORD)

    assert response.status_code == 200
    assert "correct username and password for a staff account" in response.content.decode()
    assert client.get(CHANGELIST_URL).status_code == 302


def test_an_account_that_is_not_staff_or_disabled_cannot_sign_in(support_staff):
    get_user_model().objects.create_user(username="visitor", password=STAFF_PASSWORD)
    support_staff.is_active = False
    support_staff.save()

    for username in ("visitor", "ana"):
        client, response = login(username, STAFF_PASSWORD)
        assert response.status_code == 200
        assert client.get(CHANGELIST_URL).status_code == 302


def test_a_staff_member_without_permissions_sees_no_account(staff_client_with, make_profile):
    client = staff_client_with()
    profile = make_profile()

    assert client.get(CHANGELIST_URL).status_code == 403
    assert client.get(change_url(profile)).status_code == 403
    assert client.get(action_url(profile, "unlock")).status_code == 403


def test_support_can_neither_create_accounts_nor_delete_them_the_raw_way(support_client, make_profile):
    profile = make_profile()

    assert support_client.get("/admin/users/profile/add/").status_code == 403
    assert support_client.get(f"/admin/users/profile/{profile.pk}/delete/").status_code == 403
    changelist = support_client.get(CHANGELIST_URL).content.decode()
    assert "delete_selected" not in changelist


def test_support_cannot_manage_staff_accounts_or_groups(support_client):
    for url in ("/admin/auth/user/", "/admin/auth/group/", "/admin/auth/user/add/"):
        assert support_client.get(url).status_code == 403


def test_the_staff_trail_cannot_be_written_through_the_admin_by_anyone(support_client):
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", STAFF_PASSWORD)
    root = Client()
    root.force_login(superuser)

    for client in (support_client, root):
        assert client.get("/admin/support/staffaction/").status_code == 200
        assert client.get("/admin/support/staffaction/add/").status_code == 403


def test_a_staff_member_may_see_accounts_without_acting_on_them(staff_client_with, make_profile):
    client = staff_client_with("users.view_profile")
    profile = make_profile()

    page = client.get(change_url(profile)).content.decode()

    assert "support-action-deactivate" not in page
    assert 'name="email"' not in page
    assert client.get(action_url(profile, "deactivate")).status_code == 403
    assert client.post(action_url(profile, "deactivate"), {"reason": "r"}).status_code == 403
    profile.refresh_from_db()
    assert profile.is_active


def test_each_action_needs_its_own_permission(staff_client_with, make_profile):
    client = staff_client_with("users.view_profile", "support.unlock_account")
    profile = make_profile()

    page = client.get(change_url(profile)).content.decode()

    assert "support-action-unlock" in page
    assert "support-action-deactivate" not in page and "support-action-delete" not in page
    assert client.get(action_url(profile, "unlock")).status_code == 200
    assert client.get(action_url(profile, "delete")).status_code == 403

