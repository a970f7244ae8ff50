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
from config.routers import CredentialsRouter
from credentials.models import Credential
from legacy_import.models import ImportRun, LegacyRowState

router = CredentialsRouter()


def test_credentials_are_read_and_written_in_the_credentials_database():
    assert_read_and_written_in(router, Credential, "credentials")


@pytest.mark.parametrize("model", [OutboxEvent, InboxEvent, AggregateVersion, ParkedMessage])
def test_the_event_tables_are_in_the_credentials_database_beside_the_changes_they_record(model):
    assert_read_and_written_in(router, model, "credentials")


def test_the_common_app_migrates_into_the_credentials_database_only():
    assert_migrates_into_only(router, "credentials", "common")


@pytest.mark.parametrize("model", [LegacyRowState, ImportRun])
def test_the_legacy_import_state_is_in_the_credentials_database_beside_the_credentials_it_wrote(model):
    assert_read_and_written_in(router, model, "credentials")


def test_the_legacy_import_app_migrates_into_the_credentials_database_only():
    assert_migrates_into_only(router, "credentials", "auth_import")


@pytest.mark.parametrize("model", [StaffUser, LogEntry, Session])
def test_djangos_own_tables_are_left_to_default(model):
    assert_left_to_default(router, model)


def test_the_credentials_app_migrates_into_the_credentials_database_only():
    assert_migrates_into_only(router, "credentials", "credentials")


@pytest.mark.parametrize("app_label", ["auth", "admin", "sessions", "contenttypes", "rest_framework"])
def test_nothing_else_migrates_into_the_credentials_database(app_label):
    assert_not_migrated_into(router, "credentials", app_label)


def test_relations_across_the_two_databases_are_refused():
    assert router.allow_relation(Credential(), StaffUser()) is False
    assert router.allow_relation(StaffUser(), Credential()) is False
    assert router.allow_relation(Credential(), Credential()) is True
    assert router.allow_relation(StaffUser(), Session()) is None


@pytest.mark.django_db(databases="__all__")
def test_migrate_puts_every_table_in_its_database_and_nowhere_else():
    assert table_placement_problems() == []
