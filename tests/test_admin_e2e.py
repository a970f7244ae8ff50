"""The staff admin through the gateway, in a real headless Chromium, against the real processes.

Support staff sign in at the gateway's /admin/ with a password and a one-time code (CSRF, session cookie and
whitenoise's static files all through the proxy), find a customer by an
email typed in another case, deactivate them, and the customer's login and
existing token are refused within seconds.

Needs Debian's chromium (``apt-get install chromium``); Playwright (pinned in
requirements/local.txt) drives it and never downloads a browser. With
``ADMIN_E2E_SCREENSHOTS=<dir>`` the test saves the screenshots of docs/support.md.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from accounts import PASSWORD, call, login, new_account
from admin_support import StaffMember
from event_support import credential, wait_until

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(), reason=f"no chromium binary at {CHROMIUM} (Debian: apt-get install chromium)"
)

STAFF_PASSWORD = "Lantern-Orbit-Staple-42"
INVALID_TOKEN = {"error": "Invalid or expired token"}
# Flags for a browser in a container: no sandbox, no GPU, nothing phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = os.environ.get("ADMIN_E2E_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A headless Chromium with a fresh profile directory."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            context.close()


def screenshot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def sign_in(page, gateway: str, username: str, password: str, otp_token: str = "") -> None:
    page.goto(f"{gateway}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.fill("#id_otp_token", otp_token)
    page.click("input[type=submit]")


def test_support_staff_deactivate_a_customer_found_by_an_email_in_another_case(running_system, browser):
    system, _ = running_system
    gateway = system.gateway_url
    customer = new_account(gateway, "customer", name="Ada Lovelace")
    assert login(gateway, customer["email"], "not the password")[0] == 401  # some sign-in activity to see
    staff = StaffMember(system, f"support-{uuid.uuid4().hex[:8]}", STAFF_PASSWORD)
    page = browser.new_page()
    static = []
    page.on("response", lambda response: static.append(response) if "/static/" in response.url else None)

    # A customer's login is no staff account, and a staff account is no customer login.
    sign_in(page, gateway, customer["email"], PASSWORD)
    assert "correct username and password for a staff account" in page.inner_text(".errornote")
    assert login(gateway, f"{staff.username}@support.example.com", STAFF_PASSWORD)[0] == 401
    # The password alone is not enough: the one-time code from the staff member's device is asked for too.
    sign_in(page, gateway, staff.username, STAFF_PASSWORD)
    assert "correct username and password for a staff account" in page.inner_text(".errornote")

    page.goto(f"{gateway}/admin/")
    screenshot(page, "admin-login")
    sign_in(page, gateway, staff.username, STAFF_PASSWORD, staff.code())
    assert page.inner_text("#site-name") == "Accounts support"
    session = {cookie["name"]: cookie for cookie in browser.cookies(f"{gateway}/admin/")}["sessionid"]
    assert (session["path"], session["httpOnly"]) == ("/admin/", True)
    assert any(response.url.endswith(".css") for response in static)
    assert all(response.status == 200 for response in static), [(r.url, r.status) for r in static]

    page.goto(f"{gateway}/admin/users/profile/")
    page.fill("#searchbar", customer["email"].upper())
    page.press("#searchbar", "Enter")
    page.wait_for_url("**/admin/users/profile/?q=*")
    screenshot(page, "admin-search")
    page.click(f"#result_list a:text-is('{customer['email']}')")
    page.wait_for_selector("#staff-trail")
    assert page.input_value("#id_email") == customer["email"]
    assert "wrong_password" in page.inner_text("fieldset:has-text('Sign-in activity')")
    screenshot(page, "admin-account")

    page.click("a.support-action-deactivate")
    page.fill("textarea[name=reason]", "Customer reported a stolen phone, ticket 4821")
    screenshot(page, "admin-deactivate")
    page.click("input[name=confirm]")
    assert f"Account {customer['id']} ({customer['email']}) deactivated" in page.inner_text(".messagelist .success")
    assert "Customer reported a stolen phone, ticket 4821" in page.inner_text("#staff-trail")
    screenshot(page, "admin-deactivated")

    # The auth service applies user.deactivated within seconds: the old token and the login are refused.
    wait_until(
        lambda: call(gateway, "GET", "/api/profile", token=customer["token"])[0::2] == (403, INVALID_TOKEN),
        timeout=30,
        what="the customer's token refused at the gateway",
    )
    wait_until(lambda: credential(system, customer["id"])[1] is False, timeout=30, what="the credential deactivated")
    assert login(gateway, customer["email"]) == (401, {"error": "Invalid credentials"})
