"""psycopg2 waiting on the server without holding the thread, under gevent.

psycopg2 waits for the server inside C: a query waiting on a row lock
(``SELECT ... FOR UPDATE``) holds the thread, and under gevent (one thread,
many greenlets) the greenlet holding that lock can then never run to commit:
the worker deadlocks until the lock times out. With a wait callback, psycopg2
sends and polls without blocking and calls it whenever it must wait; this one
waits on the socket in gevent's loop, so the other greenlets run meanwhile.
``common.postgresql`` installs it before its first connection in a process
gevent has patched (``install``); psycopg2 then uses it for every connection
of the process.

psycopg2's own ``extras.wait_select`` does the same but waits forever while
connecting: libpq applies ``connect_timeout`` only to the connections it waits
on itself. This one gives up when ``connect_timeout`` (``OPTIONS``,
``common.env.service_databases``: 5 s) has passed, as libpq would:
``OperationalError("timeout expired")``. Once connected, a wait is as long as
the server takes, as without gevent.
"""

from __future__ import annotations

import time

import psycopg2
from psycopg2 import extensions


def _connect_timeout(connection) -> float | None:
    """The connection's ``connect_timeout`` in seconds; ``None`` when it has none (libpq: unset or 0 waits forever)."""
    try:
        value = float(extensions.parse_dsn(connection.dsn).get("connect_timeout", 0))
    except (ValueError, psycopg2.ProgrammingError):
        return None
    return value if value > 0 else None


def wait_cooperatively(connection) -> None:
    """psycopg2's wait callback: poll ``connection`` until its operation is done, waiting in gevent's loop."""
    from gevent.socket import wait_read, wait_write

    deadline = None
    if connection.status == extensions.STATUS_SETUP:  # connecting
        timeout = _connect_timeout(connection)
        if timeout is not None:
            deadline = time.monotonic() + timeout
    while True:
        state = connection.poll()
        if state == extensions.POLL_OK:
            return
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        try:
            # The socket may change while connecting (libpq tries each address): asked each time.
            if state == extensions.POLL_READ:
                wait_read(connection.fileno(), timeout=remaining)
            elif state == extensions.POLL_WRITE:
                wait_write(connection.fileno(), timeout=remaining)
            else:
                raise psycopg2.OperationalError(f"bad state from poll: {state}")
        except TimeoutError:
            raise psycopg2.OperationalError("timeout expired") from None


def install() -> None:
    """Make every psycopg2 connection of this process wait with ``wait_cooperatively`` (idempotent)."""
    if extensions.get_wait_callback() is not wait_cooperatively:
        extensions.set_wait_callback(wait_cooperatively)
