"""Events between the services, end to end through the gateway, against the real processes."""

from __future__ import annotations

import subprocess
import sys

from accounts import PASSWORD, call, login, new_account, register, unique_email
from event_support import REPO_ROOT, credential, inbox, logged_once, manage, manage_json, outbox, query, wait_until


def applied(system, service: str, event_id: str, timeout: float = 30.0) -> str:
    """Wait until ``service`` consumed the event; its outcome ("applied" or "stale")."""
    return wait_until(lambda: inbox(system, service, [event_id]).get(event_id), timeout=timeout, what=event_id)


def profile_event(system, user_id, version: int) -> str:
    [event] = [row for row in outbox(system, "users", user_id) if row["version"] == version]
    return event["id"]


def put_profile(system, account, body, headers=None):
    status, _, answer = call(system.gateway_url, "PUT", "/api/profile", body, token=account["token"], headers=headers)
    assert status == 200, answer
    return answer


def test_registration_publishes_user_registered_and_the_auth_service_applies_it_once(running_system):
    system, logs = running_system
    account = new_account(system.gateway_url, "registered")

    [event] = outbox(system, "users", account["id"])
    assert (event["type"], event["version"]) == ("user.registered", 1)
    assert applied(system, "auth", event["id"]) == "applied"
    wait_until(lambda: outbox(system, "users", account["id"])[0]["sent_at"], what="the event marked sent")
    assert logged_once(logs, "auth-worker", "event applied", event["id"])


def test_an_email_change_moves_the_login_to_the_new_email_and_the_old_one_stops_working(running_system):
    system, _ = running_system
    account = new_account(system.gateway_url, "mover")
    new_email = unique_email("moved")

    answer = put_profile(system, account, {"email": new_email})

    assert answer["user"]["email"] == new_email
    applied(system, "auth", profile_event(system, account["id"], 2))
    status, logged_in = login(system.gateway_url, new_email)
    assert status == 200
    assert (logged_in["user"]["id"], logged_in["user"]["email"]) == (account["id"], new_email)
    assert login(system.gateway_url, account["email"]) == (401, {"error": "Invalid credentials"})


def test_two_quick_email_changes_end_with_the_last(running_system):
    system, _ = running_system
    account = new_account(system.gateway_url, "twice")
    first, last = unique_email("first"), unique_email("last")

    put_profile(system, account, {"email": first})
    put_profile(system, account, {"email": last})

    applied(system, "auth", profile_event(system, account["id"], 3))
    applied(system, "auth", profile_event(system, account["id"], 2))
    assert credential(system, account["id"])[0] == last
    assert login(system.gateway_url, last)[0] == 200
    assert login(system.gateway_url, first)[0] == 401
    assert login(system.gateway_url, account["email"])[0] == 401


def test_a_name_change_reaches_the_login_answer(running_system):
    system, _ = running_system
    account = new_account(system.gateway_url, "renamed", name="Before")

    put_profile(system, account, {"name": "  Ada Lovelace  "})

    applied(system, "auth", profile_event(system, account["id"], 2))
    status, logged_in = login(system.gateway_url, account["email"])
    assert (status, logged_in["user"]["name"]) == (200, "  Ada Lovelace  ")


def test_a_rolled_back_request_publishes_nothing(running_system):
    system, _ = running_system
    taken = new_account(system.gateway_url, "taken")
    account = new_account(system.gateway_url, "refused")

    body = {"email": taken["email"].upper(), "name": "x"}
    status, _, answer = call(system.gateway_url, "PUT", "/api/profile", body, token=account["token"])

    assert (status, answer) == (400, {"error": "Email already in use"})
    assert [event["type"] for event in outbox(system, "users", account["id"])] == ["user.registered"]


def test_the_request_id_follows_the_event_into_the_consumers_log(running_system):
    system, logs = running_system
    account = new_account(system.gateway_url, "traced")

    put_profile(system, account, {"name": "Traced"}, headers={"X-Request-ID": "e2e-event-trace-1"})

    event_id = profile_event(system, account["id"], 2)
    entry = logs.wait_for(
        "auth-worker", lambda e: e.get("message") == "event applied" and e.get("event_id") == event_id
    )
    assert entry["request_id"] == "e2e-event-trace-1"
    assert entry["event_type"] == "user.profile.updated"


def test_deactivation_refuses_login_and_revokes_tokens_and_reactivation_allows_login(running_system):
    system, _ = running_system
    account = new_account(system.gateway_url, "deactivated")
    assert call(system.gateway_url, "GET", "/api/profile", token=account["token"])[0] == 200

    manage(system, "users", "user_account", "deactivate", str(account["id"]))

    wait_until(lambda: credential(system, account["id"])[1] is False, what="the credential deactivated")
    assert login(system.gateway_url, account["email"])[0] == 401
    assert call(system.gateway_url, "GET", "/api/profile", token=account["token"])[0::2] == (
        403,
        {"error": "Invalid or expired token"},
    )

    manage(system, "users", "user_account", "reactivate", str(account["id"]))

    wait_until(lambda: credential(system, account["id"])[1] is True, what="the credential reactivated")
    status, logged_in = login(system.gateway_url, account["email"])
    assert status == 200
    assert call(system.gateway_url, "GET", "/api/profile", token=logged_in["token"])[0] == 200
    assert call(system.gateway_url, "GET", "/api/profile", token=account["token"])[0] == 403


def test_deletion_erases_the_credentials_and_frees_the_email(running_system):
    system, _ = running_system
    account = new_account(system.gateway_url, "deleted")

    manage(system, "users", "user_account", "delete", str(account["id"]))

    wait_until(lambda: credential(system, account["id"]) is None, what="the credential erased")
    assert login(system.gateway_url, account["email"])[0] == 401
    assert call(system.gateway_url, "GET", "/api/profile", token=account["token"])[0] == 403
    status, again = register(system.gateway_url, account["email"])
    assert status == 201 and again["user"]["id"] != account["id"]


def test_sign_in_events_build_the_users_services_activity_read_model(running_system):
    system, _ = running_system
    account = new_account(system.gateway_url, "active")  # one login
    assert login(system.gateway_url, account["email"], "a-wrong-password-1")[0] == 401
    status, changed = call(
        system.gateway_url,
        "PUT",
        "/api/change-password",
        {"currentPassword": PASSWORD, "newPassword": "Another-Horse-Battery-7"},
        token=account["token"],
    )[0::2]
    assert status == 200, changed
    assert call(system.gateway_url, "POST", "/api/logout", {}, token=changed["token"])[0] == 200

    def activity():
        rows = query(
            system,
            "users",
            "SELECT login_count, failed_login_count, password_changed_at, last_logout_at, last_login_at "
            "FROM users_accountactivity WHERE profile_id = %s",
            (account["id"],),
        )
        return rows and rows[0][2] and rows[0][3] and rows[0]

    login_count, failed_count, *_ = wait_until(activity, what="the activity read model")
    assert (login_count, failed_count) == (1, 1)
    shown = manage_json(system, "users", "user_account", "show", str(account["id"]))["activity"]
    kinds = [entry["kind"] for entry in shown["recent"]]
    assert kinds == ["logout", "password_changed", "login_failed", "login_succeeded"]
    assert shown["recent"][2]["reason"] == "wrong_password"
    assert shown["last_login_at"] and shown["password_changed_at"] and shown["last_logout_at"]


def test_events_status_reports_each_service_through_manage_all(running_system):
    system, _ = running_system
    result = subprocess.run(
        [sys.executable, "manage_all.py", "events", "status"],
        cwd=REPO_ROOT,
        env=system.config.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if not line.startswith("==")]
    assert [line.split(":")[0] for line in lines] == ["users", "auth", "gateway"]
    assert lines[0].startswith("users: backlog ") and " parked " in lines[0]
    assert lines[2] == "gateway: no events (no database)"
