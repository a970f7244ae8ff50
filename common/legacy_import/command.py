"""The command: ``manage.py migrate_from_sqlite PATH`` in each service, its options, output and exit statuses."""

from __future__ import annotations

import csv
import gc
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from common import cutover
from common.env import state_dir
from common.legacy_import.exit_codes import EXIT_CLEAN, EXIT_ERROR, EXIT_NEEDS_ATTENTION, EXIT_VERIFY_MISMATCH
from common.legacy_import.mapping import ChangeRefused, LegacyMapping
from common.legacy_import.progress import Progress
from common.legacy_import.run import LegacyImport, error_line
from common.legacy_import.source import DEFAULT_BATCH_SIZE, LegacyDatabase, LegacyDatabaseError
from common.legacy_import.verify import verify


@contextmanager
def cyclic_gc_paused():
    """Python's cyclic garbage collector off for a bulk pass, back on (as it was) after.

    An import or a verification makes millions of short-lived objects and no
    reference cycles; the collector would spend a good part of the CPU
    looking through them, and through Django's own objects, for none.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class MigrateFromSqliteCommand(BaseCommand):
    """``migrate_from_sqlite``: each service's command subclasses this and sets ``mapping``.

    Exit statuses (``exit_codes``): 0 clean; 1 error (nothing imported, or
    whole batches imported before it stopped: run again); 2 bad arguments; 3
    imported, and the report lists rows that need a person; 4 ``--verify``
    found differences.
    """

    mapping: LegacyMapping
    help = "Import the legacy monolith's users.db (SQLite) into this service's database."
    requires_migrations_checks = False
    MISMATCHES_SHOWN = 100

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.exit_status = EXIT_CLEAN

    def add_arguments(self, parser):
        parser.add_argument("path", help="The monolith's users.db.")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--dry-run", action="store_true", help="Say what would happen; change nothing.")
        mode.add_argument(
            "--verify", action="store_true", help="Compare every row of users.db with this service's database."
        )
        mode.add_argument(
            "--final",
            action="store_true",
            help="The cutover's final catch-up: only while every route writing users.db is frozen; recorded so "
            "that routes may move (docs/migration.md).",
        )
        parser.add_argument(
            "--report-dir",
            type=Path,
            help="Where the report of rows needing attention goes (default: VAR_DIR/<service>/).",
        )
        parser.add_argument("--quiet", action="store_true", help="No progress; only the summary and errors.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per transaction.")
        parser.add_argument(
            "--busy-timeout", type=float, default=30.0, help="Seconds to wait for a users.db locked by a writer."
        )

    def run_from_argv(self, argv):
        super().run_from_argv(argv)
        if self.exit_status != EXIT_CLEAN:
            sys.exit(self.exit_status)

    def handle(self, *args, path, dry_run, verify, final, report_dir, quiet, batch_size, busy_timeout, **options):
        service = self.mapping.service
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1", returncode=EXIT_ERROR)
        if final:
            started = self._final_catchup_allowed()
        report_dir = report_dir or state_dir(service)
        suffix = "verify" if verify else "dry-run" if dry_run else "report"
        report_path = Path(report_dir) / f"legacy-import-{service}-{suffix}.csv"
        try:
            source = LegacyDatabase.open(path, busy_timeout=busy_timeout)
        except LegacyDatabaseError as exc:
            raise CommandError(f"{exc} (nothing was imported)", returncode=EXIT_ERROR) from exc
        try:
            importer = LegacyImport(
                self.mapping, source=source, batch_size=batch_size, progress=None if quiet else self._progress
            )
            self._check(importer)
            # After an error, what stands: the import commits batch by batch; verify writes nothing.
            after_error = (
                "the verification stopped" if verify
                else "batches committed before stay imported; run the command again to go on"
            )
            try:
                with cyclic_gc_paused():
                    if verify:
                        self._verify(importer, report_path)
                    else:
                        self._import(importer, dry_run=dry_run, report_path=report_path)
                        if final:
                            cutover.record_final_catchup(Path(settings.GATEWAY_ROUTES_FILE), service, started)
                            self.stdout.write(f"{service}: final catch-up recorded: routes may move to the services")
            except (LegacyDatabaseError, ChangeRefused) as exc:
                raise CommandError(f"{exc} ({after_error})", returncode=EXIT_ERROR) from exc
            except DatabaseError as exc:
                raise CommandError(
                    f"the {service} database failed: {error_line(exc)} ({after_error})", returncode=EXIT_ERROR
                ) from exc
            except KeyboardInterrupt as exc:
                raise CommandError(f"interrupted ({after_error})", returncode=EXIT_ERROR) from exc
        finally:
            source.close()

    def _final_catchup_allowed(self) -> float:
        """When the final catch-up begins, once the routes file allows it and the last freeze has settled."""
        service = self.mapping.service
        if not settings.GATEWAY_ROUTES_FILE:
            raise CommandError("--final needs GATEWAY_ROUTES_FILE (nothing was imported)", returncode=EXIT_ERROR)
        try:
            state = cutover.read_state(Path(settings.GATEWAY_ROUTES_FILE))
        except (OSError, ValueError) as exc:
            raise CommandError(f"the routes file: {exc} (nothing was imported)", returncode=EXIT_ERROR) from exc
        problem, wait = cutover.final_catchup_problem(
            state, now=cutover.now(), settle_seconds=settings.CUTOVER_FREEZE_SETTLE_SECONDS
        )
        if problem:
            raise CommandError(f"--final refused: {problem} (nothing was imported)", returncode=EXIT_ERROR)
        if wait:
            # Writes forwarded to the monolith before the freeze may still be on their way.
            self.stdout.write(f"{service}: waiting {wait:.1f}s for the freeze to settle")
            time.sleep(wait)
        return cutover.now()

    def _check(self, importer: LegacyImport) -> None:
        try:
            importer.check_service_database()
        except DatabaseError as exc:
            raise CommandError(
                f"the {self.mapping.service} database cannot be used: {error_line(exc)} (nothing was imported)",
                returncode=EXIT_ERROR,
            ) from exc

    def _progress(self, label: str, total: int) -> Progress:
        return Progress(self.stderr, label=label, total=total, terminal=self.stderr.isatty())

    def _import(self, importer: LegacyImport, *, dry_run: bool, report_path: Path) -> None:
        service = self.mapping.service
        result = importer.run(dry_run=dry_run, report_path=report_path)
        counts = result.counts
        if result.resumed_after is not None:
            self.stdout.write(
                f"{service}: an earlier run stopped after id {result.resumed_after}; "
                "rows it imported were checked, not written again"
            )
        would = "would be " if dry_run else ""
        self.stdout.write(
            f"{service}{' (dry run: nothing was changed)' if dry_run else ''}: read {counts.read:,} rows "
            f"in {result.seconds:.1f}s; {would}inserted {counts.inserted:,}, {would}updated {counts.updated:,}, "
            f"unchanged {counts.unchanged:,}, skipped {counts.skipped:,}, conflicts {counts.conflicts:,}, "
            f"removed from users.db {counts.removed:,}"
        )
        if result.attention:
            self.stdout.write(
                f"{service}: {result.attention:,} rows need attention: see {result.report} "
                f"(exit status {EXIT_NEEDS_ATTENTION})"
            )
            self.exit_status = EXIT_NEEDS_ATTENTION
        else:
            self.stdout.write(f"{service}: nothing needs attention")

    def _verify(self, importer: LegacyImport, report_path: Path) -> None:
        service = self.mapping.service
        report_path.parent.mkdir(parents=True, exist_ok=True)
        shown = 0
        with report_path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["service", "id", "email", "mismatch"])

            def on_mismatch(row_id: int, email: str, why: str) -> None:
                nonlocal shown
                writer.writerow([service, row_id, email, why])
                if shown < self.MISMATCHES_SHOWN:
                    self.stdout.write(f"{service}: mismatch: id {row_id} <{email}>: {why}")
                shown += 1

            result = verify(importer, on_mismatch=on_mismatch)
        if shown > self.MISMATCHES_SHOWN:
            self.stdout.write(f"{service}: ... and {shown - self.MISMATCHES_SHOWN:,} more in {report_path}")
        self.stdout.write(
            f"{service}: verified {result.legacy_rows:,} rows of users.db in {result.seconds:.1f}s: "
            f"{result.matched:,} match, {result.changed_in_service:,} changed through the service since, "
            f"{result.skipped:,} skipped by policy, {result.mismatches:,} mismatches; the service holds "
            f"{result.service_rows:,} rows, {result.imported_rows:,} of them imported"
        )
        if result.mismatches:
            self.exit_status = EXIT_VERIFY_MISMATCH
