"""The monolith's ``users.db``: opening it safely, and reading it in batches, ahead of the writer.

This module knows the monolith's database and nothing of Django:

- ``LegacyDatabase.open`` refuses, with one line a person can act on, anything
  that is not the monolith's database: a missing file, a file that is not
  SQLite, no ``users`` table or other columns, a locked or corrupt database.
- ``LegacyDatabase.batches`` streams rows in id order, a bounded batch at a time
  (keyset pagination), each batch its own short read so the monolith can keep
  writing while an import runs.
- ``AddressKeepers`` decides which of several rows sharing one canonical
  address keeps it, while the rows are read.
- ``prepared_batches`` reads and prepares the batches in a thread of their own.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote

if TYPE_CHECKING:
    from common.legacy_import.mapping import LegacyMapping, SourceValues

LEGACY_COLUMNS = ("id", "email", "password", "name", "created_at")
LEGACY_SCHEMA = """
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT UNIQUE NOT NULL,
  password TEXT NOT NULL,
  name TEXT,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP
)
"""
SQLITE_HEADER = b"SQLite format 3\x00"
DEFAULT_BATCH_SIZE = 10_000


class LegacyDatabaseError(Exception):
    """``users.db`` cannot be read as the monolith's database. The message is one line for a person."""


class LegacyRow(NamedTuple):
    """A row of the monolith's ``users`` table, values as SQLite holds them."""

    id: int
    email: object
    password: object
    name: object
    created_at: object


# OPENING AND READING
# ------------------------------------------------------------------------------


class LegacyDatabase:
    """An open, checked ``users.db``: read-only, read in short batches.

    Every SQLite error while reading becomes a one-line ``LegacyDatabaseError``.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection):
        self.path = path
        self.connection = connection

    @classmethod
    def open(cls, path: str | Path, *, busy_timeout: float = 30.0) -> LegacyDatabase:
        """The monolith's ``users.db`` at ``path``, checked before anything is read.

        Raises ``LegacyDatabaseError`` for a missing or unreadable file, a file
        that is not SQLite, a database without the monolith's ``users`` table
        (or with other columns), one that stays locked longer than
        ``busy_timeout`` seconds, and one SQLite's ``quick_check`` finds corrupt.
        """
        path = Path(path)
        if not path.exists():
            raise LegacyDatabaseError(f"{path}: no such file")
        if path.is_dir():
            raise LegacyDatabaseError(f"{path}: is a directory, not a SQLite database")
        try:
            with path.open("rb") as file:
                header = file.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise LegacyDatabaseError(f"{path}: cannot be read ({exc.strerror})") from exc
        if header != SQLITE_HEADER:
            raise LegacyDatabaseError(f"{path}: not a SQLite database")
        # Read-only, and in autocommit mode: each batch is its own short read, so no
        # lock is held between batches and the monolith can keep writing.
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        # One thread reads at a time, but not always the one that opened it (``prepared_batches`` reads ahead).
        connection = sqlite3.connect(
            uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        database = cls(path, connection)
        try:
            database._check()
        except BaseException:
            database.close()
            raise
        return database

    def close(self) -> None:
        self.connection.close()

    def _check(self) -> None:
        kind = self._fetch_all("SELECT type FROM sqlite_master WHERE name = 'users'")
        if not kind or kind[0][0] != "table":
            raise LegacyDatabaseError(f"{self.path}: no users table (is this the monolith's users.db?)")
        columns = {row[1]: row for row in self._fetch_all("PRAGMA table_info(users)")}
        missing = [name for name in LEGACY_COLUMNS if name not in columns]
        unexpected = sorted(set(columns) - set(LEGACY_COLUMNS))
        if missing or unexpected:
            found = []
            if missing:
                found.append(f"missing {', '.join(missing)}")
            if unexpected:
                found.append(f"unexpected {', '.join(unexpected)}")
            raise LegacyDatabaseError(
                f"{self.path}: the users table does not have the monolith's columns ({'; '.join(found)})"
            )
        # cid, name, type, notnull, default, pk: ids must be the integer primary key the import pages by.
        if columns["id"][5] != 1 or columns["id"][2].upper() != "INTEGER":
            raise LegacyDatabaseError(f"{self.path}: users.id is not the table's INTEGER PRIMARY KEY")
        problems = [row[0] for row in self._fetch_all("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise LegacyDatabaseError(f"{self.path}: the database is corrupt ({_one_line(problems[0])})")

    def stats(self) -> tuple[int, int]:
        """(number of rows, highest id) of the ``users`` table."""
        return self._fetch_all("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM users")[0]

    def batches(self, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[list[LegacyRow]]:
        """Every row, in id order, ``batch_size`` rows at a time.

        Each batch is one ``WHERE id > last ORDER BY id LIMIT n`` read, fetched
        whole, so memory stays bounded and no read lock outlives a batch.
        """
        select = f"SELECT {', '.join(LEGACY_COLUMNS)} FROM users"
        rows = self._fetch_all(f"{select} ORDER BY id LIMIT ?", (batch_size,))
        while rows:
            yield [LegacyRow._make(row) for row in rows]
            rows = self._fetch_all(f"{select} WHERE id > ? ORDER BY id LIMIT ?", (rows[-1][0], batch_size))

    def ids_by_email(self, emails: Iterable[str]) -> dict[str, int]:
        """``{email: id}`` of the rows stored with exactly one of ``emails`` (the UNIQUE index finds them)."""
        found = {}
        for chunk in _chunks(list(emails), 500):
            query = f"SELECT id, email FROM users WHERE email IN ({', '.join('?' * len(chunk))})"
            found.update((email, row_id) for row_id, email in self._fetch_all(query, tuple(chunk)))
        return found

    def _fetch_all(self, query: str, parameters: tuple = ()) -> list[tuple]:
        try:
            try:
                return self.connection.execute(query, parameters).fetchall()
            except sqlite3.OperationalError as exc:
                if "decode" not in str(exc):
                    raise
            # Some text here is not UTF-8: read it again keeping every byte, as a
            # lone surrogate that ``text_value`` finds and replaces (and reports).
            self.connection.text_factory = lambda data: data.decode("utf-8", "surrogateescape")
            try:
                return self.connection.execute(query, parameters).fetchall()
            finally:
                self.connection.text_factory = str
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> LegacyDatabaseError:
        message = _one_line(str(exc))
        if "locked" in message or "busy" in message:
            return LegacyDatabaseError(
                f"{self.path}: the database is locked by another process ({message}); "
                "try again, or wait longer with --busy-timeout"
            )
        if "malformed" in message or "not a database" in message:
            return LegacyDatabaseError(f"{self.path}: the database is corrupt ({message})")
        return LegacyDatabaseError(f"{self.path}: cannot be read ({message})")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# DUPLICATE ADDRESSES
# ------------------------------------------------------------------------------


class AddressKeepers:
    """Which row keeps each canonical address, decided batch by batch as ``users.db`` is read in id order.

    Rows whose addresses have the same canonical form (``User5@EXAMPLE.com`` and
    ``user5@example.com``) are one account to the new services. The row stored
    in canonical form keeps the address: the monolith looked addresses up
    normalised, so it is the only one its login could find. When none is, the
    lowest id (the oldest account) keeps it.

    Only a row not stored in canonical form can lose (two in canonical form would
    be equal, which the table's UNIQUE forbids); for those, the row in canonical
    form is looked up by the UNIQUE index, whatever its id. Memory grows with the
    rows not in canonical form only, never with the table.
    """

    def __init__(self, database: LegacyDatabase):
        self.database = database
        self._first_variant: dict[str, int] = {}

    def losers(self, rows: Iterable[tuple[int, str, str | None]]) -> dict[int, int]:
        """``{id: id of the row that keeps its address}`` for those of ``rows`` (id, email, canonical) that lose.

        Rows must come in id order over the whole table, each once.
        """
        variants = [(row_id, canonical) for row_id, email, canonical in rows if canonical and canonical != email]
        if not variants:
            return {}
        in_canonical_form = self.database.ids_by_email({canonical for _, canonical in variants})
        losers = {}
        for row_id, canonical in variants:
            keeper = in_canonical_form.get(canonical)
            if keeper is None:
                keeper = self._first_variant.setdefault(canonical, row_id)
            if keeper != row_id:
                losers[row_id] = keeper
        return losers


# BUILDING ONE: tests and the benchmark
# ------------------------------------------------------------------------------


def create_legacy_database(path: str | Path, rows: Iterable[tuple]) -> Path:
    """A ``users.db`` with the monolith's schema holding ``rows`` of (id, email, password, name, created_at)."""
    path = Path(path)
    with sqlite3.connect(path) as connection:
        connection.execute(LEGACY_SCHEMA)
        connection.executemany(f"INSERT INTO users ({', '.join(LEGACY_COLUMNS)}) VALUES (?, ?, ?, ?, ?)", rows)
    connection.close()
    return path


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

