"""Fixtures of the import's tests: a legacy users.db with the monolith's quirks, and the command run on it."""

from common.legacy_testing import legacy_path, migrate_from_sqlite, report_dir, report_rows  # noqa: F401
