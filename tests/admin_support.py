"""The staff admin through the gateway for the cross-service tests: staff accounts with a TOTP device, a session.

Every test system requires the one-time code, as production does
(``STAFF_OTP_REQUIRED``, tests/conftest.py).
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from django_otp.oath import TOTP

from event_support import manage, staff_account_create


class StaffMember:
    """A staff account with a TOTP device, enrolled as provisioning does (``staff_account otp --json``)."""

    def __init__(self, system, username: str, password: str):
        staff_account_create(system, username, password)
        printed = manage(system, "users", "staff_account", "otp", username, "--json")
        enrolled = json.loads(printed.strip().splitlines()[-1])
        self.username = username
        self.password = password
        self.uri = enrolled["uri"]
        self._totp = TOTP(base64.b32decode(enrolled["secret"]))
        self._used_step = self._given_step = -1

    def code(self) -> str:
        """A code the device accepts now: each is good once, so after a sign-in the next step's (within tolerance)."""
        self._totp.time = time.time()
        self._given_step = max(self._totp.t(), self._used_step + 1)
        self._totp.time = self._totp.t0 + self._given_step * self._totp.step
        return f"{self._totp.token():06d}"

    def code_used(self) -> None:
        """The last code given signed in: the device takes no code of its step or an earlier one again."""
        self._used_step = self._given_step


class AdminSession:
    """The staff admin through the gateway, as a browser without JavaScript uses it: cookies and CSRF tokens."""

    CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    REFUSED = "Please enter the correct username and password for a staff account"

    def __init__(self, base_url: str, client_ip: str | None = None):
        self.base_url = base_url
        # Through a proxy the gateway trusts (GATEWAY_TRUSTED_PROXY_COUNT=1 in the test systems): this client's address.
        self.headers = {"X-Forwarded-For": client_ip} if client_ip else {}
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path: str, form: dict | None = None) -> tuple[int, str, str]:
        """(status, final URL, body) of a GET, or of a POST of ``form``."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(
            self.base_url + path, data=data, headers={"Referer": self.base_url + path, **self.headers}
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.url, exc.read().decode()

    def try_sign_in(self, username: str, password: str, otp_token: str = "") -> tuple[bool, str]:
        """(signed in, the page answered)."""
        _, _, page = self.open("/admin/login/")
        form = {
            "username": username,
            "password": password,
            "otp_token": otp_token,
            "csrfmiddlewaretoken": self.CSRF.search(page).group(1),
        }
        _, url, answer = self.open("/admin/login/?next=/admin/", form)
        return not url.endswith("/admin/login/?next=/admin/"), answer

    def sign_in(self, staff: StaffMember) -> None:
        signed_in, _ = self.try_sign_in(staff.username, staff.password, staff.code())
        assert signed_in, "staff sign-in refused"
        staff.code_used()

    def submit(self, path: str, form: dict) -> None:
        _, _, page = self.open(path)
        status, url, _ = self.open(path, {**form, "csrfmiddlewaretoken": self.CSRF.search(page).group(1)})
        assert status == 200 and not url.endswith(path), f"the admin kept the form at {url}"
