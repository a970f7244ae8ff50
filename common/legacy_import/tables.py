"""One service's tables as the import reads and keeps them: its rows and state by id range, one import at a time,
the plain indexes a first fill builds once, the id sequence, the report."""

from __future__ import annotations

import csv
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.management.base import CommandError
from django.db import connections, router, transaction

from common.legacy_import.bulk import BulkWriter
from common.legacy_import.models import ISSUE_ACTIONS, STATE_FIELDS, Status

if TYPE_CHECKING:
    from common.legacy_import.mapping import LegacyMapping


class ServiceTables:
    """The service's table, its import state and its runs, all in the database the service's table is routed to."""

    def __init__(self, mapping: LegacyMapping):
        self.mapping = mapping
        self.using = router.db_for_write(mapping.model)
        if {router.db_for_write(mapping.state_model), router.db_for_write(mapping.run_model)} != {self.using}:
            raise CommandError(f"the import state of {mapping.service} is not routed to {self.using!r}")
        self.connection = connections[self.using]
        self.writer = BulkWriter(self.using)

    # Before anything is written ---------------------------------------------------

    def check_service_database(self) -> None:
        """The service database answers and has the tables; a one-line ``CommandError`` otherwise."""
        tables = set(self.connection.introspection.table_names())
        wanted = [m._meta.db_table for m in (self.mapping.model, self.mapping.state_model, self.mapping.run_model)]
        missing = [table for table in wanted if table not in tables]
        if missing:
            raise CommandError(
                f"the {self.using!r} database has no {', '.join(missing)} table: run `manage.py migrate_all` first"
            )

    @contextmanager
    def exclusive(self):
        """One import at a time per service database (a PostgreSQL advisory lock; SQLite serialises writes)."""
        if self.connection.vendor != "postgresql":
            yield
            return
        key = zlib.crc32(f"legacy-import:{self.using}:{self.mapping.model._meta.db_table}".encode())
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            if not cursor.fetchone()[0]:
                raise CommandError(f"another import into the {self.using!r} database is running")
        try:
            yield
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])

    # Plain indexes, built once rather than row by row ----------------------------------

    def _defer_indexes(self, run) -> None:
        """On PostgreSQL, drop an empty table's plain indexes; ``_build_deferred_indexes`` builds them at the end.

        Maintaining an index row by row costs more than building it once from
        the whole table (a sort; figures in docs/performance.md). Only plain
        indexes: the primary key and the unique address are the import's own
        safeguards (an id or an address taken meanwhile) and stay.
        The statements are recorded on ``run`` in the transaction that drops
        them, so a run killed before building them leaves them to the next one,
        which takes them over (the table is no longer empty) and builds them.
        """
        if self.connection.vendor != "postgresql":
            return
        runs = self.mapping.run_model.objects.using(self.using)
        quote = self.connection.ops.quote_name
        table = quote(self.mapping.model._meta.db_table)
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            owed = []
            for earlier in runs.exclude(pk=run.pk).exclude(deferred_indexes=[]):
                owed.extend(earlier.deferred_indexes)
                runs.filter(pk=earlier.pk).update(deferred_indexes=[])
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
            if not cursor.fetchone()[0]:
                cursor.execute(
                    "SELECT index_class.relname, pg_get_indexdef(pg_index.indexrelid) "
                    "FROM pg_index JOIN pg_class AS index_class ON index_class.oid = pg_index.indexrelid "
                    "WHERE pg_index.indrelid = %s::regclass AND NOT pg_index.indisunique "
                    "AND NOT pg_index.indisprimary "
                    "AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = pg_index.indexrelid) "
                    "ORDER BY index_class.relname",
                    [table],
                )
                dropped = [list(row) for row in cursor.fetchall()]
                for name, _ in dropped:
                    cursor.execute(f"DROP INDEX {quote(name)}")
                owed.extend(dropped)
            if owed:
                runs.filter(pk=run.pk).update(deferred_indexes=owed)
                run.deferred_indexes = owed

    def _build_deferred_indexes(self, run) -> None:
        """Build the indexes ``run`` owes (``_defer_indexes``), and record that it owes none."""
        if not run.deferred_indexes:
            return
        quote = self.connection.ops.quote_name
        with transaction.atomic(using=self.using), self.connection.cursor() as cursor:
            for name, statement in run.deferred_indexes:
                cursor.execute("SELECT to_regclass(%s) IS NULL", [quote(name)])
                if cursor.fetchone()[0]:
                    cursor.execute(statement)
            self.mapping.run_model.objects.using(self.using).filter(pk=run.pk).update(deferred_indexes=[])
        run.deferred_indexes = []

    def states(self, after_id: int | None, up_to: int | None) -> dict[int, tuple]:
        query = self.mapping.state_model.objects.using(self.using).filter(**_id_range("pk", after_id, up_to))
        return {state[0]: state for state in query.values_list(*STATE_FIELDS)}

    def stored(self, after_id: int | None, up_to: int, *extra_fields: str) -> dict[int, tuple]:
        """The service's rows with ids in the range: ``stored_fields`` (and ``extra_fields``), by id."""
        query = self.mapping.model._default_manager.using(self.using).filter(**_id_range("pk", after_id, up_to))
        return {stored[0]: stored for stored in query.values_list(*self.mapping.stored_fields, *extra_fields)}

    def _holders(self, canonicals: list[str]) -> dict[str, int]:
        """``{canonical address: key of the service row holding it}`` for those of ``canonicals`` taken."""
        key = self.mapping.model._meta.pk.name
        manager = self.mapping.model._default_manager.using(self.using)
        holders = {}
        chunk = min(self.connection.features.max_query_params or 20_000, 20_000)
        for start in range(0, len(canonicals), chunk):
            part = canonicals[start : start + chunk]
            holders.update(manager.filter(email_canonical__in=part).values_list("email_canonical", key))
        return holders

    def _continue_id_sequence(self, highest_legacy_id: int) -> None:
        """New accounts get ids after every id ``users.db`` ever used, imported or not, and after the table's."""
        model = self.mapping.model
        table, column = model._meta.db_table, model._meta.pk.column
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
                sequence = cursor.fetchone()[0]
                quote = self.connection.ops.quote_name
                cursor.execute(f"SELECT COALESCE(MAX({quote(column)}), 0) FROM {quote(table)}")
                highest = max(highest_legacy_id, cursor.fetchone()[0])
                cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
                last_value, is_called = cursor.fetchone()
                if highest > (last_value if is_called else last_value - 1):
                    cursor.execute("SELECT setval(%s, %s, true)", [sequence, highest])
            else:
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                row = cursor.fetchone()
                if row is None:
                    cursor.execute(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, highest_legacy_id]
                    )
                elif row[0] < highest_legacy_id:
                    cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [highest_legacy_id, table])

    def _write_report(self, path: Path) -> int:
        """Write every row not imported exactly as it is to ``path`` (CSV); how many rows that is."""
        listed = (
            self.mapping.state_model.objects.using(self.using)
            .exclude(status=Status.IMPORTED)
            .order_by("id")
            .values_list("id", "email", "status", "issues", "detail")
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = 0
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["service", "id", "email", "status", "issue", "action", "detail"])
            for row_id, email, status, issues, details in listed.iterator(chunk_size=2000):
                rows += 1
                for code, detail in zip(issues.split(","), details.split("\n")):
                    action = ISSUE_ACTIONS.get(code, "")
                    writer.writerow([self.mapping.service, row_id, email, status, code, action, detail])
        return rows

    # Verification -------------------------------------------------------------------


def _id_range(key: str, after_id: int | None, up_to: int | None) -> dict[str, int]:
    """Filter arguments for ids above ``after_id`` (``None``: from the first) up to ``up_to`` (``None``: the last)."""
    bounds = {}
    if after_id is not None:
        bounds[f"{key}__gt"] = after_id
    if up_to is not None:
        bounds[f"{key}__lte"] = up_to
    return bounds

