"""The admin's site: Django's, with a one-time code (TOTP, django-otp) at sign-in.

A staff member with an enrolled device (``staff_account otp <username>``) always
signs in with a code from it; with ``STAFF_OTP_REQUIRED`` (always in production)
one without a device cannot sign in, and a session is only good once its
sign-in passed the second factor. Every refusal, a wrong code included, is the
same generic message, counts towards the sign-in lockout (django-axes) and is
recorded in the staff sign-in trail with its real reason.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from support.models import StaffSignIn

# 6 digits as authenticator apps show them; a little room for spaces typed between groups.
OTP_TOKEN_MAX_LENGTH = 10


class StaffAuthenticationForm(AdminAuthenticationForm):
    """Username, password and, for a staff member with a device (or whenever required), a one-time code."""

    otp_token = forms.CharField(
        label="One-time code",
        required=False,
        max_length=OTP_TOKEN_MAX_LENGTH,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self):
        cleaned_data = super().clean()  # the password, through the lockout check; staff only
        user = self.get_user()
        if user is None:
            return cleaned_data
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            if settings.STAFF_OTP_REQUIRED:
                self._refuse(StaffSignIn.Outcome.NO_DEVICE)
            return cleaned_data
        token = cleaned_data.get("otp_token", "").replace(" ", "")
        if not token or not device.verify_token(token):
            self._refuse(StaffSignIn.Outcome.WRONG_CODE)
        # django-otp marks the session verified with this device when the sign-in completes.
        user.otp_device = device
        return cleaned_data

    def _refuse(self, outcome: str):
        self.user_cache = None
        user_login_failed.send(
            sender=type(self),
            credentials={"username": self.cleaned_data.get("username", "")},
            request=self.request,
            outcome=outcome,
        )
        raise self.get_invalid_login_error()


class StaffAdminSite(OTPAdminSite):
    """The admin at /admin/ (the name ``admin``, so every admin URL keeps its name)."""

    login_form = StaffAuthenticationForm
    login_template = "support/login.html"

    def __init__(self, name: str = "admin"):
        super().__init__(name)

    def has_permission(self, request) -> bool:
        if settings.STAFF_OTP_REQUIRED:
            return super().has_permission(request)
        return AdminSite.has_permission(self, request)
