"""``manage.py migrate_from_sqlite``: the monolith's users.db into credentials, old passwords working."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from django.contrib.auth.hashers import is_password_usable

from common.errors import ApiError
from common.legacy_import.exit_codes import EXIT_CLEAN, EXIT_NEEDS_ATTENTION
from common.legacy_testing import LONG_PASSWORD, bcryptjs_hash, legacy_users
from credentials.models import Credential
from credentials.logins import credential_login
from legacy_import.models import LegacyRowState

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

USERS = legacy_users()
IMPORTED = ["alice", "gmail", "padded", "five", "zoe", "mixed", "sha", "long_name", "long_password", "unreadable_date"]


def logs_in(email: str, password: str) -> bool:
    try:
        credential_login(email=email, password=password)
    except ApiError:
        return False
    return True


def test_each_user_id_keeps_its_credential(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    assert sorted(Credential.objects.values_list("user_id", flat=True)) == sorted(USERS[n].id for n in IMPORTED)
    alice = Credential.objects.get(pk=USERS["alice"].id)
    assert (alice.email, alice.email_canonical, alice.is_active, alice.token_version) == (
        "alice@example.com", "alice@example.com", True, 0
    )


def test_hashes_are_stored_in_djangos_bcrypt_form(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    assert Credential.objects.get(pk=USERS["alice"].id).password == "bcrypt$" + bcryptjs_hash("alice-password")
    assert Credential.objects.get(pk=USERS["long_password"].id).password.startswith("bcrypt$$2b$10$")


def test_the_name_and_created_at_copies_come_from_users_db(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    gmail = Credential.objects.get(pk=USERS["gmail"].id)
    assert gmail.name is None
    assert gmail.user_created_at == datetime(2019, 1, 1, 0, 0, 37, tzinfo=UTC)
    assert Credential.objects.get(pk=USERS["zoe"].id).name == "Zoë 山田 🎉"


def test_old_passwords_log_in_unchanged(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    assert logs_in("alice@example.com", "alice-password")
    assert logs_in("long.password@example.com", LONG_PASSWORD)  # over 72 bytes, $2b$
    assert logs_in("New.Person+x@Gmail.com", "gmail-password")  # typed the old way
    assert not logs_in("alice@example.com", "wrong-password")


def test_a_legacy_hash_becomes_argon2_at_the_first_login_and_verify_accepts_that(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    assert logs_in("alice@example.com", "alice-password")

    assert Credential.objects.get(pk=USERS["alice"].id).password.startswith("argon2")
    assert logs_in("alice@example.com", "alice-password")
    run = migrate_from_sqlite(legacy_path, "--verify")
    assert run.status == EXIT_CLEAN
    assert "1 changed through the service since" in run.stdout
    assert "inserted 0, updated 0" in migrate_from_sqlite(legacy_path).stdout  # the login is not undone


def test_a_hash_that_is_not_bcrypt_becomes_an_unusable_password_and_is_reported(
    legacy_path, migrate_from_sqlite, report_rows
):
    run = migrate_from_sqlite(legacy_path)

    assert run.status == EXIT_NEEDS_ATTENTION
    assert not is_password_usable(Credential.objects.get(pk=USERS["sha"].id).password)
    assert not logs_in("sha@example.com", "")
    (row,) = [row for row in report_rows() if row["issue"] == "not_bcrypt"]
    assert (int(row["id"]), row["email"], row["status"]) == (USERS["sha"].id, "sha@example.com", "imported_with_issue")
    assert "sha1" not in row["detail"]  # the report never shows a hash


def test_the_report_lists_what_the_users_service_lists_and_the_unusable_passwords(
    legacy_path, migrate_from_sqlite, report_rows
):
    migrate_from_sqlite(legacy_path)

    assert {(int(row["id"]), row["issue"]) for row in report_rows()} == {
        (USERS["five_variant"].id, "duplicate_email"),
        (USERS["mixed_variant"].id, "duplicate_email"),
        (USERS["empty"].id, "empty_email"),
        (USERS["unreadable_date"].id, "created_at_unreadable"),
        (USERS["sha"].id, "not_bcrypt"),
    }
    assert LegacyRowState.objects.count() == len(USERS)


def test_a_skipped_case_variant_does_not_open_the_account_that_keeps_the_address(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    assert logs_in("User5@EXAMPLE.com", "five-password")
    assert not logs_in("User5@EXAMPLE.com", "variant-password")
    assert not Credential.objects.filter(pk=USERS["five_variant"].id).exists()


def test_a_password_changed_in_users_db_since_is_picked_up(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)
    with sqlite3.connect(legacy_path) as connection:
        connection.execute(
            "UPDATE users SET password = ? WHERE id = ?", (bcryptjs_hash("new-password"), USERS["zoe"].id)
        )
    connection.close()

    run = migrate_from_sqlite(legacy_path)

    assert "updated 1" in run.stdout
    assert logs_in("zoe@example.com", "new-password")
    assert not logs_in("zoe@example.com", "alice-password")


def test_verify_finds_nothing_after_an_import(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    run = migrate_from_sqlite(legacy_path, "--verify")

    assert run.status == EXIT_CLEAN
    assert "10 match, 0 changed through the service since, 3 skipped by policy, 0 mismatches" in run.stdout


def test_running_it_again_imports_nothing_twice(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)
    passwords = dict(Credential.objects.values_list("user_id", "password"))

    run = migrate_from_sqlite(legacy_path)

    assert "inserted 0, updated 0, unchanged 10" in run.stdout
    assert dict(Credential.objects.values_list("user_id", "password")) == passwords  # unusable ones too
