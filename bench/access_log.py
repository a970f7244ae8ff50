#!/usr/bin/env python
"""What one access-log line costs a gunicorn worker, measured in-process.

    .venv/bin/python bench/access_log.py [--calls 20000] [--repeats 5]

Calls the access() of gunicorn's logger in a loop with the request and response
objects gunicorn passes it (parsed and built by gunicorn's own classes: a
``GET /api/profile`` with a browser's headers, answered as the gateway answers),
each line formatted by ``common.log.JsonFormatter`` and written to /dev/null.
Prints CPU microseconds per call (the median of the repeats) for:
- ``JsonLogger.access`` (``common/gunicorn_conf.py``): the access log as it is;
- the same with a handler that drops the line: the fields and the log record, without formatting and writing;
- the same with ``GUNICORN_ACCESS_LOG=false``;
- gunicorn's own ``Logger.access`` with its default format, for comparison;
- gunicorn's ``atoms()`` alone: what its access log builds before formatting;
- the middleware's JSON line this access log replaced (``logging.getLogger("access")``).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gunicorn.config import Config  # noqa: E402
from gunicorn.glogging import Logger  # noqa: E402
from gunicorn.http import wsgi  # noqa: E402
from gunicorn.http.parser import RequestParser  # noqa: E402

from common.gunicorn_conf import JsonLogger  # noqa: E402
from common.log import JsonFormatter  # noqa: E402

PEER = ("10.0.0.7", 51234)
REQUEST = (
    b"GET /api/profile?include=preferences HTTP/1.1\r\n"
    b"Host: accounts.example.com\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\r\n"
    b"Accept: application/json, text/plain, */*\r\n"
    b"Accept-Language: en-GB,en;q=0.9\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJ1c2VySWQiOjF9.c2lnbmF0dXJl\r\n"
    b"Origin: https://app.example.com\r\n"
    b"Referer: https://app.example.com/settings\r\n"
    b"X-Forwarded-For: 203.0.113.9\r\n"
    b"X-Forwarded-Proto: https\r\n"
    b"Connection: keep-alive\r\n\r\n"
)
RESPONSE_HEADERS = [
    ("Content-Type", "application/json"),
    ("Vary", "Accept, Origin"),
    ("Allow", "GET, PUT, HEAD, OPTIONS"),
    ("X-Frame-Options", "DENY"),
    ("Content-Length", "120"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("Access-Control-Allow-Origin", "https://app.example.com"),
    ("X-Request-ID", "3f2a9c1e0b7d4e5fa6c8d9e0f1a2b3c4"),
]


def exchange():
    """(req, resp, environ) as a gthread worker has them when it calls access()."""
    cfg = Config()
    req = next(RequestParser(cfg, [REQUEST], PEER))
    ours, theirs = socket.socketpair()
    resp, environ = wsgi.create(req, ours, PEER, ("0.0.0.0", 8000), cfg)
    resp.start_response("200 OK", RESPONSE_HEADERS)
    resp.write(b"x" * 120)
    resp.close()
    ours.close()
    theirs.close()
    return req, resp, environ


def cpu_us_per_call(call, calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the process CPU one call costs, in microseconds."""
    figures = []
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(calls):
            call()
        figures.append((time.process_time() - start) / calls * 1e6)
    return statistics.median(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    options = parser.parse_args()

    sink = logging.StreamHandler(open(os.devnull, "w"))
    sink.setFormatter(JsonFormatter("gateway"))
    req, resp, environ = exchange()
    request_time = timedelta(microseconds=1234)

    os.environ.pop("GUNICORN_ACCESS_LOG", None)
    # accesslog="-" turns gunicorn's own access log on (with a handler of its own, replaced below).
    loggers = {"json": JsonLogger(Config()), "stock": Logger(Config())}
    loggers["stock"].cfg.set("accesslog", "-")
    loggers["stock"].setup(loggers["stock"].cfg)
    for logger in loggers.values():
        for log in (logger.access_log, logger.error_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
        logger.access_log.addHandler(sink)
        logger.access_log.setLevel(logging.INFO)
    os.environ["GUNICORN_ACCESS_LOG"] = "false"
    off = JsonLogger(Config())
    os.environ.pop("GUNICORN_ACCESS_LOG")
    # A logger of its own name, so its handler does not replace the others'.
    dropped = JsonLogger(Config())
    dropped.access_log = logging.getLogger("bench.dropped")
    dropped.access_log.propagate = False
    dropped.access_log.addHandler(logging.NullHandler())
    dropped.access_log.setLevel(logging.INFO)

    middleware_log = logging.getLogger("bench.access")
    middleware_log.addHandler(sink)
    middleware_log.setLevel(logging.INFO)
    middleware_log.propagate = False

    def middleware_line():
        middleware_log.info(
            "request",
            extra={"request_id": "3f2a9c1e", "method": "GET", "path": "/api/profile", "status": 200,
                   "duration_ms": 1.23},
        )

    cases = {
        "JsonLogger.access (the access log)": lambda: loggers["json"].access(resp, req, environ, request_time),
        "JsonLogger.access, line dropped by the handler": lambda: dropped.access(resp, req, environ, request_time),
        "JsonLogger.access, GUNICORN_ACCESS_LOG=false": lambda: off.access(resp, req, environ, request_time),
        "gunicorn's Logger.access, default format": lambda: loggers["stock"].access(resp, req, environ, request_time),
        "gunicorn's atoms() alone": lambda: loggers["stock"].atoms(resp, req, environ, request_time),
        "the middleware's former JSON line": middleware_line,
    }
    print(f"{options.calls} calls x {options.repeats} repeats, CPU per call (median), Python {sys.version.split()[0]}")
    for name, call in cases.items():
        print(f"  {name:<48} {cpu_us_per_call(call, options.calls, options.repeats):7.2f} µs")


if __name__ == "__main__":
    main()
