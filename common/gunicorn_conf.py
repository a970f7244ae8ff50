"""gunicorn settings shared by the three services (``gunicorn -c python:common.gunicorn_conf``).

Threaded workers (``gthread``) keep connections alive between requests, which
the gateway's connection pool relies on. Counts come from the environment;
the defaults suit a small machine.

Prometheus metrics (``common.metrics``) are added up over every worker process:
each worker writes its values to files in a directory of this gunicorn's own,
emptied when it starts. ``METRICS_BIND`` adds a listener for ``/metrics``.
The application must load in the workers (no ``preload_app``), after
``on_starting`` has set ``PROMETHEUS_MULTIPROC_DIR``: prometheus_client reads
it once, when first imported.
"""

import multiprocessing
import os
import re
import shutil

from gunicorn.glogging import Logger

from common.env import state_dir
from common.log import logging_config

_service = os.environ.get("SERVICE_NAME", "service")

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", min(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
# Longer than the gateway's idle pooled connections are kept; shorter than a
# typical load balancer's idle timeout upstream of the gateway.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 30))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))


class JsonLogger(Logger):
    """gunicorn's logger without gunicorn's access log.

    Each request is logged once, as JSON with its request id, by
    ``common.middleware.RequestIdMiddleware``. gunicorn turns its own access log
    on whenever ``logconfig_dict`` is set, and then builds the log's fields
    (every request header and environ entry) for each request before its logger
    drops the line: about 5% of a worker's CPU under load, for nothing.
    """

    def access(self, resp, req, environ, request_time):
        return None


# gunicorn's own lines (start, stop, errors) are JSON too.
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
