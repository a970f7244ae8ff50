"""Where the tests find the admin's pages about customer accounts."""

from django.urls import reverse

CHANGELIST_URL = "/admin/users/profile/"
LOGIN_URL = "/admin/login/"


def sign_in(client, username: str, password: str, otp_token: str = "", ip: str = "198.51.100.1"):
    """Post the admin's sign-in form from ``ip`` (as the gateway says it in ``X-Real-IP``); the response."""
    form = {"username": username, "password": password, "otp_token": otp_token, "next": "/admin/"}
    return client.post(LOGIN_URL, form, headers={"X-Real-IP": ip})


def change_url(profile) -> str:
    return reverse("admin:users_profile_change", args=[profile.pk])


def action_url(profile, action: str) -> str:
    return reverse("admin:users_profile_account_action", args=[profile.pk, action])
