"""The monolith's users.db imported into both services, then used through the gateway with the old passwords.

A system of its own: the legacy ids (1, 2, 3, 5, ...) must find empty databases,
as they will at the cutover.
"""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import manage_all
from accounts import call, claims_of, login, register, unique_email
from common.legacy_import.exit_codes import EXIT_ERROR, EXIT_NEEDS_ATTENTION, EXIT_USAGE, EXIT_VERIFY_MISMATCH
from common.legacy_testing import LONG_PASSWORD, bcryptjs_hash, legacy_database, legacy_users
from manage_all import REPO_ROOT

USERS = legacy_users()


def migrate_from_sqlite(system, path: Path, *options: str) -> subprocess.CompletedProcess:
    """``python manage_all.py migrate_from_sqlite PATH`` against ``system``'s databases."""
    return subprocess.run(
        [sys.executable, "manage_all.py", "migrate_from_sqlite", str(path), "--quiet", *options],
        cwd=REPO_ROOT,
        env=system.config.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def legacy(own_system, tmp_path_factory):
    """(system, gateway URL, users.db path, the first import's outcome): imported once for the module."""
    system, _ = own_system
    path = legacy_database(tmp_path_factory.mktemp("legacy") / "users.db")
    first = migrate_from_sqlite(system, path)
    return system, system.gateway_url, path, first


def report(system, service: str) -> list[dict[str, str]]:
    path = system.config.var_dir / service / f"legacy-import-{service}-report.csv"
    with path.open(encoding="utf-8") as file:
        return list(csv.DictReader(file))


def logged_in(gateway: str, email: str, password: str) -> dict:
    status, body = login(gateway, email, password)
    assert status == 200, body
    return body


def test_the_import_runs_in_the_users_service_and_the_auth_service(legacy):
    _, _, _, first = legacy

    assert first.returncode == EXIT_NEEDS_ATTENTION, first.stderr
    assert first.stdout.index("== users:") < first.stdout.index("== auth:")
    assert "users: read 13 rows" in first.stdout and "auth: read 13 rows" in first.stdout
    assert "Traceback" not in first.stderr


def test_an_old_password_logs_in_through_the_gateway_as_the_same_user(legacy):
    _, gateway, _, _ = legacy

    body = logged_in(gateway, "alice@example.com", "alice-password")

    assert body["message"] == "Login successful"
    assert body["user"]["id"] == USERS["alice"].id
    assert (body["user"]["email"], body["user"]["name"]) == ("alice@example.com", "Alice")
    assert body["user"]["created_at"].startswith("2019-01-01T00:00:37")
    assert claims_of(body["token"])["userId"] == USERS["alice"].id


def test_the_token_opens_the_imported_profile(legacy):
    _, gateway, _, _ = legacy
    token = logged_in(gateway, "zoe@example.com", "alice-password")["token"]

    status, _, body = call(gateway, "GET", "/api/profile", token=token)

    assert status == 200, body
    assert body["user"]["id"] == USERS["zoe"].id
    assert body["user"]["name"] == "Zoë 山田 🎉"
    assert body["user"]["created_at"].startswith("2019-03-03T03:03:03.123")


def test_a_gmail_address_typed_the_old_way_logs_in(legacy):
    _, gateway, _, _ = legacy

    body = logged_in(gateway, "New.Person+x@Gmail.com", "gmail-password")

    assert body["user"]["id"] == USERS["gmail"].id
    assert body["user"]["email"] == "newperson@gmail.com"
    assert body["user"]["name"] is None


def test_a_password_over_72_bytes_logs_in(legacy):
    _, gateway, _, _ = legacy

    assert logged_in(gateway, "long.password@example.com", LONG_PASSWORD)["user"]["id"] == USERS["long_password"].id


def test_rows_kept_out_by_the_policy_do_not_log_in(legacy):
    _, gateway, _, _ = legacy

    assert login(gateway, "User5@EXAMPLE.com", "variant-password") == (401, {"error": "Invalid credentials"})
    assert login(gateway, "sha@example.com", "anything-at-all") == (401, {"error": "Invalid credentials"})
    assert logged_in(gateway, "User5@EXAMPLE.com", "five-password")["user"]["id"] == USERS["five"].id


def test_each_service_reports_the_rows_that_need_a_person(legacy):
    system, _, _, _ = legacy
    skipped = {
        (USERS["five_variant"].id, "duplicate_email"),
        (USERS["mixed_variant"].id, "duplicate_email"),
        (USERS["empty"].id, "empty_email"),
        (USERS["unreadable_date"].id, "created_at_unreadable"),
    }

    assert {(int(row["id"]), row["issue"]) for row in report(system, "users")} == skipped
    assert {(int(row["id"]), row["issue"]) for row in report(system, "auth")} == skipped | {
        (USERS["sha"].id, "not_bcrypt")
    }


def test_running_it_again_imports_nothing_twice(legacy):
    system, _, path, _ = legacy

    again = migrate_from_sqlite(system, path)

    assert again.returncode == EXIT_NEEDS_ATTENTION, again.stderr
    assert again.stdout.count("inserted 0, updated 0") == 2


def test_verify_compares_users_db_with_both_services_after_logins(legacy):
    system, gateway, path, _ = legacy
    logged_in(gateway, "padded@example.com", "alice-password")  # its hash becomes Argon2

    verified = migrate_from_sqlite(system, path, "--verify")

    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "users: verified 13 rows of users.db" in verified.stdout
    assert "auth: verified 13 rows of users.db" in verified.stdout
    assert "0 mismatches" in verified.stdout


def test_new_registrations_get_ids_after_the_legacy_ones(legacy):
    _, gateway, path, _ = legacy
    with sqlite3.connect(path) as connection:
        (highest,) = connection.execute("SELECT MAX(id) FROM users").fetchone()
    connection.close()

    status, body = register(gateway, unique_email("after-import"))

    assert status == 201, body
    assert body["user"]["id"] > highest


def test_a_catch_up_run_brings_users_the_monolith_added_and_changed(legacy):
    system, gateway, path, _ = legacy
    with sqlite3.connect(path) as connection:
        connection.execute(
            "INSERT INTO users VALUES (500, 'late@example.com', ?, 'Late', '2024-05-05T05:05:05.000Z')",
            [bcryptjs_hash("late-password")],
        )
        connection.execute("UPDATE users SET name = 'Renamed' WHERE id = ?", [USERS["mixed"].id])
    connection.close()

    caught_up = migrate_from_sqlite(system, path)

    assert caught_up.stdout.count("inserted 1, updated 1") == 2, caught_up.stdout
    assert logged_in(gateway, "late@example.com", "late-password")["user"]["id"] == 500
    assert logged_in(gateway, "mixed@example.com", "alice-password")["user"]["name"] == "Renamed"


def test_a_catch_up_run_is_seen_by_the_next_profile_read_not_an_edge_copy(legacy):
    system, gateway, path, _ = legacy
    token = logged_in(gateway, "zoe@example.com", "alice-password")["token"]
    first = call(gateway, "GET", "/api/profile", token=token)
    second = call(gateway, "GET", "/api/profile", token=token)  # from the gateway's copy
    assert second[0::2] == first[0::2] and second[1]["ETag"] == first[1]["ETag"]
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE users SET name = 'Zoë, renamed on the monolith' WHERE id = ?", [USERS["zoe"].id])
    connection.close()

    caught_up = migrate_from_sqlite(system, path)

    users_summary = next(line for line in caught_up.stdout.splitlines() if line.startswith("users: read"))
    assert "inserted 0, updated 1," in users_summary, caught_up.stdout
    status, _, body = call(gateway, "GET", "/api/profile", token=token)
    assert (status, body["user"]["name"]) == (200, "Zoë, renamed on the monolith")


def test_bad_input_is_one_line_from_each_service(legacy, tmp_path):
    system, _, _, _ = legacy
    path = tmp_path / "users.db"
    path.write_text("this is not a database\n")

    failed = migrate_from_sqlite(system, path)

    assert failed.returncode == EXIT_ERROR
    lines = [line for line in failed.stderr.splitlines() if "not a SQLite database" in line]
    assert sorted(line.split(":")[0] for line in lines) == ["auth", "users"]
    assert all(line.endswith("(nothing was imported)") for line in lines)
    assert "Traceback" not in failed.stderr


def fake_import(status: int, *, wait_for: Path | None = None, mark: Path | None = None) -> list[str]:
    """argv of a stand-in for one service's command: prints a summary and a progress line, exits with ``status``.

    With ``wait_for`` it waits (up to 20 s) for that file to exist first; with ``mark`` it creates that file.
    """
    script = (
        "import pathlib, sys, time\n"
        f"mark, wait_for = {str(mark) if mark else None!r}, {str(wait_for) if wait_for else None!r}\n"
        "if mark: pathlib.Path(mark).touch()\n"
        "deadline = time.monotonic() + 20\n"
        "while wait_for and not pathlib.Path(wait_for).exists() and time.monotonic() < deadline: time.sleep(0.01)\n"
        "both = wait_for and pathlib.Path(wait_for).exists()\n"
        "print('read 13 rows' + (' (after the other started)' if both else ''))\n"
        "print('importing: 100%', file=sys.stderr)\n"
        f"sys.exit({status})\n"
    )
    return [sys.executable, "-c", script]


@pytest.mark.parametrize(
    ("users", "auth", "status"),
    [
        (EXIT_NEEDS_ATTENTION, 0, EXIT_NEEDS_ATTENTION),
        (EXIT_VERIFY_MISMATCH, EXIT_NEEDS_ATTENTION, EXIT_VERIFY_MISMATCH),
        (0, EXIT_ERROR, EXIT_ERROR),
        (EXIT_ERROR, 0, EXIT_ERROR),
        (EXIT_USAGE, EXIT_ERROR, EXIT_USAGE),
    ],
)
def test_manage_all_runs_both_services_at_once_and_exits_with_the_most_serious_status(
    monkeypatch, capfd, tmp_path, users, auth, status
):
    started = {"users": tmp_path / "users-started", "auth": tmp_path / "auth-started"}
    commands = {
        # Each waits for the other to have started: run one after the other, neither would say it had.
        "users": fake_import(users, mark=started["users"], wait_for=started["auth"]),
        "auth": fake_import(auth, mark=started["auth"], wait_for=started["users"]),
    }
    monkeypatch.setattr(manage_all, "project_command", lambda project, command, args: commands[project])

    assert manage_all.run_legacy_import(["gateway", "auth", "users"], ["users.db"], {}) == status

    out, err = capfd.readouterr()
    assert out.index("== users: manage.py migrate_from_sqlite users.db") < out.index("== auth:")
    assert "users: read 13 rows (after the other started)" in out
    assert "auth: read 13 rows (after the other started)" in out
    assert "users: importing: 100%" in err and "auth: importing: 100%" in err
    failed = [project for project, code in (("users", users), ("auth", auth)) if code in (EXIT_ERROR, EXIT_USAGE)]
    assert [line.split(":")[0] for line in err.splitlines() if "failed with exit status" in line] == [
        f"== {project}" for project in failed
    ]
