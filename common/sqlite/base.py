"""Django's SQLite backend, whose writers in one gevent worker take turns on each file instead of blocking it.

``DATABASES`` names it as its ``ENGINE`` for every SQLite alias
(``common.env.service_databases``). Without gevent nothing changes: it is
Django's backend.

Under gunicorn's gevent worker (``gevent.monkey`` has patched ``threading``),
one process serves many requests on one thread, each request's greenlet with
its own connection, and a greenlet gives the thread up whenever it waits on
I/O. A write transaction does I/O before it commits (a revision raised in
Redis, ``users.services.changes``), so a greenlet may give up the thread
while holding the file's write lock. Another greenlet that then begins a
write meets the lock, and SQLite's busy handler waits for it inside C, holding
the thread: the greenlet with the lock never runs again to commit, every
other request of the worker stalls, and the waiter fails after the whole
busy timeout with "database is locked".

So, under gevent, this process's writers to one file take turns on a lock of
gevent's (``WriterTurn``), which waits cooperatively: a connection takes the
file's turn before it begins a transaction (``BEGIN IMMEDIATE``,
``_start_transaction_under_autocommit``) and before a write statement in
autocommit (a plain ``save()``, an ``update()``), and gives it back once no
transaction is open (the statement done, a commit, a rollback, the connection
closed). Waiting for the turn lasts at most the database's busy timeout
(``OPTIONS["timeout"]``), then fails as SQLite would: ``OperationalError("database
is locked")``, a JSON 503 in a view (``common.errors``). A statement that does
not write (``SELECT``, ``PRAGMA``) outside a transaction needs no turn: with
the write-ahead log readers never wait for the writer.

Other processes writing the file (the Celery worker, the other gunicorn
workers) still meet SQLite's own lock and busy handler; they share no event
loop with this one, so the holder commits meanwhile.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from django.db.backends.sqlite3 import base

from common.green import gevent_patched

# How SQLite's Python driver waits on a lock when OPTIONS names no timeout (seconds).
DEFAULT_BUSY_TIMEOUT = 5.0

# Statements that take no write lock when run outside a transaction (their first word).
_NON_WRITING = ("SELECT", "PRAGMA", "EXPLAIN")

# The lock of each file this process writes (its real path), made on first use.
_file_locks: dict[str, threading.Lock] = {}


def file_lock(name: str) -> threading.Lock:
    """This process's lock of the database file ``name``: gevent's, being made after ``threading`` was patched."""
    key = name if name.startswith("file:") or name == ":memory:" else os.path.realpath(name)
    lock = _file_locks.get(key)
    if lock is None:
        lock = _file_locks.setdefault(key, threading.Lock())
    return lock


class WriterTurn:
    """One connection's hold on its file's lock: taken to write, given back when no transaction is open."""

    def __init__(self, lock: threading.Lock, timeout: float) -> None:
        self.lock = lock
        self.timeout = timeout
        self.held = False

    def take(self) -> None:
        """Wait (cooperatively) for the file's turn, at most the busy timeout; then "database is locked"."""
        if not self.lock.acquire(timeout=self.timeout):
            raise sqlite3.OperationalError("database is locked")
        self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self.lock.release()


class CursorWrapper(base.SQLiteCursorWrapper):
    """Django's SQLite cursor, taking its connection's turn around a statement that may write."""

    turn: WriterTurn

    def execute(self, query, params=None):
        if self.turn.held or self.connection.in_transaction or query.lstrip()[:7].upper().startswith(_NON_WRITING):
            return super().execute(query, params)
        return self._in_turn(super().execute, query, params)

    def executemany(self, query, param_list):
        if self.turn.held or self.connection.in_transaction:
            return super().executemany(query, param_list)
        return self._in_turn(super().executemany, query, param_list)

    def _in_turn(self, run, query, params):
        """``run(query, params)`` with the file's turn taken, given back after unless a transaction is open."""
        self.turn.take()
        try:
            return run(query, params)
        finally:
            # A statement that began a transaction (BEGIN, a SAVEPOINT outside one) keeps the turn until it ends.
            if not self.connection.in_transaction:
                self.turn.give_back()


class DatabaseWrapper(base.DatabaseWrapper):
    # The turn of this connection on its file's lock; None when writers need none (no gevent).
    writer_turn: WriterTurn | None = None

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if gevent_patched():
            timeout = float(self.settings_dict["OPTIONS"].get("timeout", DEFAULT_BUSY_TIMEOUT))
            self.writer_turn = WriterTurn(file_lock(self.settings_dict["NAME"]), timeout)
        return connection

    def create_cursor(self, name=None):
        if self.writer_turn is None:
            return super().create_cursor(name)
        cursor = self.connection.cursor(factory=CursorWrapper)
        cursor.turn = self.writer_turn
        return cursor

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._give_back_turn_unless_in_transaction()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._give_back_turn_unless_in_transaction()

    def _close(self):
        try:
            return super()._close()
        finally:
            if self.writer_turn is not None:
                self.writer_turn.give_back()
                self.writer_turn = None

    def _give_back_turn_unless_in_transaction(self) -> None:
        turn = self.writer_turn
        if turn is not None and turn.held and not (self.connection is not None and self.connection.in_transaction):
            turn.give_back()
