"""gunicorn's gevent worker, closing a client connection's database connections when the connection ends.

``-k gevent`` serves each client connection on a greenlet of its own, and once
gevent has patched ``threading`` Django keeps its database connections per
greenlet: per client connection. When a client connection ends (the gateway
drops an idle pooled connection, a probe sends its one request) its greenlet
ends, and with it the only code that would reuse or close its database
connections. Django's connection objects refer to themselves, so they would
stay open until Python's cycle collector came across them, a PostgreSQL server
counting them meanwhile. This worker closes them as the client connection ends.

``common.gunicorn_conf`` runs it wherever the worker class is ``gevent``. The
database drivers' waits are made cooperative by the backends themselves
(``common.sqlite``, ``common.postgresql``).
"""

from __future__ import annotations

import logging

from gunicorn.workers import ggevent

logger = logging.getLogger(__name__)


def close_database_connections() -> None:
    """Close the database connections this greenlet opened (none when Django was never asked for one)."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception as exc:  # a broken connection is gone either way
            logger.warning(
                "database connection not closed cleanly", extra={"alias": connection.alias, "error": str(exc)}
            )


class GeventWorker(ggevent.GeventWorker):
    def handle(self, listener, client, addr):
        try:
            super().handle(listener, client, addr)
        finally:
            close_database_connections()
