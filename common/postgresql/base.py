"""Django's PostgreSQL backend, with a health check of a kept connection that costs no round trip.

``DATABASES`` names it as its ``ENGINE`` (``common.env.service_databases``), as
Django's docs describe subclassing a built-in backend. Django's ``CONN_HEALTH_CHECKS``
sends ``SELECT 1`` before the first query of every request and Celery task on a kept
connection: a round trip, the server's CPU and the worker's on every one, to find
what is nearly always a live connection (docs/architecture.md, "Databases").

A connection at rest has nothing to read: the server speaks only when asked,
except when it drops the connection. Then (its process terminated, the server
shut down or restarted, the connection closed) an error message, the end of the
stream or a reset waits on the socket, and a look at the socket (``poll`` with
no wait) sees it. So a kept connection gets Django's check only when something
waits there; a harmless message a server may rarely send unasked (a notice)
gets the check too, which reads it and finds the connection sound.

Under gevent (gunicorn's gevent worker) psycopg2's waits on the server are made
cooperative before the first connection (``common.postgresql.waiting``), and the
look at the socket stays the system call it is: gevent's patched ``select.poll``
would hand the thread to its loop on every check.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base

from common.green import gevent_patched, system_poll
from common.postgresql import waiting

_poll = system_poll()


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        if gevent_patched():
            waiting.install()
        return super().get_new_connection(conn_params)

    def close_if_health_check_failed(self):
        """Django's health check, made only when the server has sent something since its last answer."""
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.server_has_spoken()
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def server_has_spoken(self) -> bool:
        """Whether anything (a message, the end of the stream, an error) waits on the kept connection's socket."""
        if self.connection.closed:
            return True
        poller = _poll()
        poller.register(self.connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
