"""Where the import of the monolith's users.db stands in the auth service (``common.legacy_import``)."""

from common.legacy_import.models import ImportRunBase, LegacyRowStateBase


class LegacyRowState(LegacyRowStateBase):
    """What the import last did with one row of users.db: its credential's checksum, status and issues."""


class ImportRun(ImportRunBase):
    """One run of ``migrate_from_sqlite`` in the auth service."""
