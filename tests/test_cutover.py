"""The cutover, rehearsed end to end against the real monolith: docs/migration.md's runbook, step by step.

Phase 1: the system in front of the monolith, every legacy route on it; users
are made through the gateway. Then the imports while the monolith keeps serving
and changing data, more changes after the last catch-up, the freeze, the final
catch-up, the routes moved one at a time while clients keep calling (none may
see an error; a write refused by a freeze is answered 503 with Retry-After and
tried again, as a client does), the thaw. Then every user logs in on the new
system with their latest password, their monolith token still works, and
``--verify`` is clean.

Runs the monolith pinned in ``tests/legacy_monolith/`` with Node.js and npm;
skipped without them, saying so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from accounts import NEW_PASSWORD, PASSWORD, call, claims_of, login
from conftest import launched_system
from monolith_support import monolith_environment, running_monolith

from common.legacy_import.exit_codes import EXIT_CLEAN
from manage_all import REPO_ROOT

# "A few hundred users": enough to make every import and every check real, few enough for CI.
USERS = 200
# Users changed after the last catch-up, before their routes move: registered, renamed, new password.
LATE = 10
CLIENTS = 4
# A client's writes refused by a freeze come back after this many seconds (Retry-After).
RETRY_AFTER = 1
REHEARSAL_ENV = {
    # Each route's freeze settles quickly: workers re-read the table within 1 s and no
    # write forwarded to the monolith can take longer than the read timeout.
    "GATEWAY_READ_TIMEOUT": "5",
    "CUTOVER_FREEZE_SETTLE_SECONDS": "6.5",
    "GATEWAY_FROZEN_RETRY_AFTER": str(RETRY_AFTER),
    # The clients log in again and again.
    "GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT": "100000/d",
}
# The order the runbook moves them in: token routes, then logins, then registration.
MOVES = ("/api/profile", "/api/change-password", "/api/login", "/api/register")


class Rehearsal:
    """The system, the monolith, and every user as the test knows them: email, password, name, monolith token."""

    def __init__(self, system, monolith):
        self.system = system
        self.gateway = system.gateway_url
        self.monolith = monolith
        self.users: dict[int, dict] = {}
        self.lock = threading.Lock()

    def register(self, label: str) -> dict:
        email = f"{label}-{uuid.uuid4().hex[:10]}@example.com"
        name = f"Name {label}"
        status, _, body = call(self.gateway, "POST", "/api/register", {"email": email, "password": PASSWORD, "name": name})
        assert status == 201, body
        user = {"id": body["user"]["id"], "email": email, "password": PASSWORD, "name": name, "token": body["token"]}
        with self.lock:
            self.users[user["id"]] = user
        return user

    def rename(self, user: dict, name: str) -> None:
        status, _, body = call(self.gateway, "PUT", "/api/profile", {"name": name}, token=user["token"])
        assert status == 200, body
        user["name"] = name

    def change_password(self, user: dict, password: str) -> None:
        body = {"currentPassword": user["password"], "newPassword": password}
        status, _, answer = call(self.gateway, "PUT", "/api/change-password", body, token=user["token"])
        assert status == 200, answer
        user["password"] = password

    def command(self, *argv: str) -> subprocess.CompletedProcess:
        """A command of the runbook, run as an operator would, against this system."""
        return subprocess.run(
            [sys.executable, *argv], cwd=REPO_ROOT, env=self.system.config.env, capture_output=True, text=True,
            timeout=300,
        )

    def migrate_from_sqlite(self, *options: str) -> subprocess.CompletedProcess:
        return self.command("manage_all.py", "migrate_from_sqlite", str(self.monolith.db_path), "--quiet", *options)

    def routes(self, *args: str) -> subprocess.CompletedProcess:
        result = self.command("gateway_project/manage.py", "routes", *args)
        assert result.returncode == 0, result.stderr
        return result

    def served_by_services(self, prefix: str, token: str) -> bool:
        """Whether the gateway sends ``prefix`` to the services: their answers differ from the monolith's."""
        if prefix == "/api/profile":
            status, _, body = call(self.gateway, "GET", prefix, token=token)
            return status == 200 and "T" in body["user"]["created_at"]
        # The monolith has no GET on its write routes (404); the services name the method (405).
        status, _, _ = call(self.gateway, "GET", prefix, token=token)
        return status == 405

    def wait_served_by_services(self, prefix: str, token: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.served_by_services(prefix, token):
            assert time.monotonic() < deadline, f"{prefix} still goes to the monolith"
            time.sleep(0.05)


class Clients:
    """Users calling all along: reading their profile and logging in, and renaming themselves.

    Every answer must be a 200; the only exception is the freeze's 503 with
    Retry-After on a write, which the client sends again after that wait.
    """

    def __init__(self, rehearsal: Rehearsal, readers: list[dict], writers: list[dict]):
        self.rehearsal = rehearsal
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.calls = 0
        self.frozen_answers = 0
        self.threads = [threading.Thread(target=self._read, args=(user,), daemon=True) for user in readers]
        self.threads += [threading.Thread(target=self._write, args=(user,), daemon=True) for user in writers]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _answer(self, what: str, status: int, body) -> None:
        self.calls += 1
        if status != 200:
            self.errors.append(f"{what}: {status} {body}")

    def _read(self, user: dict) -> None:
        gateway = self.rehearsal.gateway
        while not self.stop.is_set():
            status, _, body = call(gateway, "GET", "/api/profile", token=user["token"])
            self._answer("GET /api/profile", status, body)
            status, body = login(gateway, user["email"], user["password"])
            self._answer("POST /api/login", status, body)

    def _write(self, user: dict) -> None:
        gateway, turn = self.rehearsal.gateway, 0
        while not self.stop.is_set():
            turn += 1
            name = f"{user['name'].split(' #')[0]} #{turn}"
            while True:
                status, headers, body = call(gateway, "PUT", "/api/profile", {"name": name}, token=user["token"])
                if status == 503 and headers.get("Retry-After"):
                    self.frozen_answers += 1
                    time.sleep(int(headers["Retry-After"]))
                    continue
                break
            self._answer("PUT /api/profile", status, body)
            if status == 200:
                user["name"] = name


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cutover")
    with running_monolith(directory) as monolith:
        embedded_redis = not os.environ.get("REDIS_URL")
        extra_env = monolith_environment(monolith, **REHEARSAL_ENV)
        with launched_system(directory, embedded_redis=embedded_redis, extra_env=extra_env) as (system, _):
            yield Rehearsal(system, monolith)


def test_the_cutover_rehearsed_end_to_end(rehearsal):
    gateway = rehearsal.gateway

    # Phase 1: the system starts and is healthy in front of the monolith; every legacy route goes to it.
    status, _, health = call(gateway, "GET", "/api/health")
    assert status == 200, health
    assert health["services"]["legacy"]["status"] == "up"
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: rehearsal.register(f"user{n}"), range(USERS)))
    first = next(iter(rehearsal.users.values()))
    phase_one_contract(rehearsal, first)

    # The first import and a catch-up, while the monolith keeps serving and changing data.
    everyone = list(rehearsal.users.values())
    churning, churned = threading.Event(), []
    churn = threading.Thread(
        target=churn_on_the_monolith, args=(rehearsal, everyone[-40:], churning, churned), daemon=True
    )
    churn.start()
    try:
        assert rehearsal.migrate_from_sqlite().returncode == EXIT_CLEAN
        assert rehearsal.migrate_from_sqlite().returncode == EXIT_CLEAN
    finally:
        churning.set()
        churn.join(timeout=60)
    assert churned and all(outcome == "ok" for outcome in churned), churned

    # After the last catch-up, before the routes move: these changes must reach the new system.
    late_registered = [rehearsal.register(f"late{n}") for n in range(LATE)]
    for user in everyone[:LATE]:
        rehearsal.rename(user, f"Late rename {user['id']}")
    for user in everyone[LATE : 2 * LATE]:
        rehearsal.change_password(user, NEW_PASSWORD)

    readers, writers = everyone[2 * LATE : 2 * LATE + CLIENTS // 2], everyone[2 * LATE + CLIENTS // 2 : 2 * LATE + CLIENTS]
    with Clients(rehearsal, readers, writers) as clients:
        # The final catch-up is refused while a route still writes to the monolith.
        refused = rehearsal.migrate_from_sqlite("--final")
        assert refused.returncode == 1 and "freeze them first" in refused.stderr, refused.stderr

        rehearsal.routes("freeze", "/api/register", "/api/profile", "/api/change-password")
        refused_move = rehearsal.command("gateway_project/manage.py", "routes", "move", "/api/profile", "--to", "services")
        assert refused_move.returncode == 1 and "no final catch-up" in refused_move.stderr
        final = rehearsal.migrate_from_sqlite("--final")
        assert final.returncode == EXIT_CLEAN, final.stdout + final.stderr

        for prefix in MOVES:
            rehearsal.routes("move", prefix, "--to", "services")
            rehearsal.wait_served_by_services(prefix, first["token"])
        rehearsal.routes("thaw", "/api/register", "/api/profile", "/api/change-password")
        wait_until_a_write_goes_through(rehearsal, first)

    assert clients.errors == [], clients.errors[:10]
    assert clients.calls > 0 and clients.frozen_answers > 0

    # Everyone on the new system: their latest password, their monolith token, their latest name.
    with ThreadPoolExecutor(4) as pool:
        problems = [problem for problem in pool.map(lambda user: on_the_new_system(rehearsal, user), rehearsal.users.values()) if problem]
    assert problems == [], problems[:10]
    assert all(claims_of(user["token"]).get("userId") == user["id"] for user in late_registered)
    status, _, health = call(gateway, "GET", "/api/health")
    assert status == 200 and "legacy" not in health["services"], health

    verify = rehearsal.migrate_from_sqlite("--verify")
    assert verify.returncode == EXIT_CLEAN, verify.stdout


def phase_one_contract(rehearsal: Rehearsal, user: dict) -> None:
    """The legacy contract through the gateway while the monolith answers it (tests/test_legacy_api.py for every row)."""
    gateway = rehearsal.gateway
    status, body = login(gateway, user["email"].upper(), user["password"])
    assert status == 200 and body["message"] == "Login successful" and body["user"]["id"] == user["id"], body
    assert "refresh" not in body  # the monolith answered
    status, _, body = call(gateway, "GET", "/api/profile", token=user["token"])
    assert (status, body["user"]["email"], body["user"]["name"]) == (200, user["email"], user["name"])
    assert call(gateway, "GET", "/api/profile")[0::2] == (401, {"error": "Access token required"})
    assert call(gateway, "GET", "/api/profile", token="garbage")[0::2] == (403, {"error": "Invalid or expired token"})
    status, _, body = call(gateway, "POST", "/api/register", {"email": "not-an-email", "password": PASSWORD})
    assert status == 400 and {entry["path"] for entry in body["errors"]} == {"email"}, body
    status, _, body = call(gateway, "POST", "/api/register", {"email": user["email"], "password": PASSWORD})
    assert (status, body) == (400, {"error": "User already exists"})
    assert login(gateway, user["email"], "Wrong-Password-1") == (401, {"error": "Invalid credentials"})
    rehearsal.rename(user, "Phase One")
    wrong = {"currentPassword": "Wrong-Password-1", "newPassword": NEW_PASSWORD}
    status, _, body = call(gateway, "PUT", "/api/change-password", wrong, token=user["token"])
    assert (status, body) == (401, {"error": "Current password is incorrect"})


def churn_on_the_monolith(rehearsal: Rehearsal, users: list[dict], stop: threading.Event, outcomes: list) -> None:
    """Registrations, renames and password changes on the monolith, until ``stop``; each turn's outcome in ``outcomes``."""
    turn = 0
    while not stop.is_set() and turn < len(users):
        user = users[turn]
        try:
            rehearsal.register(f"churn{turn}")
            rehearsal.rename(user, f"Churned {turn}")
            if turn % 2:
                rehearsal.change_password(user, NEW_PASSWORD)
        except AssertionError as exc:
            outcomes.append(f"turn {turn}: {exc}")
            return
        outcomes.append("ok")
        turn += 1


def wait_until_a_write_goes_through(rehearsal: Rehearsal, user: dict, timeout: float = 10.0) -> None:
    """After the thaw, a client's write is answered by the services (every worker has re-read the table)."""
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = call(rehearsal.gateway, "PUT", "/api/profile", {"name": user["name"]}, token=user["token"])
        if status == 200:
            return
        assert status == 503 and time.monotonic() < deadline, body
        time.sleep(0.05)


def on_the_new_system(rehearsal: Rehearsal, user: dict) -> str | None:
    """What is wrong with ``user`` on the new system: logging in with the latest password, the monolith token."""
    gateway = rehearsal.gateway
    status, body = login(gateway, user["email"], user["password"])
    if status != 200 or "refresh" not in body or body["user"]["id"] != user["id"]:
        return f"{user['email']}: login {status} {body}"
    status, _, body = call(gateway, "GET", "/api/profile", token=user["token"])
    if status != 200 or (body["user"]["email"], body["user"]["name"]) != (user["email"], user["name"]):
        return f"{user['email']}: profile with the monolith token {status} {body}, expected {user['name']!r}"
    if "T" not in body["user"]["created_at"]:
        return f"{user['email']}: the profile came from the monolith"
    return None
