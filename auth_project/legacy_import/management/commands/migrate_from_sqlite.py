"""``manage.py migrate_from_sqlite PATH``: the monolith's users into credentials (docs/migration.md)."""

from common.legacy_import.command import MigrateFromSqliteCommand
from legacy_import.mapping import CredentialMapping


class Command(MigrateFromSqliteCommand):
    help = "Import the monolith's users.db into credentials: ids, login emails, password hashes."
    mapping = CredentialMapping()
