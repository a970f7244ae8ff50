"""The staff admin's sign-in: the client's address, the lockout's answer, and the sign-in trail's receivers.

django-axes counts failed sign-ins per client address and per username and
refuses a locked-out one before any password is hashed; django-otp asks for the
second factor (``support.admin_site``). Every attempt, whatever its outcome,
lands in the staff sign-in trail (``support.StaffSignIn``).
"""

from __future__ import annotations

import ipaddress

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from support.models import StaffSignIn
from support.services import staff_sign_in_record

# The gateway puts the client's address, as it determined it, in this header (and drops any a client sent).
CLIENT_IP_HEADER = "HTTP_X_REAL_IP"


class StaffLockoutBackend(AxesStandaloneBackend):
    """django-axes' check before the password, noting on the request that it was the lockout that refused."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            request.staff_sign_in_locked_out = True
            raise


def client_ip(request) -> str:
    """The client's address as the gateway saw it (``X-Real-IP``); ``REMOTE_ADDR`` without a valid one."""
    candidate = request.META.get(CLIENT_IP_HEADER, "").strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return request.META.get("REMOTE_ADDR", "")


def lockout_response(request, original_response, credentials):
    """A locked-out sign-in is answered as any failed one: the form, with the same generic message."""
    return original_response


@receiver(user_logged_in)
def record_success(sender, request, user, **kwargs):
    if request is None or not request.path.startswith("/admin/"):
        return
    staff_sign_in_record(
        username=user.get_username(),
        staff=user,
        outcome=StaffSignIn.Outcome.SUCCESS,
        ip_address=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    )


@receiver(user_login_failed)
def record_failure(sender, credentials, request=None, outcome: str | None = None, **kwargs):
    if request is None:
        return
    username = str(credentials.get("username") or "")
    if outcome is None:
        locked = getattr(request, "staff_sign_in_locked_out", False)
        outcome = StaffSignIn.Outcome.LOCKED_OUT if locked else StaffSignIn.Outcome.WRONG_PASSWORD
    staff_sign_in_record(
        username=username,
        staff=get_user_model().objects.filter(username=username).first(),
        outcome=outcome,
        ip_address=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    )
