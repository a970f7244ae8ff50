"""The import: every row of ``users.db`` into one service's table, batch by batch, by the policy.

Each batch is written in one transaction of the service database together with
the import state of its rows, so a run that stops leaves whole batches behind.
A row whose checksum has not changed since the import wrote it is not written
again: a second run imports nothing twice, an interrupted run goes on from
where it stopped, and a later run picks up rows added or changed since. Rows
that cannot be imported as they are follow ``ISSUE_ACTIONS``; the report lists
every one of them. Nothing here sends events (docs/migration.md).
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db import Error as DatabaseFailure  # DatabaseError, or InterfaceError: a connection already closed
from django.utils import timezone

from common.legacy_import.mapping import LegacyMapping, SourceValues
from common.legacy_import.models import SETTLED, STATE_FIELDS, Status
from common.legacy_import.progress import Progress, ProgressFactory
from common.legacy_import.source import DEFAULT_BATCH_SIZE, LegacyDatabase, prepared_batches
from common.legacy_import.tables import ServiceTables


@dataclass
class ImportCounts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    conflicts: int = 0
    removed: int = 0

    def add(self, other: ImportCounts) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    def as_dict(self) -> dict[str, int]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass
class ImportResult:
    counts: ImportCounts
    attention: int  # rows the report lists
    report: Path
    seconds: float
    resumed_after: int | None  # the last id of an interrupted earlier run


class LegacyImport(ServiceTables):
    """One service's import of ``users.db``; ``common.legacy_import.verify`` compares it afterwards."""

    def __init__(
        self,
        mapping: LegacyMapping,
        *,
        source: LegacyDatabase,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: ProgressFactory | None = None,
    ):
        super().__init__(mapping)
        self.source = source
        self.batch_size = batch_size
        self.progress = progress or (lambda label, total: Progress(None, label=label, total=total, terminal=False))

    def run(self, *, dry_run: bool, report_path: Path) -> ImportResult:
        """Import every row of ``users.db``; with ``dry_run``, do it all in a transaction rolled back at the end."""
        started = time.monotonic()
        total, _ = self.source.stats()
        counts = ImportCounts()
        with self.exclusive(), (transaction.atomic(using=self.using) if dry_run else nullcontext()):
            previous = self.mapping.run_model.objects.using(self.using).order_by("started_at", "pk").last()
            interrupted = previous if previous and previous.outcome not in ("clean", "needs_attention") else None
            run = self.mapping.run_model.objects.using(self.using).create(
                source=str(self.source.path), started_at=timezone.now()
            )
            if not dry_run:
                self._defer_indexes(run)
            progress = self.progress(f"{self.mapping.service}: importing", total)
            after_id = None
            try:
                for batch in prepared_batches(self.source, self.mapping, batch_size=self.batch_size):
                    counts.add(self._import_batch(batch, after_id=after_id, run=run))
                    after_id = batch[-1].id
                    progress.advance(len(batch))
                with transaction.atomic(using=self.using):
                    counts.add(self._forget_missing(after_id=after_id, up_to=None, present=set()))
                if not dry_run:
                    self._build_deferred_indexes(run)
                if not dry_run and self.mapping.has_id_sequence and after_id is not None:
                    self._continue_id_sequence(after_id)
            except BaseException as exc:
                progress.finish()
                if not dry_run:
                    self._record_failure(run, counts, exc)
                raise
            progress.finish()
            attention = self._write_report(report_path)
            self._record_end(run, counts, outcome="needs_attention" if attention else "clean")
            if dry_run:
                transaction.set_rollback(True, using=self.using)
        return ImportResult(
            counts=counts,
            attention=attention,
            report=report_path,
            seconds=time.monotonic() - started,
            resumed_after=interrupted.last_id if interrupted else None,
        )

    def _record_end(self, run, counts: ImportCounts, *, outcome: str, error: str = "") -> None:
        self.mapping.run_model.objects.using(self.using).filter(pk=run.pk).update(
            finished_at=timezone.now(), outcome=outcome, counts=counts.as_dict(), error=error
        )

    def _record_failure(self, run, counts: ImportCounts, exc: BaseException) -> None:
        # The database that failed the run may not take these either: last_id already says how far it got,
        # and indexes still owed stay recorded on the run for the next one to build.
        try:
            self._build_deferred_indexes(run)
        except DatabaseFailure:
            pass
        try:
            self._record_end(run, counts, outcome="failed", error=error_line(exc))
        except DatabaseFailure:
            pass

    def _import_batch(
        self, batch: list[SourceValues], *, after_id: int | None, run
    ) -> ImportCounts:
        # First without looking up which addresses the service already holds: on an
        # import into empty tables none is, and the unique index says so if one is.
        # Then, if it did, with the lookup; once more in case a registration
        # committed between our reads and our writes.
        for attempt, careful in enumerate((False, True, True), start=1):
            try:
                with transaction.atomic(using=self.using):
                    self._commit_without_flush_wait()
                    counts = self._apply_batch(batch, after_id=after_id, careful=careful)
                    self.mapping.run_model.objects.using(self.using).filter(pk=run.pk).update(last_id=batch[-1].id)
                return counts
            except IntegrityError:
                if attempt == 3:
                    raise
        raise AssertionError("unreachable")

    def _commit_without_flush_wait(self) -> None:
        """On PostgreSQL, let the current transaction's commit return before its log is on disk.

        A batch that a crash of the database server loses is one an interrupted
        run would have left undone, and the next run does it (the batch and
        ``last_id`` are one transaction). The run's last record is committed
        with the wait, which puts every batch before it on disk too. Saves a
        disk flush per batch: ~100 for 1,000,000 rows.
        """
        if self.connection.vendor == "postgresql":
            with self.connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")


    def _apply_batch(
        self, batch: list[SourceValues], *, after_id: int | None, careful: bool
    ) -> ImportCounts:
        mapping = self.mapping
        now = timezone.now()
        counts = ImportCounts(read=len(batch))
        up_to = batch[-1].id
        states = self.states(after_id, up_to)
        candidates = []
        for values in batch:
            state = states.get(values.id)
            if state is not None and state[2] in SETTLED and state[1] == values.checksum:
                counts.unchanged += 1
            else:
                candidates.append(values)

        stored: dict[int, tuple] = {}
        holders: dict[str, int] = {}
        if any(values.skip is None for values in candidates):
            stored = self.stored(after_id, up_to)
            if careful:
                holders = self._holders([v.email_canonical for v in candidates if v.skip is None])
        claimed: dict[str, int] = {}
        inserts, updates, new_states, changed_states = [], [], [], []
        clean_new_states = []  # (id, checksum) of new rows imported as they are: the common case, kept lean
        for values in candidates:
            state = states.get(values.id)
            ours = state is not None and state[1] is not None  # the import wrote the service's row
            written_checksum = state[1] if ours else None
            # What the state row will say; unless a branch below changes them, it keeps what it said.
            status, issues = None, list(values.issues)
            checksum, imported_at = written_checksum, state[6] if state else None
            holder = holders.get(values.email_canonical)
            claimant = claimed.get(values.email_canonical)
            service_row = stored.get(values.id)
            if values.skip is not None:
                status, issues = Status.SKIPPED, [values.skip]
            elif service_row is not None and not ours:
                status, issues = Status.SKIPPED, [("id_taken", "")]
            elif values.keeper is not None and holder != values.id:
                status, issues = Status.SKIPPED, [("duplicate_email", f"id {values.keeper} keeps the address")]
            elif holder not in (None, values.id):
                # An address the service already gives to an account stays with it.
                status, issues = Status.SKIPPED, [("duplicate_email", f"id {holder} holds the address in the service")]
            elif claimant not in (None, values.id):
                status, issues = Status.SKIPPED, [("duplicate_email", f"id {claimant} keeps the address")]
            elif service_row is None and ours:
                status, issues = Status.CONFLICT, [("changed_in_both", "deleted in the service since the import")]
            elif service_row is None:
                inserts.append(mapping.insert_row(values))
                checksum, imported_at = values.checksum, now
                counts.inserted += 1
            else:
                stored_checksum = mapping.stored_checksum(service_row)
                if stored_checksum != values.checksum and stored_checksum != written_checksum:
                    status, issues = Status.CONFLICT, [("changed_in_both", "changed in the service since the import")]
                else:
                    if stored_checksum != values.checksum:
                        updates.append((values.id, *mapping.update_row(values, now)))
                        imported_at = now
                        counts.updated += 1
                    else:
                        counts.unchanged += 1
                    checksum = values.checksum
            if status is None:
                claimed[values.email_canonical] = values.id
                if state is None and not issues:
                    clean_new_states.append((values.id, checksum))
                    continue
                status = Status.IMPORTED_WITH_ISSUE if issues else Status.IMPORTED
            elif status == Status.SKIPPED:
                counts.skipped += 1
            else:
                counts.conflicts += 1
            record = (
                values.id,
                checksum,
                status.value,
                ",".join(code for code, _ in issues),
                "\n".join(detail for _, detail in issues),
                values.email if status != Status.IMPORTED else "",
                imported_at,
            )
            if state is None:
                new_states.append(record)
            elif record[1:] != state[1:]:
                changed_states.append(record)
        self.writer.insert(mapping.model, mapping.insert_fields, inserts, defaults=self._defaults(now))
        self.writer.update(mapping.model, mapping.update_fields, updates)
        if updates:
            mapping.rows_updated([row[0] for row in updates])
        self.writer.insert(mapping.state_model, STATE_FIELDS, new_states)
        self.writer.insert(
            mapping.state_model,
            ("id", "checksum"),
            clean_new_states,
            defaults={"status": Status.IMPORTED.value, "issues": "", "detail": "", "email": "", "imported_at": now},
        )
        self.writer.update(mapping.state_model, STATE_FIELDS[1:], changed_states)
        present = {values.id for values in batch}
        counts.add(self._forget_missing(after_id=after_id, up_to=up_to, present=present, states=states))
        return counts

    def _defaults(self, now: datetime) -> dict[str, object]:
        """The value of every field of a new row that users.db does not give: its default, ``now`` if automatic."""
        return {
            f.name: now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
            for f in self.mapping.model._meta.concrete_fields
            if f.name not in self.mapping.insert_fields
        }

    def _forget_missing(
        self, *, after_id: int | None, up_to: int | None, present: set[int], states: dict[int, tuple] | None = None
    ) -> ImportCounts:
        """Rows between ``after_id`` and ``up_to`` (or the end) the import knows but ``users.db`` no longer has.

        An imported one stays in the service, marked removed and reported; one
        that was never imported is forgotten.
        """
        counts = ImportCounts()
        if states is None:
            states = self.states(after_id, up_to)
        removed, forgotten = [], []
        for row_id, state in states.items():
            if row_id in present:
                continue
            if state[1] is None:
                forgotten.append(row_id)
            elif state[2] != Status.REMOVED:
                removed.append(row_id)
        if removed:
            # users.db no longer has the address: the report shows the service's.
            emails = dict(
                self.mapping.model._default_manager.using(self.using)
                .filter(pk__in=removed)
                .values_list(self.mapping.model._meta.pk.name, "email")
            )
            removed = [
                (row_id, states[row_id][1], Status.REMOVED.value, "removed_from_source", "", emails.get(row_id, ""),
                 states[row_id][6])
                for row_id in removed
            ]
        counts.removed = len(removed)
        self.writer.update(self.mapping.state_model, STATE_FIELDS[1:], removed)
        self.writer.delete(self.mapping.state_model, forgotten)
        return counts


def error_line(exc: BaseException) -> str:
    """``exc`` as one line for a person, for the run's record and the command's message."""
    return " ".join(str(exc).split()) or type(exc).__name__
