"""gunicorn's gevent worker, stopping as promptly as its threads worker (``gthread``) does, and closing a client
connection's database connections when the connection ends.

On ``SIGTERM`` (a graceful stop) gunicorn's gevent worker stops accepting and
waits for every connection's greenlet to end, up to ``GUNICORN_GRACEFUL_TIMEOUT``.
A client connection kept alive between requests (a load balancer's, a browser's,
wrk's) has a greenlet waiting for its next request for up to
``GUNICORN_KEEPALIVE`` seconds: one such connection held every stop for the
whole graceful timeout, where ``gthread`` closes its idle connections at once.

This worker closes a connection waiting for its next request as soon as the
worker is stopping (and one that finishes a request after that, instead of
waiting on it): requests in progress still get their answers. And a worker
told to stop while it starts (monkey-patching takes a fraction of a second)
stops instead of missing the signal. And a connection whose last request never
waited lets the others run before it reads its next request, so one busy
kept-alive connection cannot hold the worker.

Once gevent has patched ``threading`` Django keeps its database connections per
greenlet: per client connection. When a client connection ends (the gateway
drops an idle pooled connection, a probe sends its one request) its greenlet
ends, and with it the only code that would reuse or close its database
connections. Django's connection objects refer to themselves, so they would
stay open until Python's cycle collector came across them, a PostgreSQL server
counting them meanwhile: this worker closes them as the client connection ends.
The database drivers' waits are made cooperative by the backends themselves
(``common.sqlite``, ``common.postgresql``).

The ``common.gunicorn_conf`` worker class for ``gevent``.
"""

from __future__ import annotations

import logging
import signal
import socket

import gevent
from gunicorn.workers.ggevent import GeventWorker as _GunicornGeventWorker

logger = logging.getLogger(__name__)


def close_database_connections() -> None:
    """Close the database connections this greenlet opened (none when Django was never asked for one)."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        try:
            connection.close()
        except Exception as exc:  # a broken connection is gone either way
            logger.warning("database connection not closed cleanly", extra={"alias": connection.alias, "error": str(exc)})


def _shut(client) -> None:
    """End ``client``'s connection: its greenlet, waiting on it, reads the end and finishes quietly.

    The system socket's own ``shutdown``: gevent's would wake the waiting greenlet
    with an error (``EBADF``, logged as a socket error) instead of the end of the stream.
    """
    try:
        getattr(client, "_sock", client).shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed by the peer
        pass


class PollCounter:
    """How many times gevent's loop has polled for I/O while it is entered (a check watcher: once after every poll).

    A greenlet that waited on a socket (its upstream, Redis, a database) between two
    looks at ``count`` saw it change: the loop polled, and every other greenlet
    whose socket was ready ran. One that never waited sees the same ``count``.
    """

    __slots__ = ("count", "_watcher")

    def __init__(self):
        self.count = 0
        self._watcher = None

    def __enter__(self):
        # ref=False: the watcher alone does not keep the loop running.
        self._watcher = gevent.get_hub().loop.check(ref=False)
        self._watcher.start(self._polled)
        return self

    def __exit__(self, *exc):
        self._watcher.close()
        self._watcher = None

    def _polled(self):
        self.count += 1


class _NextRequest:
    """The wait for a connection's next request: at most ``keepalive`` seconds, the connection idle meanwhile."""

    __slots__ = ("worker", "greenlet", "timeout")

    def __init__(self, worker: GeventWorker):
        self.worker = worker
        self.greenlet = gevent.getcurrent()
        self.timeout = gevent.Timeout(worker.cfg.keepalive, False)

    def __enter__(self):
        worker = self.worker
        # The others first: a connection whose next request is already there would otherwise be read and served
        # without the thread ever passing to another connection (one busy kept-alive connection held the
        # worker; gateway /health p99 217-344 ms, against 13-17 with this). Only when this connection's last
        # request never waited (gevent's loop has not polled since it began): one that waited on its upstream,
        # Redis or the database has let the others run already. A hop through the loop before every request
        # cost a forwarded read ~8% of its rate under full load; every 8th request instead left the p99 at
        # 114-117 ms.
        if worker.polled.get(self.greenlet) == worker.polls.count:
            gevent.sleep(0)
        worker.polled[self.greenlet] = worker.polls.count
        client = worker.clients.get(self.greenlet)
        if client is not None:
            if not worker.alive:
                _shut(client)  # stopping: no next request on this connection
            worker.idle[self.greenlet] = client
        self.timeout.__enter__()
        return self

    def __exit__(self, typ, value, tb):
        self.worker.idle.pop(self.greenlet, None)
        return self.timeout.__exit__(typ, value, tb)  # its own expiry is swallowed: no next request


class GeventWorker(_GunicornGeventWorker):
    """gunicorn's ``gevent`` worker: idle kept-alive connections end as soon as it is stopping; a connection's
    database connections close with it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The greenlet serving each client connection -> its socket; those waiting for a next request.
        self.clients: dict = {}
        self.idle: dict = {}
        # The count of gevent's polls; the greenlet serving each client connection -> that count when its last
        # request began.
        self.polls = PollCounter()
        self.polled: dict = {}

    def init_process(self):
        # gunicorn sets the worker's signal handlers after monkey-patching (a fraction of a second): until then a
        # SIGTERM meets the arbiter's handler, inherited across the fork, and is lost, and the worker served on
        # until the graceful timeout killed it. Stopping that early is remembered here.
        signal.signal(signal.SIGTERM, self._stop_before_serving)
        super().init_process()

    def _stop_before_serving(self, sig, frame):
        self.alive = False

    def run(self):
        with PollCounter() as self.polls:
            super().run()

    def handle(self, listener, client, addr):
        current = gevent.getcurrent()
        self.clients[current] = client
        try:
            super().handle(listener, client, addr)
        finally:
            self.clients.pop(current, None)
            self.polled.pop(current, None)
            close_database_connections()

    def timeout_ctx(self):
        return _NextRequest(self)

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        gevent.spawn(self.close_idle_connections)  # out of the signal handler, as gunicorn's handle_quit

    def close_idle_connections(self) -> None:
        """End every connection waiting for its next request."""
        for client in list(self.idle.values()):
            _shut(client)
