"""The staff trail in the admin: what staff did, found by account, staff member or reason."""

import pytest

from support.models import StaffAction

pytestmark = pytest.mark.django_db(databases="__all__")


def found(client, term: str) -> list[int]:
    response = client.get("/admin/support/staffaction/", {"q": term})
    return sorted(entry.user_id for entry in response.context["cl"].result_list)


def test_the_trail_is_found_by_account_id_staff_or_reason(support_client, support_staff):
    StaffAction.objects.create(staff=support_staff, user_id=42, action="unlock", reason="called in")
    StaffAction.objects.create(staff=support_staff, user_id=43, action="unlock", reason="chat")

    assert found(support_client, "42") == [42]
    assert found(support_client, "chat") == [43]
    assert found(support_client, "ana") == [42, 43]
    assert found(support_client, "9" * 30) == []


def test_each_entry_links_to_the_account_and_says_what_changed(support_client, support_staff):
    StaffAction.objects.create(
        staff=support_staff, user_id=42, action="profile_update", details={"changed": ["email", "name"]}
    )

    page = support_client.get("/admin/support/staffaction/").content.decode()

    assert 'href="/admin/users/profile/42/change/"' in page
    assert "email, name" in page and "edited the profile" in page
