"""The monolith's ``users.db``: opening it safely, reading it in batches, and reading its values.

Both services import from the same file by the same rules (``common.legacy_import``);
this module is the part that knows the monolith's database and nothing of Django:

- ``LegacyDatabase.open`` refuses, with one line a person can act on, anything
  that is not the monolith's database: a missing file, a file that is not
  SQLite, no ``users`` table or other columns, a locked or corrupt database.
- ``LegacyDatabase.batches`` streams rows in id order, a bounded batch at a time
  (keyset pagination), each batch its own short read so the monolith can keep
  writing while an import runs.
- ``AddressKeepers`` decides which of several rows sharing one canonical
  address keeps it, while the rows are read.
- ``parse_created_at``, ``is_bcrypt_hash``, ``text_value`` read the values the
  monolith wrote; ``row_checksum`` fingerprints what an import made of a row.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote


# Exit statuses of ``migrate_from_sqlite`` in every project and in ``manage_all.py``.
EXIT_CLEAN = 0
EXIT_ERROR = 1  # bad input, an unreachable or unmigrated database, an interrupted run
EXIT_USAGE = 2  # bad command-line arguments (argparse's own status)
EXIT_NEEDS_ATTENTION = 3  # imported; the report lists rows a person must look at
EXIT_VERIFY_MISMATCH = 4  # --verify found rows that differ from users.db

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
# bcryptjs wrote "$2a$" (older versions) or "$2b$"; "$2y$" is the same algorithm. Cost, then 53 characters
# of bcrypt's base64: the salt and the hash.
BCRYPT_HASH = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")


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
        # One thread reads at a time, but not always the one that opened it (common.legacy_import reads ahead).
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


# VALUES
# ------------------------------------------------------------------------------


def text_value(value: object) -> tuple[str | None, bool]:
    """``value`` as text any database accepts, and whether it had to be changed to be.

    Bytes that are not UTF-8 and NUL characters (PostgreSQL refuses both) become
    U+FFFD; a BLOB is read as UTF-8 text; NULL stays ``None``.
    """
    if value is None:
        return None, False
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    elif not isinstance(value, str):
        return str(value), False
    if value.isascii():
        if "\x00" in value:
            return value.replace("\x00", "\ufffd"), True
        return value, False
    try:
        value.encode("utf-8")
        changed = False
    except UnicodeEncodeError:
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        changed = True
    if "\x00" in value:
        return value.replace("\x00", "\ufffd"), True
    return value, changed


def parse_created_at(value: object) -> datetime | None:
    """``created_at`` as an aware UTC datetime, or ``None`` when it is not a date the monolith wrote.

    The monolith wrote three forms: SQLite's ``CURRENT_TIMESTAMP``
    (``2019-01-01 00:00:37``, UTC), JavaScript's ``toISOString()``
    (``2019-01-01T00:00:37.000Z``) and ``2019-01-01T00:00:37``. Any ISO 8601
    form is read; one without an offset is UTC, as SQLite's clock is.
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # The same as parsed.replace(tzinfo=UTC), in a quarter of the time: a million rows call this.
        return datetime.combine(parsed, parsed.time(), UTC)
    return parsed.astimezone(UTC)


def is_bcrypt_hash(value: object) -> bool:
    """Whether ``value`` is a bcrypt hash the ``bcrypt$`` password hasher verifies (``$2a$``, ``$2b$``, ``$2y$``)."""
    return isinstance(value, str) and BCRYPT_HASH.fullmatch(value) is not None


def row_checksum(*fields: object) -> int:
    """A stable signed 64-bit fingerprint of ``fields`` (text, numbers, ``None``).

    Each field is length-prefixed, so no two different lists of fields join into
    the same text. Compared per row id, 64 bits make a missed change negligible.
    """
    parts = []
    for field in fields:
        if field is None:
            parts.append("-")
        else:
            text = field if field.__class__ is str else str(field)
            parts.append(f"{len(text)}:{text}")
    digest = hashlib.blake2b("|".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


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
