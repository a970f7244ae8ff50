"""Edge reads through the real system: a user's own GETs served by the gateway from copies, never stale.

A system of its own: one test restarts its Redis. How a copy is proven current:
docs/architecture.md, "Edge reads".
"""

from __future__ import annotations

import shutil
import threading
import time

import pytest

from accounts import call, call_raw, internal_assertion, new_account
from admin_support import AdminSession, StaffMember
from event_support import manage
from metrics_support import sample_value, scrape

STAFF_PASSWORD = "Support-Desk-Password-7"


@pytest.fixture(scope="module")
def system(own_system):
    return own_system[0]


def gateway_metrics(system) -> dict:
    return scrape(f"http://127.0.0.1:{system.config.gateway_metrics_port}")


def edge_reads(system, outcome: str, route: str = "/api/profile") -> float:
    return sample_value(gateway_metrics(system), "gateway_edge_reads_total", {"route": route, "outcome": outcome})


def profile_name(system, account) -> str:
    status, _, body = call(system.gateway_url, "GET", "/api/profile", token=account["token"])
    assert status == 200, body
    return body["user"]["name"]


def rename(system, account, name: str) -> None:
    status, _, body = call(system.gateway_url, "PUT", "/api/profile", {"name": name}, token=account["token"])
    assert status == 200, body


def test_a_second_read_is_served_from_the_copy_with_the_same_answer_and_an_etag(system):
    account = new_account(system.gateway_url, "edge-hit", name="First")
    hits = edge_reads(system, "hit")

    first = call_raw(system.gateway_url, "GET", "/api/profile", token=account["token"])
    second = call_raw(system.gateway_url, "GET", "/api/profile", token=account["token"])

    assert first[0] == second[0] == 200
    assert first[2] == second[2]
    assert edge_reads(system, "hit") == hits + 1
    assert first[1]["ETag"] == second[1]["ETag"]
    assert second[1]["Cache-Control"] == "private, no-cache"
    assert second[1]["Content-Type"] == "application/json"
    assert second[1]["X-Request-ID"]
    assert "X-Edge-Revision" not in first[1] and "X-Edge-Revision" not in second[1]


def test_if_none_match_gets_a_304_until_the_profile_changes(system):
    account = new_account(system.gateway_url, "edge-etag", name="Before")
    _, headers, _ = call_raw(system.gateway_url, "GET", "/api/profile", token=account["token"])
    etag = headers["ETag"]

    unchanged = call_raw(system.gateway_url, "GET", "/api/profile", token=account["token"], headers={"If-None-Match": etag})
    rename(system, account, "After")
    changed = call_raw(system.gateway_url, "GET", "/api/profile", token=account["token"], headers={"If-None-Match": etag})

    assert (unchanged[0], unchanged[2], unchanged[1]["ETag"]) == (304, b"", etag)
    assert changed[0] == 200 and changed[1]["ETag"] != etag
    assert b'"After"' in changed[2]


def test_preferences_are_edge_reads_too_and_a_change_is_seen_at_once(system):
    account = new_account(system.gateway_url, "edge-prefs")
    path = "/api/profile/preferences"
    for _ in range(2):
        assert call(system.gateway_url, "GET", path, token=account["token"])[2]["preferences"]["theme"] == "light"
    hits = edge_reads(system, "hit")

    status, _, _ = call(system.gateway_url, "PUT", path, {"theme": "dark"}, token=account["token"])
    assert status == 200
    assert call(system.gateway_url, "GET", path, token=account["token"])[2]["preferences"]["theme"] == "dark"
    assert call(system.gateway_url, "GET", path, token=account["token"])[2]["preferences"]["theme"] == "dark"
    assert edge_reads(system, "hit") == hits + 1


def test_no_read_after_a_write_returns_older_data_with_concurrent_writers_and_readers(system):
    """Each writer renames its user again and again; readers of that user may never see a name older than
    the last rename whose 200 came back before their GET was sent."""
    accounts = [new_account(system.gateway_url, f"edge-race-{n}", name="v0") for n in range(3)]
    writes_per_user = 40
    acknowledged = {account["id"]: 0 for account in accounts}
    stale: list[tuple[int, int, int]] = []
    errors: list[str] = []
    done = threading.Event()
    hits = edge_reads(system, "hit")

    def writer(account):
        try:
            for version in range(1, writes_per_user + 1):
                rename(system, account, f"v{version}")
                acknowledged[account["id"]] = version
        except AssertionError as exc:
            errors.append(f"write: {exc}")

    def reader(account):
        while not done.is_set():
            floor = acknowledged[account["id"]]
            status, _, body = call(system.gateway_url, "GET", "/api/profile", token=account["token"])
            if status != 200:
                errors.append(f"read: {status} {body}")
                return
            seen = int(body["user"]["name"][1:])
            if seen < floor:
                stale.append((account["id"], floor, seen))

    writers = [threading.Thread(target=writer, args=(account,)) for account in accounts]
    readers = [threading.Thread(target=reader, args=(account,)) for account in accounts for _ in range(2)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(120)
    done.set()
    for thread in readers:
        thread.join(30)

    assert errors == []
    assert stale == [], f"reads older than an acknowledged write (user, acknowledged, seen): {stale[:10]}"
    assert all(profile_name(system, account) == f"v{writes_per_user}" for account in accounts)
    assert edge_reads(system, "hit") > hits, "no read was served from a copy: the race did not test edge reads"


def test_a_staff_edit_in_the_admin_is_seen_by_the_next_read(system):
    account = new_account(system.gateway_url, "edge-admin", name="Customer Name")
    for _ in range(2):
        assert profile_name(system, account) == "Customer Name"
    admin = AdminSession(system.gateway_url)
    admin.sign_in(StaffMember(system, "edge-support", STAFF_PASSWORD))

    admin.submit(
        f"/admin/users/profile/{account['id']}/change/",
        {"email": account["email"], "name": "Corrected By Support", "reason": "customer asked", "_save": "Save"},
    )

    assert profile_name(system, account) == "Corrected By Support"


def test_a_deactivated_user_gets_a_refusal_not_the_copy(system):
    account = new_account(system.gateway_url, "edge-deactivated")
    for _ in range(2):
        profile_name(system, account)

    # The auth worker stopped: the users service's own refusal of the user's tokens stops the copy.
    system.stop_process("auth-worker")
    try:
        manage(system, "users", "user_account", "deactivate", str(account["id"]))
        answer = call(system.gateway_url, "GET", "/api/profile", token=account["token"])
    finally:
        system.start_process("auth-worker")

    assert answer[0::2] == (403, {"error": "Invalid or expired token"})


def test_a_change_refused_because_redis_is_down_is_a_503_and_changes_nothing(system):
    account = new_account(system.gateway_url, "edge-redis-down", name="Kept")
    system.stop_process("redis")
    try:
        status, body = direct_put(system, account, {"name": "Lost"})
    finally:
        system.start_process("redis")
        system.wait_ready(["redis"], 30)

    assert (status, body) == (503, {"error": "Service unavailable"})
    assert profile_name(system, account) == "Kept"


def test_redis_restarted_between_a_write_and_a_read_serves_the_new_data(system):
    account = new_account(system.gateway_url, "edge-restart", name="Old")
    for _ in range(2):
        assert profile_name(system, account) == "Old"

    rename(system, account, "New")
    restart_redis(system)

    assert profile_name(system, account) == "New"
    assert profile_name(system, account) == "New"


def test_redis_restarted_empty_costs_a_miss_never_an_old_answer(system):
    account = new_account(system.gateway_url, "edge-empty", name="Before Restart")
    for _ in range(2):
        assert profile_name(system, account) == "Before Restart"
    misses = edge_reads(system, "miss")

    restart_redis(system, empty=True)
    rename(system, account, "After Restart")

    assert profile_name(system, account) == "After Restart"
    assert profile_name(system, account) == "After Restart"
    assert edge_reads(system, "miss") == misses + 1


# HELPERS
# ------------------------------------------------------------------------------


def restart_redis(system, *, empty: bool = False) -> None:
    """Stop the system's Redis and start it again (with ``empty``, without its append-only file)."""
    system.stop_process("redis")
    if empty:
        for entry in (system.config.var_dir / "redis").iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    system.start_process("redis")
    system.wait_ready(["redis"], 30)


def direct_put(system, account, body) -> tuple[int, dict]:
    """``PUT /api/profile`` straight to the users service, signed as the gateway signs it: with Redis down
    the gateway itself refuses token-protected requests (revocation fails closed), so this is how the
    users service's own refusal is reached."""
    assertion = internal_assertion(
        system, "gateway", "users", "PUT", "/api/profile",
        user_id=account["id"], email=account["email"], jti="edge-test", token_exp=int(time.time()) + 600,
    )
    status, _, answer = call(system.config.url("users"), "PUT", "/api/profile", body, headers={"X-Internal-Auth": assertion})
    return status, answer


