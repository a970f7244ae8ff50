"""``manage.py migrate_all``: ``migrate`` on every database of the project, one after another."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from common.health import service_database_aliases


class Command(BaseCommand):
    help = "Apply migrations to every database of this project (each router decides what goes where)."

    def add_arguments(self, parser):
        parser.add_argument("app_label", nargs="?", help="Only this app.")
        parser.add_argument("migration_name", nargs="?", help="Up to (or back to) this migration.")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args, app_label=None, migration_name=None, interactive=True, verbosity=1, **options):
        positional = [value for value in (app_label, migration_name) if value]
        aliases = service_database_aliases()
        if not aliases:
            self.stdout.write("No databases: nothing to migrate.")
        for alias in aliases:
            if verbosity:
                self.stdout.write(self.style.MIGRATE_HEADING(f"Database {alias!r}:"))
            call_command("migrate", *positional, database=alias, interactive=interactive, verbosity=verbosity)
