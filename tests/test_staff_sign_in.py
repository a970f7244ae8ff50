"""Signing in to the staff admin through the gateway: lockouts per username and per client address, the trail.

In the shared system; each test signs in from addresses of its own (X-Forwarded-For,
which the test systems' gateway trusts one hop of), so its lockouts touch no other test.
"""

from __future__ import annotations

import json
import uuid

from admin_support import AdminSession, StaffMember
from event_support import manage

STAFF_PASSWORD = "Quarry-Velvet-Harbor-58"
TRAIL = """
import json
from django.contrib.auth import get_user_model
from support.models import StaffSignIn
rows = StaffSignIn.objects.filter(username="{username}").order_by("pk").values_list("outcome", "ip_address")
print(json.dumps({{"trail": [list(row) for row in rows],
                   "hash": get_user_model().objects.get(username="{username}").password.split("$")[0]}}))
"""


def trail(system, username: str) -> dict:
    output = manage(system, "users", "shell", "-c", TRAIL.format(username=username))
    return json.loads(output.strip().splitlines()[-1])


def staff_member(system) -> StaffMember:
    return StaffMember(system, f"staff-{uuid.uuid4().hex[:8]}", STAFF_PASSWORD)


def test_five_wrong_passwords_lock_a_staff_account_until_it_is_unlocked(running_system):
    system, _ = running_system
    staff = staff_member(system)
    attacker = AdminSession(system.gateway_url, client_ip="203.0.113.10")

    for _ in range(5):
        signed_in, page = attacker.try_sign_in(staff.username, "guess-after-guess", "123456")
        assert not signed_in and AdminSession.REFUSED in page
    # The staff member, from elsewhere, with the right password and code: the same message.
    signed_in, page = AdminSession(system.gateway_url, client_ip="198.51.100.10").try_sign_in(
        staff.username, STAFF_PASSWORD, staff.code()
    )
    assert not signed_in and AdminSession.REFUSED in page

    assert manage(system, "users", "staff_account", "unlock", staff.username).startswith(
        f"staff account {staff.username}: unlocked"
    )
    AdminSession(system.gateway_url, client_ip="198.51.100.10").sign_in(staff)

    recorded = trail(system, staff.username)
    assert recorded["trail"] == [
        *[["wrong_password", "203.0.113.10"]] * 5,
        ["locked_out", "198.51.100.10"],
        ["success", "198.51.100.10"],
    ]
    assert recorded["hash"] == "argon2"


def test_five_failures_from_one_address_lock_that_address_for_every_username(running_system):
    system, _ = running_system
    staff = staff_member(system)
    crowded = AdminSession(system.gateway_url, client_ip="203.0.113.20")

    for number in range(5):
        signed_in, _ = crowded.try_sign_in(f"nobody-{number}-{uuid.uuid4().hex[:6]}", "guess")
        assert not signed_in
    signed_in, page = crowded.try_sign_in(staff.username, STAFF_PASSWORD, staff.code())
    assert not signed_in and AdminSession.REFUSED in page

    AdminSession(system.gateway_url, client_ip="203.0.113.21").sign_in(staff)


def test_the_password_alone_does_not_open_the_admin(running_system):
    system, _ = running_system
    staff = staff_member(system)
    session = AdminSession(system.gateway_url, client_ip="203.0.113.30")

    signed_in, page = session.try_sign_in(staff.username, STAFF_PASSWORD)
    assert not signed_in and AdminSession.REFUSED in page

    session.sign_in(staff)
    status, url, _ = session.open("/admin/")
    assert (status, url) == (200, system.gateway_url + "/admin/")
    assert [row[0] for row in trail(system, staff.username)["trail"]] == ["wrong_code", "success"]
