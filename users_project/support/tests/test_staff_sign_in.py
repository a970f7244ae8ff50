"""Signing in to the admin: the lockout (django-axes), the one-time code (django-otp) and the sign-in trail."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.backends import ModelBackend
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP

from support.models import StaffSignIn
from support.services import staff_account_otp_enrol, staff_account_provision
from support.tests.admin_pages import sign_in
from support.tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.django_db(databases="__all__")

GENERIC = "Please enter the correct username and password for a staff account"


def signed_in(response) -> bool:
    return response.status_code == 302 and response.url == "/admin/"


def outcomes(username: str) -> list[str]:
    return list(StaffSignIn.objects.filter(username=username).order_by("pk").values_list("outcome", flat=True))


def code(device) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits).token():06d}"


def fail(client, username: str, times: int, ip: str = "198.51.100.1") -> None:
    for _ in range(times):
        response = sign_in(client, username, "not the password", ip=ip)
        assert response.status_code == 200 and GENERIC in response.content.decode()


def test_a_sign_in_and_a_wrong_password_are_in_the_trail_with_the_gateways_client_address(client, support_staff):
    fail(client, "ana", 1, ip="203.0.113.9")
    fail(client, "nobody", 1, ip="203.0.113.9")

    assert signed_in(sign_in(client, "ana", STAFF_PASSWORD, ip="203.0.113.9"))

    rows = list(StaffSignIn.objects.order_by("pk").values_list("username", "staff__username", "outcome", "ip_address"))
    assert rows == [
        ("ana", "ana", "wrong_password", "203.0.113.9"),
        ("nobody", None, "wrong_password", "203.0.113.9"),
        ("ana", "ana", "success", "203.0.113.9"),
    ]


def test_five_wrong_passwords_lock_the_username_with_the_same_message_and_no_more_hashing(client, support_staff):
    fail(client, "ana", 5, ip="198.51.100.1")

    # From another address, with the right password: refused as any failure, without a password hash.
    with mock.patch.object(ModelBackend, "authenticate", autospec=True) as password_check:
        response = sign_in(client, "ana", STAFF_PASSWORD, ip="198.51.100.2")
    assert response.status_code == 200 and GENERIC in response.content.decode()
    assert not password_check.called
    assert outcomes("ana") == ["wrong_password"] * 5 + ["locked_out"]


def test_five_failures_from_one_address_lock_that_address_whatever_the_username(client, support_staff):
    for username in ("a1", "a2", "a3", "a4", "a5"):
        fail(client, username, 1, ip="198.51.100.7")

    assert not signed_in(sign_in(client, "ana", STAFF_PASSWORD, ip="198.51.100.7"))
    assert signed_in(sign_in(Client(), "ana", STAFF_PASSWORD, ip="198.51.100.8"))


def test_a_lockout_ends_by_itself_after_the_cool_off(client, support_staff):
    fail(client, "ana", 5)
    assert not signed_in(sign_in(client, "ana", STAFF_PASSWORD, ip="198.51.100.2"))

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert signed_in(sign_in(client, "ana", STAFF_PASSWORD, ip="198.51.100.2"))


def test_the_unlock_command_lifts_a_lockout_at_once(client, support_staff):
    fail(client, "ana", 5)
    out = StringIO()

    call_command("staff_account", "unlock", "ana", stdout=out)

    assert out.getvalue().startswith("staff account ana: unlocked")
    assert signed_in(sign_in(client, "ana", STAFF_PASSWORD, ip="198.51.100.2"))


def test_a_superuser_sees_and_can_delete_the_lockouts_and_support_staff_cannot(client, support_staff):
    fail(client, "ana", 5)
    root, _ = staff_account_provision(username="root", email="", password=STAFF_PASSWORD, superuser=True)
    superuser, support = Client(), Client()
    superuser.force_login(root)
    support.force_login(support_staff)

    assert support.get("/admin/axes/accessattempt/").status_code == 403
    page = superuser.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and "ana" in page.content.decode()
    attempt = AccessAttempt.objects.get(username="ana")
    superuser.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert not AccessAttempt.objects.exists()
    assert signed_in(sign_in(client, "ana", STAFF_PASSWORD, ip="198.51.100.2"))


def test_with_a_device_the_one_time_code_is_needed_and_a_wrong_one_counts_as_a_failure(client, support_staff):
    device = staff_account_otp_enrol(username="ana")

    for token in ("", "000000x", "12345"):
        response = sign_in(client, "ana", STAFF_PASSWORD, otp_token=token)
        assert response.status_code == 200 and GENERIC in response.content.decode()
    assert outcomes("ana") == ["wrong_code"] * 3
    assert AccessAttempt.objects.get(username="ana").failures_since_start == 3
    # Wrong codes also hold the device back a while (django-otp's throttle: 1 s, 2 s, 4 s, ...).
    device.refresh_from_db()
    assert device.throttling_failure_count > 0
    device.throttle_reset()

    assert signed_in(sign_in(client, "ana", STAFF_PASSWORD, otp_token=code(device)))
    assert client.get("/admin/").status_code == 200


def test_required_two_factor_refuses_a_staff_member_without_a_device_and_an_unverified_session(
    client, support_staff, settings
):
    settings.STAFF_OTP_REQUIRED = True

    response = sign_in(client, "ana", STAFF_PASSWORD)
    assert response.status_code == 200 and GENERIC in response.content.decode()
    assert outcomes("ana") == ["no_device"]
    unverified = Client()
    unverified.force_login(support_staff)
    assert unverified.get("/admin/").status_code == 302

    device = staff_account_otp_enrol(username="ana")
    assert signed_in(sign_in(client, "ana", STAFF_PASSWORD, otp_token=code(device)))
    assert client.get("/admin/").status_code == 200


def test_the_otp_command_enrols_a_new_device_and_prints_its_uri_once(support_staff):
    first = StringIO()
    call_command("staff_account", "otp", "ana", "--json", stdout=first)
    again = StringIO()
    call_command("staff_account", "otp", "ana", stdout=again)

    printed = json.loads(first.getvalue())
    assert printed["uri"].startswith("otpauth://totp/Accounts%20support%3Aana?secret=")
    assert f"secret={printed['secret']}" in printed["uri"]
    # Enrolling again replaces the device: the first secret no longer signs in.
    assert support_staff.totpdevice_set.count() == 1
    assert printed["secret"] not in again.getvalue() and "otpauth://totp/" in again.getvalue()
