"""gunicorn's access log: one lean JSON line per request, from the objects gunicorn really passes."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from common.gunicorn_conf import JsonLogger
from common.log import JsonFormatter

PEER = ("10.0.0.7", 51234)


def exchange(request: bytes, status: str | None = "200 OK", headers=(), body: bytes = b""):
    """(req, resp, environ) of ``request`` parsed and answered by gunicorn's own classes, as a worker has them."""
    req = next(RequestParser(Config(), [request], PEER))
    ours, theirs = socket.socketpair()
    try:
        resp, environ = wsgi.create(req, ours, PEER, ("127.0.0.1", 8000), Config())
        if status is not None:
            resp.start_response(status, list(headers))
            resp.write(body)
            resp.close()
    finally:
        ours.close()
        theirs.close()
    return req, resp, environ


@pytest.fixture
def access_lines(monkeypatch):
    """``(logger, lines)``: a JsonLogger whose access lines are formatted as in production and kept in ``lines()``."""
    monkeypatch.delenv("GUNICORN_ACCESS_LOG", raising=False)
    logger = JsonLogger(Config())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("gateway"))
    logger.access_log.addHandler(handler)
    logger.access_log.setLevel(logging.INFO)
    yield logger, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    for log in (logger.access_log, logger.error_log):
        for added in [handler, *(h for h in log.handlers if getattr(h, "_gunicorn", False))]:
            log.removeHandler(added)


GET_PROFILE = (
    b"GET /api/profile?token=hunter2-secret HTTP/1.1\r\n"
    b"Host: accounts.example.com\r\nAuthorization: Bearer abc.def.ghi\r\n\r\n"
)
ANSWER_HEADERS = [("Content-Type", "application/json"), ("X-Request-ID", "rid-42"), ("Content-Length", "11")]


def test_a_request_is_one_json_line_with_its_request_id_and_no_query_string(access_lines):
    logger, lines = access_lines
    req, resp, environ = exchange(GET_PROFILE, headers=ANSWER_HEADERS, body=b'{"ok":true}')

    logger.access(resp, req, environ, timedelta(microseconds=12_345))

    [line] = lines()
    assert {key: line[key] for key in ("service", "logger", "level", "message")} == {
        "service": "gateway",
        "logger": "gunicorn.access",
        "level": "INFO",
        "message": "request",
    }
    fields = ("request_id", "method", "path", "status", "duration_ms", "bytes", "remote_addr")
    assert {key: line[key] for key in fields} == {
        "request_id": "rid-42",
        "method": "GET",
        "path": "/api/profile",
        "status": 200,
        "duration_ms": 12.35,
        "bytes": 11,
        "remote_addr": "10.0.0.7",
    }
    assert "hunter2" not in json.dumps(line) and "abc.def" not in json.dumps(line)


def test_the_path_is_logged_as_sent_and_a_missing_request_id_is_null(access_lines):
    logger, lines = access_lines
    req, resp, environ = exchange(b"POST /api/caf%C3%A9 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "404 Not Found")

    logger.access(resp, req, environ, timedelta(milliseconds=1))

    [line] = lines()
    assert (line["method"], line["path"], line["status"], line["request_id"], line["bytes"]) == (
        "POST", "/api/caf%C3%A9", 404, None, 0,
    )


def test_a_response_that_never_started_is_logged_without_a_status(access_lines):
    logger, lines = access_lines
    req, resp, environ = exchange(GET_PROFILE, status=None)

    logger.access(resp, req, environ, timedelta(milliseconds=1))

    [line] = lines()
    assert (line["status"], line["bytes"], line["path"]) == (None, 0, "/api/profile")


def test_gunicorns_atoms_are_never_built(access_lines, monkeypatch):
    logger, lines = access_lines
    monkeypatch.setattr(JsonLogger, "atoms", lambda *args: pytest.fail("atoms() was called"))
    req, resp, environ = exchange(GET_PROFILE, headers=ANSWER_HEADERS, body=b"x" * 11)

    logger.access(resp, req, environ, timedelta(milliseconds=3))

    assert len(lines()) == 1


def test_gunicorn_access_log_false_turns_it_off(access_lines, monkeypatch):
    logger, lines = access_lines
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "false")
    logger.setup(logger.cfg)  # what gunicorn runs at start and on a reload
    req, resp, environ = exchange(GET_PROFILE, headers=ANSWER_HEADERS, body=b"x" * 11)

    logger.access(resp, req, environ, timedelta(milliseconds=3))

    assert logger.access_log_enabled is False
    assert lines() == []


def test_below_info_there_is_no_access_line(access_lines):
    logger, lines = access_lines
    logger.access_log.setLevel(logging.WARNING)
    req, resp, environ = exchange(GET_PROFILE, headers=ANSWER_HEADERS, body=b"x" * 11)

    logger.access(resp, req, environ, timedelta(milliseconds=3))

    assert lines() == []


def worker_settings(**environment) -> dict:
    """``worker_class`` and ``worker_connections`` as gunicorn reads them from its settings, in this environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GUNICORN_")}
    script = "import json, common.gunicorn_conf as c; print(json.dumps([c.worker_class, c.worker_connections]))"
    result = subprocess.run(
        [sys.executable, "-c", script], env={**env, **environment}, capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    worker_class, worker_connections = json.loads(result.stdout)
    return {"worker_class": worker_class, "worker_connections": worker_connections}


def test_the_users_service_runs_gunicorns_gevent_worker_closing_database_connections_and_auth_runs_threads():
    assert worker_settings(SERVICE_NAME="users") == {
        "worker_class": "common.gevent_worker.GeventWorker",
        "worker_connections": 1000,
    }
    assert worker_settings(SERVICE_NAME="users", GUNICORN_WORKER_CONNECTIONS="64")["worker_connections"] == 64
    assert worker_settings(SERVICE_NAME="auth")["worker_class"] == "gthread"
    assert worker_settings(SERVICE_NAME="auth", GUNICORN_WORKER_CLASS="gevent")["worker_class"] == (
        "common.gevent_worker.GeventWorker"
    )
