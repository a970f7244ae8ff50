"""Importing the monolith's ``users.db`` into one service's database: the engine both services share.

Each service imports what it owns with its own ``migrate_from_sqlite`` command
(``users``: profiles; ``auth``: credentials); its ``LegacyMapping`` says how a
legacy row becomes a row of its table. The rest is here, once:

- Rows stream from ``users.db`` in id order (``common.legacy_db``). Each batch is
  written in one transaction of the service database together with the import
  state of its rows, so a run that stops leaves whole batches behind.
- The state (a model per service on ``LegacyRowStateBase``) keeps, per legacy
  id, a checksum of the values the import wrote. A row whose checksum has not
  changed is not written again: a second run imports nothing twice, an
  interrupted run goes on from where it stopped, and a later run picks up rows
  added or changed in ``users.db`` since.
- Rows that cannot be imported as they are follow the policy in ``ISSUE_ACTIONS``;
  the report lists every one of them, and the exit status says a person must look.
- ``verify`` compares every ``users.db`` row with the service's table by checksum.

Nothing here sends events: both services read the same file by the same rules,
so they end consistent without a million messages through the broker.
"""

from __future__ import annotations

import csv
import gc
import io
import queue
import re
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, IntegrityError, connections, models, router, transaction
from django.db import Error as DatabaseFailure  # DatabaseError, or InterfaceError: a connection already closed
from django.utils import timezone

from common import cutover
from common.emails import canonical_email
from common.env import state_dir
from common.legacy_db import (
    DEFAULT_BATCH_SIZE,
    EXIT_CLEAN,
    EXIT_ERROR,
    EXIT_NEEDS_ATTENTION,
    EXIT_VERIFY_MISMATCH,
    AddressKeepers,
    LegacyDatabase,
    LegacyDatabaseError,
    LegacyRow,
    parse_created_at,
    text_value,
)

# What a row is given when its created_at cannot be read: a date no real account has, and the same every run.
UNREADABLE_CREATED_AT = datetime(1970, 1, 1, tzinfo=UTC)
EMAIL_MAX_LENGTH = 254

# Each issue a row can have, and what the import does about it (the policy, also in docs/migration.md).
ISSUE_ACTIONS = {
    "invalid_id": "skipped: accounts have ids from 1",
    "empty_email": "skipped",
    "invalid_email": "skipped",
    "duplicate_email": "skipped: another row keeps the address",
    "id_taken": "skipped: the id belongs to an account the import did not create",
    "not_bcrypt": "imported with an unusable password: the user must reset it",
    "created_at_unreadable": "imported with created_at 1970-01-01T00:00:00Z",
    "invalid_text": "imported with unreadable characters replaced by U+FFFD",
    "changed_in_both": "not updated: the service keeps its own version",
    "removed_from_source": "left in the service",
}


class Status(models.TextChoices):
    """Where a legacy row stands in one service."""

    IMPORTED = "imported", "imported as it is in users.db"
    IMPORTED_WITH_ISSUE = "imported_with_issue", "imported, with an issue the report names"
    SKIPPED = "skipped", "not imported (or its change not applied); looked at again on every run"
    CONFLICT = "conflict", "changed in users.db and in the service; looked at again on every run"
    REMOVED = "removed", "imported, then deleted from users.db; left in the service"


# Rows in these states are compared by checksum; any other is looked at again on every run.
SETTLED = frozenset({Status.IMPORTED, Status.IMPORTED_WITH_ISSUE})


# STATE: one row per legacy id, and one per run, in the service database
# ------------------------------------------------------------------------------


class LegacyRowStateBase(models.Model):
    """What the import last did with one row of ``users.db``. Each service has a table of these."""

    id = models.BigIntegerField(primary_key=True, help_text="users.id in the monolith's database.")
    checksum = models.BigIntegerField(
        null=True, help_text="Of the values the import last wrote to the service's row; NULL if it wrote none."
    )
    status = models.CharField(max_length=24, choices=Status.choices)
    issues = models.CharField(max_length=200, blank=True, help_text="Comma-separated issue codes (ISSUE_ACTIONS).")
    detail = models.TextField(blank=True, help_text="One line per issue, in the order of ``issues``.")
    email = models.TextField(blank=True, help_text="The address in users.db, kept for the rows the report lists.")
    imported_at = models.DateTimeField(null=True, help_text="When the import last wrote the service's row.")

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self) -> str:
        return f"legacy row {self.id}: {self.status}"

    @classmethod
    def forget_person(cls, legacy_id: int) -> None:
        """Erase what the row kept of a person (their address, in ``email`` and ``detail``): their account is deleted."""
        cls.objects.filter(pk=legacy_id).update(email="", detail="")


class ImportRunBase(models.Model):
    """One run of the import: where it read from, how far it got, how it ended."""

    source = models.TextField(help_text="The users.db the run read.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True, help_text="NULL: still running, or interrupted.")
    last_id = models.BigIntegerField(default=0, help_text="Every users.db row up to this id has been processed.")
    outcome = models.CharField(max_length=24, blank=True, help_text="clean, needs_attention or failed.")
    counts = models.JSONField(default=dict)
    error = models.TextField(blank=True)
    deferred_indexes = models.JSONField(
        default=list,
        blank=True,
        help_text="[name, CREATE INDEX statement] of the plain indexes the run dropped to fill an empty table; "
        "built again at its end, or by the next run if it was killed first.",
    )

    class Meta:
        abstract = True
        ordering = ["started_at"]

    def __str__(self) -> str:
        return f"import of {self.source} at {self.started_at:%Y-%m-%d %H:%M:%S}: {self.outcome or 'unfinished'}"


STATE_FIELDS = ("id", "checksum", "status", "issues", "detail", "email", "imported_at")


# FROM A LEGACY ROW TO A SERVICE ROW
# ------------------------------------------------------------------------------


@dataclass(slots=True)
class SourceValues:
    """A ``users.db`` row read for import: its values as they will be stored, and what is wrong with it."""

    id: int
    email: str
    email_canonical: str | None
    password: object  # as stored; a mapping may normalise it (``LegacyMapping.prepare``)
    name: str | None
    # ISO 8601 text of an aware UTC datetime (``datetime.isoformat()``): what checksums take, and what COPY
    # writes; made once per row.
    created_at: str
    issues: list[tuple[str, str]] = field(default_factory=list)
    skip: tuple[str, str] | None = None
    checksum: int = 0
    keeper: int | None = None  # the id of the row that keeps this row's canonical address, when not this one


def source_values(row: LegacyRow) -> SourceValues:
    """``row`` read by the rules both services share: the address, the name, ``created_at``."""
    email, email_changed = text_value(row.email)
    email = email or ""
    skip = None
    canonical = None
    if row.id < 1:
        skip = ("invalid_id", f"id {row.id}")
    elif not email.strip():
        skip = ("empty_email", "")
    elif email_changed:
        skip = ("invalid_email", "the address is not valid text")
    elif len(email) > EMAIL_MAX_LENGTH:
        skip = ("invalid_email", f"{len(email)} characters; at most {EMAIL_MAX_LENGTH} fit")
    else:
        canonical = canonical_email(email)
        if canonical is None or len(canonical) > EMAIL_MAX_LENGTH:
            skip = ("invalid_email", "not an email address")
            canonical = None
    issues = []
    name, name_changed = text_value(row.name)
    if name_changed:
        issues.append(("invalid_text", "name"))
    created_at = parse_created_at(row.created_at)
    if created_at is None:
        issues.append(("created_at_unreadable", f"created_at was {_shown(row.created_at)}"))
        created_at = UNREADABLE_CREATED_AT
    return SourceValues(
        id=row.id,
        email=email,
        email_canonical=canonical,
        password=row.password,
        name=name,
        created_at=created_at.isoformat(),
        issues=issues,
        skip=skip,
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class ChangeRefused(Exception):
    """A mapping would not let a batch's changes commit (``LegacyMapping.rows_updated``): the batch is undone."""


class LegacyMapping:
    """How a ``users.db`` row becomes a row of one service's table. Each service subclasses it.

    ``stored_checksum`` must give, for a row the import wrote, the same number
    ``checksum`` gave for the values it was written from: that is how a second
    run knows a row is unchanged and ``--verify`` that it arrived intact.
    """

    service: str
    model: type[models.Model]
    state_model: type[LegacyRowStateBase]
    run_model: type[ImportRunBase]
    # Whether the table's key comes from a sequence that must continue after the imported ids.
    has_id_sequence: bool
    # Fields read back to fingerprint a stored row, its key first.
    stored_fields: tuple[str, ...]
    # Fields a new row takes from users.db (``insert_row`` gives their values, in this order), its key first.
    # Every other field gets its default, ``now`` if automatic: a field another change adds needs nothing here.
    insert_fields: tuple[str, ...]
    # Fields a changed row gets again from users.db (``update_row`` gives their values, in this order).
    update_fields: tuple[str, ...]
    updated_at_field = "updated_at"

    def prepare(self, values: SourceValues) -> None:
        """Read ``values`` by this service's own rules: issues, normalised values (a password hash); none by default."""

    def checksum(self, values: SourceValues) -> int:
        raise NotImplementedError

    def stored_checksum(self, stored: tuple) -> int:
        raise NotImplementedError

    def insert_row(self, values: SourceValues) -> tuple:
        raise NotImplementedError

    def update_row(self, values: SourceValues, now: datetime) -> tuple:
        raise NotImplementedError

    def rows_updated(self, keys: list) -> None:
        """Called in the batch's transaction, before it commits, with the keys of the rows it changed.

        Nothing by default. Raises ``ChangeRefused`` when the changes must not commit.
        """

    def prepared(self, row: LegacyRow) -> SourceValues:
        values = source_values(row)
        if values.skip is None:
            self.prepare(values)
        values.checksum = self.checksum(values)
        return values


# WRITING IN BULK: COPY on PostgreSQL, executemany on SQLite
# ------------------------------------------------------------------------------

_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"
_NONE = type(None)


def _copy_column(values: tuple) -> list[str]:
    """One column of rows as COPY text: its type looked at once, every value converted by C code where it can be."""
    kinds = set(map(type, values))
    nulls = _NONE in kinds
    if kinds <= {str, _NONE}:
        texts = ["" if value is None else value for value in values] if nulls else list(values)
        # Escaping is rare (a tab or a newline in a name): one search of the whole column says whether it is needed.
        if _COPY_SPECIAL.search("".join(texts)):
            texts = [text.translate(_COPY_ESCAPES) for text in texts]
    elif kinds <= {int, _NONE}:
        texts = list(map(str, values))
    elif kinds <= {datetime, _NONE}:
        texts = ["" if value is None else value.isoformat() for value in values]
    else:
        texts = [_copy_value(value) for value in values]
    if nulls:
        texts = [_COPY_NULL if value is None else text for value, text in zip(values, texts)]
    return texts


def _copy_value(value: object) -> str:
    if value is None:
        return ""
    if value.__class__ is bool:
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _copy_text(rows: list[tuple], tail: str = "\n") -> str:
    """``rows`` in PostgreSQL's COPY text format, each line ending with ``tail``.

    Converted a column at a time rather than a value at a time: the per-value
    work of a million rows is what the import spends its CPU on.
    """
    columns = [_copy_column(column) for column in zip(*rows)]
    return tail.join(map("\t".join, zip(*columns))) + tail


class BulkWriter:
    """Inserts and updates many rows of a model in few statements, on the database ``using``."""

    def __init__(self, using: str):
        self.connection = connections[using]
        self.postgresql = self.connection.vendor == "postgresql"

    def _table(self, model, field_names) -> tuple[str, list[models.Field]]:
        quote = self.connection.ops.quote_name
        return quote(model._meta.db_table), [model._meta.get_field(name) for name in field_names]

    def _sqlite_row(self, row: tuple, model_fields: list[models.Field]) -> tuple:
        # Each value as its field stores it: a datetime given as ISO text included.
        return tuple(f.get_db_prep_value(value, self.connection) for f, value in zip(model_fields, row))

    def insert(
        self, model, field_names: tuple[str, ...], rows: list[tuple], defaults: dict[str, object] | None = None
    ) -> None:
        """Insert ``rows`` of ``field_names`` values, the fields in ``defaults`` set the same in every row.

        On PostgreSQL the rows go in with COPY, the defaults' part of each line
        written once per call. A datetime may come as its ISO 8601 text.
        """
        if not rows:
            return
        defaults = defaults or {}
        quote = self.connection.ops.quote_name
        table, model_fields = self._table(model, (*field_names, *defaults))
        columns = ", ".join(quote(f.column) for f in model_fields)
        with self.connection.cursor() as cursor:
            if self.postgresql:
                tail = ("\t" + _copy_text([tuple(defaults.values())])) if defaults else "\n"
                # Bytes, so that neither io.StringIO nor the driver makes copies of a batch's text.
                data = _copy_text(rows, tail).encode("utf-8")
                # The driver's own cursor, so wrapped by hand: a unique violation must be Django's IntegrityError.
                # The whole batch in one read: psycopg2 gives up the GIL and takes it back for every chunk it
                # sends (8 KB by default), and each time the reader thread holds it, the chunk waits up to 5 ms.
                with self.connection.wrap_database_errors:
                    cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.BytesIO(data), size=len(data))
            else:
                placeholders = ", ".join(["%s"] * len(model_fields))
                constants = tuple(defaults.values())
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
                    [self._sqlite_row(row + constants, model_fields) for row in rows],
                )

    def update(self, model, field_names: tuple[str, ...], rows: list[tuple]) -> None:
        """Set ``field_names`` of the rows whose key is each row's first value to its other values.

        A datetime may come as its ISO 8601 text, as in ``insert``.
        """
        if not rows:
            return
        quote = self.connection.ops.quote_name
        table, model_fields = self._table(model, field_names)
        key = quote(model._meta.pk.column)
        with self.connection.cursor() as cursor:
            if self.postgresql:
                from psycopg2.extras import execute_values

                names = ["k", *(f"v{i}" for i in range(len(model_fields)))]
                assignments = ", ".join(f"{quote(f.column)} = v.v{i}" for i, f in enumerate(model_fields))
                casts = [model._meta.pk.db_type(self.connection), *(f.db_type(self.connection) for f in model_fields)]
                template = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
                with self.connection.wrap_database_errors:
                    execute_values(
                        cursor.cursor,
                        f"UPDATE {table} AS t SET {assignments} FROM (VALUES %s) AS v({', '.join(names)}) "
                        f"WHERE t.{key} = v.k",
                        rows,
                        template=template,
                        page_size=len(rows),
                    )
            else:
                assignments = ", ".join(f"{quote(f.column)} = %s" for f in model_fields)
                cursor.executemany(
                    f"UPDATE {table} SET {assignments} WHERE {key} = %s",
                    [self._sqlite_row((*row[1:], row[0]), [*model_fields, model._meta.pk]) for row in rows],
                )

    def delete(self, model, keys: list) -> None:
        if keys:
            model._default_manager.using(self.connection.alias).filter(pk__in=keys).delete()


# PROGRESS
# ------------------------------------------------------------------------------


class Progress:
    """Rows done of a total: a bar with rate and time left on a terminal, a plain line now and then otherwise."""

    BAR_WIDTH = 28
    LINE_EVERY = 5.0  # seconds between plain lines

    def __init__(self, stream: TextIO | None, *, label: str, total: int, terminal: bool):
        self.stream = stream
        self.label = label
        self.total = max(total, 0)
        self.terminal = terminal
        self.done = 0
        self.started = time.monotonic()
        self.shown_at = 0.0
        self.shown_done = -1

    def advance(self, rows: int) -> None:
        self.done += rows
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self.shown_at >= (0.1 if self.terminal else self.LINE_EVERY):
            self.shown_at = now
            self._show(now)

    def finish(self) -> None:
        if self.stream is None:
            return
        if self.shown_done != self.done:
            self._show(time.monotonic())
        if self.terminal:
            self.stream.write("\n")
        self.stream.flush()

    def _show(self, now: float) -> None:
        self.shown_done = self.done
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        total = max(self.total, self.done)
        fraction = self.done / total if total else 1.0
        left = (total - self.done) / rate if rate > 0 else 0.0
        figures = f"{self.done:,}/{total:,} rows, {rate:,.0f} rows/s, {_duration(left)} left"
        if self.terminal:
            filled = int(self.BAR_WIDTH * fraction)
            bar = "#" * filled + "-" * (self.BAR_WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {fraction:4.0%} {figures} ")
        else:
            self.stream.write(f"{self.label}: {fraction:.0%} {figures}\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


ProgressFactory = Callable[[str, int], Progress]


# READING AHEAD
# ------------------------------------------------------------------------------


def prepared_batches(
    source: LegacyDatabase, mapping: LegacyMapping, *, batch_size: int, ahead: int = 2
) -> Iterator[list[SourceValues]]:
    """Batches of users.db read and prepared by a thread of their own, up to ``ahead`` batches early.

    The thread only reads users.db and computes; every write stays in the
    caller's thread. While the caller waits for PostgreSQL to take a batch
    (which releases the GIL) the next one is being prepared. Memory: at most
    ``ahead`` + 2 batches.
    """
    handoff: queue.Queue = queue.Queue(maxsize=ahead)
    finished = object()
    stop = threading.Event()

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        keepers = AddressKeepers(source)
        try:
            for rows in source.batches(batch_size=batch_size):
                batch = [mapping.prepared(row) for row in rows]
                losers = keepers.losers((values.id, values.email, values.email_canonical) for values in batch)
                for values in batch:
                    values.keeper = losers.get(values.id)
                if not hand_over(batch):
                    return
            hand_over(finished)
        except BaseException as exc:  # handed to the caller's thread, raised there
            hand_over(exc)

    reader = threading.Thread(target=produce, name="legacy-import-reader", daemon=True)
    reader.start()
    try:
        while (item := handoff.get()) is not finished:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


# THE IMPORT
# ------------------------------------------------------------------------------


@contextmanager
def cyclic_gc_paused():
    """Python's cyclic garbage collector off for a bulk pass, back on (as it was) after.

    An import or a verification makes millions of short-lived objects and no
    reference cycles; the collector would spend about a quarter of the CPU
    looking through them, and through Django's own objects, for none.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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


class LegacyImport:
    """One service's import of ``users.db``, or its verification (``verify``)."""

    def __init__(
        self,
        mapping: LegacyMapping,
        *,
        source: LegacyDatabase,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: ProgressFactory | None = None,
    ):
        self.mapping = mapping
        self.source = source
        self.batch_size = batch_size
        self.progress = progress or (lambda label, total: Progress(None, label=label, total=total, terminal=False))
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

    # The run -------------------------------------------------------------------------

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
            self._record_end(run, counts, outcome="failed", error=_error_line(exc))
        except DatabaseFailure:
            pass

    # Plain indexes, built once rather than row by row ----------------------------------

    def _defer_indexes(self, run) -> None:
        """On PostgreSQL, drop an empty table's plain indexes; ``_build_deferred_indexes`` builds them at the end.

        Maintaining an index row by row costs more than building it once from
        the whole table (a sort): 1,000,000 profiles take ~8.7 s of PostgreSQL's
        CPU with their four indexes, ~5.6 s with the two plain ones built after.
        Only plain indexes: the primary key and the unique address are the
        import's own safeguards (an id or an address taken meanwhile) and stay.
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

    def _states(self, after_id: int | None, up_to: int | None) -> dict[int, tuple]:
        query = self.mapping.state_model.objects.using(self.using).filter(**_id_range("pk", after_id, up_to))
        return {state[0]: state for state in query.values_list(*STATE_FIELDS)}

    def _stored(self, after_id: int | None, up_to: int, *extra_fields: str) -> dict[int, tuple]:
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

    def _apply_batch(
        self, batch: list[SourceValues], *, after_id: int | None, careful: bool
    ) -> ImportCounts:
        mapping = self.mapping
        now = timezone.now()
        counts = ImportCounts(read=len(batch))
        up_to = batch[-1].id
        states = self._states(after_id, up_to)
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
            stored = self._stored(after_id, up_to)
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
            states = self._states(after_id, up_to)
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

    def verify(self, *, on_mismatch: Callable[[int, str, str], None]) -> VerifyResult:
        """Compare every row of ``users.db`` with the service's table; call ``on_mismatch(id, email, why)`` for each."""
        started = time.monotonic()
        total, _ = self.source.stats()
        result = VerifyResult(legacy_rows=total)
        updated_at = self.mapping.updated_at_field
        manager = self.mapping.model._default_manager.using(self.using)
        progress = self.progress(f"{self.mapping.service}: verifying", total)
        after_id = None

        def mismatch(row_id: int, email: str, why: str) -> None:
            result.mismatches += 1
            on_mismatch(row_id, email, why)

        def missing_from_source(states: dict[int, tuple], present: set[int]) -> None:
            for row_id, state in states.items():
                if row_id not in present and state[1] is not None:
                    mismatch(row_id, state[5], "imported, but no longer in users.db")

        for batch in prepared_batches(self.source, self.mapping, batch_size=self.batch_size):
            up_to = batch[-1].id
            states = self._states(after_id, up_to)
            stored = self._stored(after_id, up_to, updated_at)
            for values in batch:
                state = states.get(values.id)
                if state is None:
                    mismatch(values.id, values.email, "not imported: run the import")
                elif state[2] == Status.SKIPPED:
                    result.skipped += 1
                elif state[2] == Status.CONFLICT:
                    mismatch(values.id, values.email, "changed in users.db and in the service (see the report)")
                elif state[2] not in SETTLED or state[1] != values.checksum:
                    mismatch(values.id, values.email, "changed in users.db since the last import: run it again")
                elif (service_row := stored.get(values.id)) is None:
                    mismatch(values.id, values.email, f"missing from the {self.using} database")
                elif self.mapping.stored_checksum(service_row[:-1]) == values.checksum:
                    result.matched += 1
                elif state[6] is not None and service_row[-1] > state[6]:
                    result.changed_in_service += 1
                else:
                    mismatch(values.id, values.email, f"differs from users.db in the {self.using} database")
            missing_from_source(states, {values.id for values in batch})
            after_id = up_to
            progress.advance(len(batch))
        missing_from_source(self._states(after_id, None), set())
        progress.finish()
        result.service_rows = manager.count()
        result.imported_rows = self.mapping.state_model.objects.using(self.using).filter(checksum__isnull=False).count()
        result.seconds = time.monotonic() - started
        return result


@dataclass
class VerifyResult:
    legacy_rows: int = 0
    matched: int = 0
    changed_in_service: int = 0
    skipped: int = 0
    mismatches: int = 0
    service_rows: int = 0
    imported_rows: int = 0
    seconds: float = 0.0


def _id_range(key: str, after_id: int | None, up_to: int | None) -> dict[str, int]:
    """Filter arguments for ids above ``after_id`` (``None``: from the first) up to ``up_to`` (``None``: the last)."""
    bounds = {}
    if after_id is not None:
        bounds[f"{key}__gt"] = after_id
    if up_to is not None:
        bounds[f"{key}__lte"] = up_to
    return bounds


def _error_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# THE COMMAND: `manage.py migrate_from_sqlite PATH` in each service
# ------------------------------------------------------------------------------


class MigrateFromSqliteCommand(BaseCommand):
    """``migrate_from_sqlite``: each service's command subclasses this and sets ``mapping``.

    Exit statuses (``common.legacy_db``): 0 clean; 1 error (nothing imported, or
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
                    f"the {service} database failed: {_error_line(exc)} ({after_error})", returncode=EXIT_ERROR
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
                f"the {self.mapping.service} database cannot be used: {_error_line(exc)} (nothing was imported)",
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

            result = importer.verify(on_mismatch=on_mismatch)
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
