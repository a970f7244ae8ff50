import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User as StaffUser
from django.contrib.sessions.models import Session

from common.testing import table_placement_problems
from common.models import AggregateVersion, InboxEvent, OutboxEvent, ParkedMessage
from config.routers import CredentialsRouter
from credentials.models import Credential
from legacy_import.models import ImportRun, LegacyRowState

router = CredentialsRouter()


def test_credentials_are_read_and_written_in_the_credentials_database():
    assert router.db_for_read(Credential) == "credentials"
    assert router.db_for_write(Credential) == "credentials"


@pytest.mark.parametrize("model", [OutboxEvent, InboxEvent, AggregateVersion, ParkedMessage])
def test_the_event_tables_are_in_the_credentials_database_beside_the_changes_they_record(model):
    assert router.db_for_read(model) == "credentials"
    assert router.db_for_write(model) == "credentials"


def test_the_common_app_migrates_into_the_credentials_database_only():
    assert router.allow_migrate("credentials", "common") is True
    assert router.allow_migrate("default", "common") is False


@pytest.mark.parametrize("model", [LegacyRowState, ImportRun])
def test_the_legacy_import_state_is_in_the_credentials_database_beside_the_credentials_it_wrote(model):
    assert router.db_for_read(model) == "credentials"
    assert router.db_for_write(model) == "credentials"


def test_the_legacy_import_app_migrates_into_the_credentials_database_only():
    assert router.allow_migrate("credentials", "auth_import") is True
    assert router.allow_migrate("default", "auth_import") is False


@pytest.mark.parametrize("model", [StaffUser, LogEntry, Session])
def test_djangos_own_tables_are_left_to_default(model):
    assert router.db_for_read(model) is None
    assert router.db_for_write(model) is None


def test_the_credentials_app_migrates_into_the_credentials_database_only():
    assert router.allow_migrate("credentials", "credentials") is True
    assert router.allow_migrate("default", "credentials") is False


@pytest.mark.parametrize("app_label", ["auth", "admin", "sessions", "contenttypes", "rest_framework"])
def test_nothing_else_migrates_into_the_credentials_database(app_label):
    assert router.allow_migrate("credentials", app_label) is False
    assert router.allow_migrate("default", app_label) is None


def test_relations_across_the_two_databases_are_refused():
    assert router.allow_relation(Credential(), StaffUser()) is False
    assert router.allow_relation(StaffUser(), Credential()) is False
    assert router.allow_relation(Credential(), Credential()) is True
    assert router.allow_relation(StaffUser(), Session()) is None


@pytest.mark.django_db(databases="__all__")
def test_migrate_puts_every_table_in_its_database_and_nowhere_else():
    assert table_placement_problems() == []
