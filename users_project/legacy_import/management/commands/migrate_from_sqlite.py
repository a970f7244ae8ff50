"""``manage.py migrate_from_sqlite PATH``: the monolith's users into profiles (docs/migration.md)."""

from common.legacy_import.command import MigrateFromSqliteCommand
from legacy_import.mapping import ProfileMapping


class Command(MigrateFromSqliteCommand):
    help = "Import the monolith's users.db into profiles: ids, emails, names, created_at."
    mapping = ProfileMapping()
