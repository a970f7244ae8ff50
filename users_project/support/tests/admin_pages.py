"""Where the tests find the admin's pages about customer accounts."""

from django.urls import reverse

CHANGELIST_URL = "/admin/users/profile/"


def change_url(profile) -> str:
    return reverse("admin:users_profile_change", args=[profile.pk])


def action_url(profile, action: str) -> str:
    return reverse("admin:users_profile_account_action", args=[profile.pk, action])
