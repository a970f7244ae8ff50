"""Fixtures of the import's tests: a legacy users.db with the monolith's quirks, and the command run on it."""

import pytest

from common.legacy_testing import legacy_path, migrate_from_sqlite, report_dir, report_rows  # noqa: F401
from legacy_import.management.commands.migrate_from_sqlite import Command


@pytest.fixture
def import_command() -> type[Command]:
    """This project's ``migrate_from_sqlite`` (the shared fixtures run it)."""
    return Command
