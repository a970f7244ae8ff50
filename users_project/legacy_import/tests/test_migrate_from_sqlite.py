"""``manage.py migrate_from_sqlite``: the monolith's users.db into profiles."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError
from django.db import connections

from common.legacy_import.exit_codes import EXIT_CLEAN, EXIT_ERROR, EXIT_NEEDS_ATTENTION, EXIT_VERIFY_MISMATCH
from common.legacy_import.run import LegacyImport
from common.legacy_testing import LONG_NAME, legacy_database, legacy_users
from legacy_import.models import ImportRun, LegacyRowState
from users.models import Preferences, Profile
from users.selectors import user_preferences_get
from users.services import user_profile_update

pytestmark = pytest.mark.django_db(databases=["default", "users"])

USERS = legacy_users()
IMPORTED = ["alice", "gmail", "padded", "five", "zoe", "mixed", "sha", "long_name", "long_password", "unreadable_date"]


def legacy_execute(path, statement: str, *parameters) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(statement, parameters)
    connection.close()


def profile_state() -> list[tuple]:
    return list(Profile.objects.order_by("id").values_list("id", "email", "name", "created_at", "updated_at"))


# What arrives
# ------------------------------------------------------------------------------


def test_ids_emails_names_and_created_at_arrive_as_the_monolith_stored_them(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    assert sorted(Profile.objects.values_list("id", flat=True)) == sorted(USERS[name].id for name in IMPORTED)
    for name in IMPORTED:
        user, profile = USERS[name], Profile.objects.get(pk=USERS[name].id)
        assert (profile.email, profile.name) == (user.email, user.name)
    assert Profile.objects.get(pk=USERS["gmail"].id).name is None
    assert Profile.objects.get(pk=USERS["padded"].id).name == "  Padded Name  "
    assert Profile.objects.get(pk=USERS["zoe"].id).name == "Zoë 山田 🎉"
    assert Profile.objects.get(pk=USERS["long_name"].id).name == LONG_NAME


def test_every_created_at_form_becomes_an_aware_utc_datetime(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    created = dict(Profile.objects.values_list("id", "created_at"))
    moment = datetime(2019, 1, 1, 0, 0, 37, tzinfo=UTC)
    assert created[USERS["alice"].id] == created[USERS["gmail"].id] == created[USERS["padded"].id] == moment
    assert created[USERS["zoe"].id] == datetime(2019, 3, 3, 3, 3, 3, 123000, tzinfo=UTC)
    assert all(value.utcoffset().total_seconds() == 0 for value in created.values())


def test_the_canonical_lookup_form_is_stored_beside_the_address(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    assert Profile.objects.get(pk=USERS["mixed"].id).email_canonical == "mixed@example.com"
    assert Profile.objects.get(email_canonical="newperson@gmail.com").pk == USERS["gmail"].id


def test_imported_users_are_active_with_the_default_preferences(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    assert Profile.objects.visible().count() == len(IMPORTED)
    assert not Preferences.objects.exists()
    preferences = user_preferences_get(profile=Profile.objects.get(pk=USERS["alice"].id))
    assert (preferences.theme, preferences.language, preferences.notifications_enabled) == ("light", "en", True)


def test_new_accounts_get_ids_after_every_id_users_db_used(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    highest = max(user.id for user in USERS.values())  # a row that was imported with an issue
    profile = Profile.objects.create(email="new@example.com", email_canonical="new@example.com")
    # Greater, not equal: PostgreSQL sequences do not roll back with a test's transaction.
    assert profile.pk > highest


def test_new_ids_pass_a_highest_id_that_was_not_imported(tmp_path, migrate_from_sqlite):
    path = legacy_database(tmp_path / "users.db", {"alice": USERS["alice"], "empty": replace(USERS["empty"], id=40)})

    migrate_from_sqlite(path)

    assert not Profile.objects.filter(pk=40).exists()
    assert Profile.objects.create(email="new@example.com", email_canonical="new@example.com").pk > 40


# Rows that cannot be imported as they are
# ------------------------------------------------------------------------------


def test_of_case_variant_addresses_the_one_the_monolith_could_log_in_keeps_it(
    legacy_path, migrate_from_sqlite, report_rows
):
    run = migrate_from_sqlite(legacy_path)

    assert run.status == EXIT_NEEDS_ATTENTION
    assert Profile.objects.get(email_canonical="user5@example.com").pk == USERS["five"].id
    assert not Profile.objects.filter(pk=USERS["five_variant"].id).exists()
    # Neither "Mixed@Example.com" (10) nor "MIXED@example.com" (14) is canonical: the older one keeps it.
    assert Profile.objects.get(email_canonical="mixed@example.com").pk == USERS["mixed"].id
    listed = {int(row["id"]): row for row in report_rows()}
    assert listed[USERS["five_variant"].id]["issue"] == "duplicate_email"
    assert listed[USERS["five_variant"].id]["detail"] == f"id {USERS['five'].id} keeps the address"
    assert listed[USERS["mixed_variant"].id]["email"] == "MIXED@example.com"


def test_the_report_lists_every_row_not_imported_as_it_is(legacy_path, migrate_from_sqlite, report_rows):
    run = migrate_from_sqlite(legacy_path)

    assert {(int(row["id"]), row["status"], row["issue"]) for row in report_rows()} == {
        (USERS["five_variant"].id, "skipped", "duplicate_email"),
        (USERS["mixed_variant"].id, "skipped", "duplicate_email"),
        (USERS["empty"].id, "skipped", "empty_email"),
        (USERS["unreadable_date"].id, "imported_with_issue", "created_at_unreadable"),
    }
    assert "4 rows need attention" in run.stdout
    assert LegacyRowState.objects.count() == len(USERS)  # nothing dropped silently


def test_an_unreadable_created_at_is_imported_as_1970_and_reported(legacy_path, migrate_from_sqlite, report_rows):
    migrate_from_sqlite(legacy_path)

    assert Profile.objects.get(pk=USERS["unreadable_date"].id).created_at == datetime(1970, 1, 1, tzinfo=UTC)
    (row,) = [row for row in report_rows() if row["issue"] == "created_at_unreadable"]
    assert row["detail"] == "created_at was 'sometime in 2019'"


def test_an_id_an_account_of_the_new_system_holds_is_not_overwritten(legacy_path, migrate_from_sqlite, report_rows):
    Profile.objects.create(id=USERS["alice"].id, email="other@example.com", email_canonical="other@example.com")

    migrate_from_sqlite(legacy_path)

    assert Profile.objects.get(pk=USERS["alice"].id).email == "other@example.com"
    assert [row["issue"] for row in report_rows() if int(row["id"]) == USERS["alice"].id] == ["id_taken"]


def test_an_address_an_account_of_the_new_system_holds_stays_with_it(legacy_path, migrate_from_sqlite, report_rows):
    holder = Profile.objects.create(id=500, email="ALICE@example.com", email_canonical="alice@example.com")

    migrate_from_sqlite(legacy_path)

    assert Profile.objects.get(email_canonical="alice@example.com") == holder
    (row,) = [row for row in report_rows() if int(row["id"]) == USERS["alice"].id]
    assert (row["issue"], row["detail"]) == ("duplicate_email", "id 500 holds the address in the service")


def test_an_id_below_1_is_skipped_and_reported(tmp_path, migrate_from_sqlite, report_rows):
    path = legacy_database(tmp_path / "users.db", {"alice": replace(USERS["alice"], id=0)})

    migrate_from_sqlite(path)

    assert not Profile.objects.exists()
    assert [(row["id"], row["issue"]) for row in report_rows()] == [("0", "invalid_id")]


def test_text_a_database_cannot_hold_is_repaired_and_reported(tmp_path, migrate_from_sqlite, report_rows):
    path = legacy_database(tmp_path / "users.db", {"alice": USERS["alice"]})
    legacy_execute(path, "UPDATE users SET name = CAST(X'416C69636500E9' AS TEXT)")

    migrate_from_sqlite(path)

    assert Profile.objects.get().name == "Alice\ufffd\ufffd"
    assert [row["issue"] for row in report_rows()] == ["invalid_text"]


# Running it again
# ------------------------------------------------------------------------------


def test_running_it_again_imports_nothing_twice(legacy_path, migrate_from_sqlite, report_rows):
    first = migrate_from_sqlite(legacy_path)
    before, states = profile_state(), list(LegacyRowState.objects.values_list())

    again = migrate_from_sqlite(legacy_path)

    assert profile_state() == before
    assert list(LegacyRowState.objects.values_list()) == states
    assert "inserted 0, updated 0, unchanged 10, skipped 3" in again.stdout
    assert again.status == first.status == EXIT_NEEDS_ATTENTION  # the same rows still need a person
    assert len(report_rows()) == 4


def test_rows_added_and_changed_in_users_db_since_are_picked_up(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)
    legacy_execute(legacy_path, "UPDATE users SET name = 'Alice Liddell' WHERE id = ?", USERS["alice"].id)
    legacy_execute(
        legacy_path, "INSERT INTO users VALUES (30, 'late@example.com', 'x', 'Late', '2024-01-01 00:00:00')"
    )
    untouched = Profile.objects.get(pk=USERS["zoe"].id).updated_at

    run = migrate_from_sqlite(legacy_path)

    assert "inserted 1, updated 1, unchanged 9" in run.stdout
    assert Profile.objects.get(pk=USERS["alice"].id).name == "Alice Liddell"
    assert Profile.objects.get(pk=30).email == "late@example.com"
    assert Profile.objects.get(pk=USERS["zoe"].id).updated_at == untouched
    assert Profile.objects.create(email="n@example.com", email_canonical="n@example.com").pk > 30


def test_a_catch_up_advances_the_revision_of_the_profiles_it_changes_only(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)
    before = dict(Profile.objects.values_list("id", "revision"))
    legacy_execute(legacy_path, "UPDATE users SET name = 'Alice Liddell' WHERE id = ?", USERS["alice"].id)

    migrate_from_sqlite(legacy_path)

    after = dict(Profile.objects.values_list("id", "revision"))
    assert after[USERS["alice"].id] > before[USERS["alice"].id]
    assert {key: value for key, value in after.items() if key != USERS["alice"].id} == {
        key: value for key, value in before.items() if key != USERS["alice"].id
    }


def test_a_catch_up_with_redis_down_changes_nothing_and_says_so(legacy_path, migrate_from_sqlite, settings,
                                                                 unreachable_redis_url):
    migrate_from_sqlite(legacy_path)
    legacy_execute(legacy_path, "UPDATE users SET name = 'Alice Liddell' WHERE id = ?", USERS["alice"].id)
    settings.REDIS_URL = unreachable_redis_url

    with pytest.raises(CommandError) as refused:
        migrate_from_sqlite(legacy_path)

    assert refused.value.returncode == EXIT_ERROR
    assert "Redis did not take the changed profiles' revisions" in str(refused.value)
    assert Profile.objects.get(pk=USERS["alice"].id).name == USERS["alice"].name


def test_a_skipped_row_is_imported_once_what_kept_it_out_is_fixed(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)
    legacy_execute(legacy_path, "UPDATE users SET email = 'someone@example.com' WHERE id = ?", USERS["empty"].id)

    migrate_from_sqlite(legacy_path)

    assert Profile.objects.get(pk=USERS["empty"].id).email == "someone@example.com"
    assert LegacyRowState.objects.get(pk=USERS["empty"].id).status == "imported"


def test_a_row_deleted_from_users_db_stays_and_is_reported(legacy_path, migrate_from_sqlite, report_rows):
    migrate_from_sqlite(legacy_path)
    legacy_execute(legacy_path, "DELETE FROM users WHERE id IN (?, ?)", USERS["alice"].id, USERS["unreadable_date"].id)

    migrate_from_sqlite(legacy_path)

    assert Profile.objects.filter(pk=USERS["alice"].id).exists()
    listed = {int(row["id"]): row for row in report_rows()}
    assert listed[USERS["alice"].id]["issue"] == "removed_from_source"
    assert listed[USERS["alice"].id]["email"] == "alice@example.com"
    assert listed[USERS["unreadable_date"].id]["issue"] == "removed_from_source"


def test_a_change_made_in_both_places_keeps_the_services_and_is_reported(
    legacy_path, migrate_from_sqlite, report_rows
):
    migrate_from_sqlite(legacy_path)
    user_profile_update(user_id=USERS["alice"].id, name="Alice (new system)")
    legacy_execute(legacy_path, "UPDATE users SET name = 'Alice (monolith)' WHERE id = ?", USERS["alice"].id)

    run = migrate_from_sqlite(legacy_path)

    assert Profile.objects.get(pk=USERS["alice"].id).name == "Alice (new system)"
    assert "conflicts 1" in run.stdout
    listed = {int(row["id"]): row for row in report_rows()}
    assert (listed[USERS["alice"].id]["issue"], listed[USERS["alice"].id]["status"]) == ("changed_in_both", "conflict")


def test_an_interrupted_run_goes_on_where_it_stopped(legacy_path, migrate_from_sqlite, monkeypatch):
    real_apply = LegacyImport._apply_batch
    batches = []

    def apply_then_stop(self, rows, **kwargs):
        if batches:
            raise KeyboardInterrupt
        batches.append([row.id for row in rows])
        return real_apply(self, rows, **kwargs)

    monkeypatch.setattr(LegacyImport, "_apply_batch", apply_then_stop)
    with pytest.raises(CommandError, match="^interrupted") as raised:
        migrate_from_sqlite(legacy_path, "--batch-size", "4")
    assert raised.value.returncode == EXIT_ERROR
    assert sorted(Profile.objects.values_list("id", flat=True)) == [1, 2, 3, 5]
    assert ImportRun.objects.get().last_id == 5
    monkeypatch.setattr(LegacyImport, "_apply_batch", real_apply)

    run = migrate_from_sqlite(legacy_path, "--batch-size", "4")

    assert "an earlier run stopped after id 5" in run.stdout
    assert "inserted 6, updated 0, unchanged 4" in run.stdout
    assert Profile.objects.count() == len(IMPORTED)


# Plain indexes, built once at the end of a first import (PostgreSQL)
# ------------------------------------------------------------------------------

postgresql_only = pytest.mark.skipif(
    connections["users"].vendor != "postgresql", reason="indexes are deferred on PostgreSQL only"
)
KEPT_INDEXES = {"users_profile_pkey", "users_profile_email_canonical_key"}  # the primary key and the unique address


def profile_indexes() -> set[str]:
    with connections["users"].cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'users_profile'")
        return {name for (name,) in cursor.fetchall()}


def indexes_while_importing(monkeypatch) -> list[set[str]]:
    """The profile table's indexes as each batch of the next imports begins."""
    seen, real_apply = [], LegacyImport._apply_batch

    def apply(self, rows, **kwargs):
        seen.append(profile_indexes())
        return real_apply(self, rows, **kwargs)

    monkeypatch.setattr(LegacyImport, "_apply_batch", apply)
    return seen


@postgresql_only
def test_a_first_import_builds_the_plain_indexes_once_at_the_end(legacy_path, migrate_from_sqlite, monkeypatch):
    before = profile_indexes()
    assert before > KEPT_INDEXES
    during = indexes_while_importing(monkeypatch)

    migrate_from_sqlite(legacy_path, "--batch-size", "4")

    assert len(during) == 4 and all(indexes == KEPT_INDEXES for indexes in during)
    assert profile_indexes() == before
    assert ImportRun.objects.get().deferred_indexes == []


@postgresql_only
def test_a_run_into_a_table_that_has_rows_keeps_every_index(legacy_path, migrate_from_sqlite, monkeypatch):
    Profile.objects.create(id=900, email="new@example.com", email_canonical="new@example.com")
    before = profile_indexes()
    during = indexes_while_importing(monkeypatch)

    migrate_from_sqlite(legacy_path)

    assert during == [before]


@postgresql_only
def test_an_interrupted_first_import_builds_its_indexes_before_it_stops(
    legacy_path, migrate_from_sqlite, monkeypatch
):
    before = profile_indexes()
    monkeypatch.setattr(LegacyImport, "_import_batch", lambda self, batch, **kwargs: _interrupt())

    with pytest.raises(CommandError, match="^interrupted"):
        migrate_from_sqlite(legacy_path)

    assert profile_indexes() == before
    assert ImportRun.objects.get().deferred_indexes == []


@postgresql_only
def test_indexes_a_killed_run_still_owed_are_built_by_the_next(legacy_path, migrate_from_sqlite, monkeypatch):
    before = profile_indexes()
    real_import, real_build = LegacyImport._import_batch, LegacyImport._build_deferred_indexes
    imported = []

    def import_one_batch(self, batch, **kwargs):
        if imported:
            _interrupt()
        imported.append(batch)
        return real_import(self, batch, **kwargs)

    # Killed: nothing after the first batch runs, the indexes are not built.
    monkeypatch.setattr(LegacyImport, "_import_batch", import_one_batch)
    monkeypatch.setattr(LegacyImport, "_build_deferred_indexes", lambda self, run: None)
    with pytest.raises(CommandError):
        migrate_from_sqlite(legacy_path, "--batch-size", "4")
    assert profile_indexes() == KEPT_INDEXES
    assert ImportRun.objects.get().deferred_indexes != []
    monkeypatch.setattr(LegacyImport, "_import_batch", real_import)
    monkeypatch.setattr(LegacyImport, "_build_deferred_indexes", real_build)

    run = migrate_from_sqlite(legacy_path, "--batch-size", "4")

    assert "an earlier run stopped after id 5" in run.stdout
    assert profile_indexes() == before
    assert list(ImportRun.objects.values_list("deferred_indexes", flat=True)) == [[], []]
    assert Profile.objects.count() == len(IMPORTED)


def _interrupt():
    raise KeyboardInterrupt


def test_a_dry_run_says_what_would_happen_and_changes_nothing(legacy_path, migrate_from_sqlite, report_rows):
    run = migrate_from_sqlite(legacy_path, "--dry-run")

    assert "dry run: nothing was changed" in run.stdout
    assert "would be inserted 10" in run.stdout
    assert run.status == EXIT_NEEDS_ATTENTION
    assert len(report_rows("dry-run")) == 4
    assert not Profile.objects.exists()
    assert not LegacyRowState.objects.exists()
    assert not ImportRun.objects.exists()


def test_a_clean_file_exits_zero(tmp_path, migrate_from_sqlite, report_rows):
    path = legacy_database(tmp_path / "users.db", {name: USERS[name] for name in ("alice", "gmail")})

    run = migrate_from_sqlite(path)

    assert run.status == EXIT_CLEAN
    assert "nothing needs attention" in run.stdout
    assert report_rows() == []


# --verify
# ------------------------------------------------------------------------------


def test_verify_finds_nothing_after_an_import(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)

    run = migrate_from_sqlite(legacy_path, "--verify")

    assert run.status == EXIT_CLEAN
    assert "verified 13 rows of users.db" in run.stdout
    assert "10 match, 0 changed through the service since, 3 skipped by policy, 0 mismatches" in run.stdout


def test_verify_reports_a_row_that_differs_from_users_db(legacy_path, migrate_from_sqlite, report_rows):
    migrate_from_sqlite(legacy_path)
    Profile.objects.filter(pk=USERS["zoe"].id).update(name="Tampered")  # not through the service

    run = migrate_from_sqlite(legacy_path, "--verify")

    assert run.status == EXIT_VERIFY_MISMATCH
    assert f"mismatch: id {USERS['zoe'].id} <zoe@example.com>: differs from users.db" in run.stdout
    assert [row["id"] for row in report_rows("verify")] == [str(USERS["zoe"].id)]


def test_verify_reports_rows_not_imported_yet_and_changed_since(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)
    legacy_execute(legacy_path, "UPDATE users SET name = 'Changed' WHERE id = ?", USERS["zoe"].id)
    legacy_execute(legacy_path, "INSERT INTO users VALUES (30, 'late@example.com', 'x', 'Late', '2024-01-01')")

    run = migrate_from_sqlite(legacy_path, "--verify")

    assert run.status == EXIT_VERIFY_MISMATCH
    assert "changed in users.db since the last import" in run.stdout
    assert "id 30 <late@example.com>: not imported" in run.stdout
    assert "2 mismatches" in run.stdout


def test_verify_accepts_changes_made_through_the_service_since(legacy_path, migrate_from_sqlite):
    migrate_from_sqlite(legacy_path)
    user_profile_update(user_id=USERS["zoe"].id, name="Zoë Yamada")

    run = migrate_from_sqlite(legacy_path, "--verify")

    assert run.status == EXIT_CLEAN
    assert "9 match, 1 changed through the service since" in run.stdout


# Bad input
# ------------------------------------------------------------------------------


def not_sqlite(tmp_path):
    path = tmp_path / "users.db"
    path.write_text("id,email\n1,alice@example.com\n")
    return path


def without_users_table(tmp_path):
    path = tmp_path / "users.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE people (id INTEGER PRIMARY KEY)")
    connection.close()
    return path


def with_other_columns(tmp_path):
    path = tmp_path / "users.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, password TEXT, role TEXT)")
    connection.close()
    return path


def corrupt(tmp_path):
    path = legacy_database(tmp_path / "users.db")
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO users VALUES (?, ?, 'x', ?, '2019-01-01')",
            [(100 + i, f"filler{i}@example.com", "x" * 300) for i in range(300)],
        )
    connection.close()
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size * 2 : page_size * 8] = b"\xa5" * (page_size * 6)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp_path: tmp_path / "missing.db", "no such file"),
        (not_sqlite, "not a SQLite database"),
        (without_users_table, "no users table"),
        (with_other_columns, "does not have the monolith's columns (missing name, created_at; unexpected role)"),
        (corrupt, "the database is corrupt"),
    ],
)
def test_bad_input_is_one_clear_line_and_nothing_is_imported(tmp_path, migrate_from_sqlite, make, message):
    with pytest.raises(CommandError) as raised:
        migrate_from_sqlite(make(tmp_path))

    assert message in str(raised.value)
    assert str(raised.value).endswith("(nothing was imported)")
    assert "\n" not in str(raised.value)
    assert raised.value.returncode == EXIT_ERROR
    assert not Profile.objects.exists()
    assert not ImportRun.objects.exists()


def test_a_locked_users_db_is_refused(legacy_path, migrate_from_sqlite):
    writer = sqlite3.connect(legacy_path, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(CommandError, match="locked by another process") as raised:
            migrate_from_sqlite(legacy_path, "--busy-timeout", "0")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert raised.value.returncode == EXIT_ERROR
    assert not Profile.objects.exists()


# Progress
# ------------------------------------------------------------------------------


def test_progress_is_plain_lines_when_not_on_a_terminal(legacy_path, migrate_from_sqlite):
    run = migrate_from_sqlite(legacy_path)

    assert "users: importing: 100% 13/13 rows" in run.stderr
    assert "left" in run.stderr and "rows/s" in run.stderr
    assert "\r" not in run.stderr


def test_quiet_shows_no_progress(legacy_path, migrate_from_sqlite):
    run = migrate_from_sqlite(legacy_path, "--quiet")

    assert run.stderr == ""
    assert "users: read 13 rows" in run.stdout
