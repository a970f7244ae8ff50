"""gunicorn settings shared by the three services (``gunicorn -c python:common.gunicorn_conf``).

A service's worker class is ``common.env.gunicorn_worker_class``: the gateway
and the users service run gevent's (a greenlet per client connection, at most
``GUNICORN_WORKER_CONNECTIONS`` per worker; run as
``common.gevent_worker.GeventWorker``), the auth service threads (``gthread``,
``GUNICORN_THREADS`` per worker). Both keep client connections alive between
requests (``GUNICORN_KEEPALIVE``), which the gateway's connection pool relies
on. Counts come from the environment; the defaults suit a small machine.

gunicorn writes the access log: one JSON line per request (``JsonLogger``),
unless ``GUNICORN_ACCESS_LOG`` is false.

Prometheus metrics (``common.metrics``) are added up over every worker process:
each worker writes its values to files in a directory of this gunicorn's own,
emptied when it starts. ``METRICS_BIND`` adds a listener for ``/metrics``.
The application must load in the workers (no ``preload_app``), after
``on_starting`` has set ``PROMETHEUS_MULTIPROC_DIR``: prometheus_client reads
it once, when first imported.
"""

import logging
import os
import re
import shutil
import traceback

from gunicorn.glogging import Logger

from common.env import env, gunicorn_worker_class, gunicorn_workers, state_dir
from common.log import logging_config
from common.request_context import REQUEST_ID_HEADER

_service = os.environ.get("SERVICE_NAME", "service")

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = gunicorn_worker_class(_service)
if worker_class == "gevent":
    # gunicorn's, stopping promptly and closing a client connection's database connections with it.
    worker_class = "common.gevent_worker.GeventWorker"
workers = gunicorn_workers(_service)
threads = int(os.environ.get("GUNICORN_THREADS", 8))  # gthread only
# gevent only: client connections a worker serves at once, a greenlet (and its database connections) each;
# the gateway's requests to an upstream wait for one of the GATEWAY_POOL_SIZE connections to it.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", 1000))
# Longer than the gateway's idle pooled connections are kept; shorter than a
# typical load balancer's idle timeout upstream of the gateway.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 30))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))


_REQUEST_ID_HEADER = REQUEST_ID_HEADER.lower()


class JsonLogger(Logger):
    """gunicorn's logger, with a lean access log: one JSON line per request, through ``common.log``.

    The line (message ``"request"``) carries ``request_id`` (the ``X-Request-ID``
    the response carries: ``RequestIdMiddleware`` sets it), ``method``, ``path``
    (without the query string, which may carry secrets), ``status``,
    ``duration_ms`` (from the request parsed to the response sent), ``bytes``
    (the body sent) and ``remote_addr`` (the peer of the connection).

    gunicorn's own ``access()`` first builds a dict of every request header,
    response header and environ entry (``atoms()``) for its format string to
    pick from; this reads only the fields above (``bench/access_log.py``,
    docs/performance.md). ``GUNICORN_ACCESS_LOG=false``
    turns the log off; below ``LOG_LEVEL=INFO`` it is off too.
    """

    def _compute_access_log_enabled(self):
        return env.bool("GUNICORN_ACCESS_LOG", default=True)

    def access(self, resp, req, environ, request_time):
        if not (self.access_log_enabled and self.access_log.isEnabledFor(logging.INFO)):
            return
        request_id = None
        for name, value in resp.headers:
            if name.lower() == _REQUEST_ID_HEADER:
                request_id = value
                break
        try:
            self.access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": req.method,
                    "path": req.path,
                    "status": getattr(resp, "status_code", None),
                    "duration_ms": round(request_time.total_seconds() * 1000, 2),
                    "bytes": resp.sent,
                    "remote_addr": environ.get("REMOTE_ADDR"),
                },
            )
        except Exception:
            self.error(traceback.format_exc())


# gunicorn's own lines (start, stop, errors) are JSON too. No accesslog file: the
# access lines go through logconfig_dict's handler like every other line.
accesslog = None
logger_class = JsonLogger
logconfig_dict = logging_config(_service, os.environ.get("LOG_LEVEL", "INFO"))
proc_name = _service
# Several gunicorns share a machine in development; none needs the control socket.
control_socket_disable = True


def metrics_directory(service: str, bind: str):
    """Where the workers of the gunicorn serving ``service`` on ``bind`` keep their metric files.

    One directory per listening address: two gunicorns of one service on one
    machine (sharing ``VAR_DIR``) never mix or wipe each other's figures.
    """
    return state_dir(service) / "metrics" / re.sub(r"[^A-Za-z0-9.-]+", "-", bind).strip("-")


def on_starting(server):
    """Before any worker starts: a fresh metrics directory, and the ``METRICS_BIND`` listener."""
    directory = metrics_directory(_service, server.cfg.bind[0])
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    metrics_bind = os.environ.get("METRICS_BIND", "")
    if metrics_bind and metrics_bind not in server.cfg.bind:
        server.cfg.set("bind", [*server.cfg.bind, metrics_bind])


def child_exit(server, worker):
    """A worker is gone: its live gauges stop counting (its counters and histograms stay summed)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
