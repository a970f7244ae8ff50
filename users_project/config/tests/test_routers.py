import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User as StaffUser
from django.contrib.sessions.models import Session

from common.testing import (
    assert_left_to_default,
    assert_migrates_into_only,
    assert_not_migrated_into,
    assert_read_and_written_in,
    table_placement_problems,
)
from common.events.models import AggregateVersion, InboxEvent, OutboxEvent, ParkedMessage
from config.routers import UsersRouter
from legacy_import.models import ImportRun, LegacyRowState
from support.models import StaffAction
from users.models import AccountActivity, AccountActivityEntry, Preferences, Profile

router = UsersRouter()


@pytest.mark.parametrize("model", [Profile, Preferences, AccountActivity, AccountActivityEntry])
def test_profiles_and_preferences_are_read_and_written_in_the_users_database(model):
    assert_read_and_written_in(router, model, "users")


@pytest.mark.parametrize("model", [OutboxEvent, InboxEvent, AggregateVersion, ParkedMessage])
def test_the_event_tables_are_in_the_users_database_beside_the_changes_they_record(model):
    assert_read_and_written_in(router, model, "users")


def test_the_common_app_migrates_into_the_users_database_only():
    assert_migrates_into_only(router, "users", "common")


@pytest.mark.parametrize("model", [LegacyRowState, ImportRun])
def test_the_legacy_import_state_is_in_the_users_database_beside_the_profiles_it_wrote(model):
    assert_read_and_written_in(router, model, "users")


def test_the_legacy_import_app_migrates_into_the_users_database_only():
    assert_migrates_into_only(router, "users", "users_import")


@pytest.mark.parametrize("model", [StaffUser, LogEntry, Session, StaffAction])
def test_djangos_own_tables_and_the_staff_trail_are_left_to_default(model):
    assert_left_to_default(router, model)


def test_the_users_app_migrates_into_the_users_database_only():
    assert_migrates_into_only(router, "users", "users")


@pytest.mark.parametrize("app_label", ["auth", "admin", "sessions", "contenttypes", "rest_framework", "support"])
def test_nothing_else_migrates_into_the_users_database(app_label):
    assert_not_migrated_into(router, "users", app_label)


def test_relations_across_the_two_databases_are_refused():
    assert router.allow_relation(Profile(), StaffUser()) is False
    assert router.allow_relation(StaffUser(), Profile()) is False
    assert router.allow_relation(Profile(), Profile()) is True
    assert router.allow_relation(Preferences(), Profile()) is True
    assert router.allow_relation(StaffUser(), Session()) is None
    assert router.allow_relation(StaffAction(), StaffUser()) is None


@pytest.mark.django_db(databases="__all__")
def test_migrate_puts_every_table_in_its_database_and_nowhere_else():
    assert table_placement_problems() == []
