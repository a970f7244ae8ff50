"""The gateway's gunicorn (``common.gunicorn_conf``, gevent's worker) on a real socket: kept alive, logged, stopped promptly."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import gevent
import gevent.socket
import pytest

from common.env import REPO_ROOT
from common.gevent_worker import PollCounter, _NextRequest
from common.testing import free_port

APP = """
import itertools

served = itertools.count(1)  # this worker's requests so far


def application(environ, start_response):
    body = b'{"ok": true}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                              ("X-Request-ID", "rid-gevent"), ("X-Served", str(next(served)))])
    return [body]
"""


def read_answer(sock: socket.socket) -> bytes:
    """One whole answer to ``GET /`` from ``APP`` (its body ends it)."""
    data = b""
    while not data.endswith(b'{"ok": true}'):
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"the connection ended: {data!r}")
        data += chunk
    return data


@pytest.fixture
def gateway_gunicorn(tmp_path, request):
    """A gunicorn serving ``APP`` as the gateway's (``SERVICE_NAME=gateway``): (process, port, stderr file).

    Two workers, or as many as the test's indirect parameter says.
    """
    (tmp_path / "gevent_app.py").write_text(textwrap.dedent(APP))
    port = free_port()
    env = {
        **os.environ,
        "SERVICE_NAME": "gateway",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(getattr(request, "param", 2)),
        # Far longer than the test waits: a stop held by the kept-alive connection would not end in time.
        "GUNICORN_KEEPALIVE": "300",
        "GUNICORN_GRACEFUL_TIMEOUT": "300",
        "VAR_DIR": str(tmp_path / "var"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)]),
        "LOG_LEVEL": "INFO",
    }
    env.pop("GUNICORN_WORKER_CLASS", None)
    stderr = tmp_path / "gunicorn.log"
    with open(stderr, "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:common.gunicorn_conf", "gevent_app:application"],
            cwd=tmp_path,
            env=env,
            stdout=err,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process, port, stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def connect(process, port: int) -> socket.socket:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, "gunicorn exited"
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_the_gateway_runs_gevent_keeps_connections_alive_logs_json_and_stops_with_one_idle(gateway_gunicorn):
    process, port, stderr = gateway_gunicorn
    with connect(process, port) as client:
        answers = []
        for _ in range(3):
            client.sendall(b"GET /api/profile?token=secret HTTP/1.1\r\nHost: gateway\r\n\r\n")
            answers.append(read_answer(client))
        # Three answers on one connection, each saying it stays open.
        assert all(answer.startswith(b"HTTP/1.1 200 OK\r\n") for answer in answers)
        assert all(b"\r\nConnection: keep-alive\r\n" in answer for answer in answers), answers

        # The connection idles, kept alive: a graceful stop does not wait for it.
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        assert client.recv(1) == b""

    lines = [json.loads(line) for line in stderr.read_text().splitlines() if line.startswith("{")]
    assert any("GeventWorker" in line.get("message", "") for line in lines), lines
    requests = [line for line in lines if line.get("message") == "request"]
    assert len(requests) == 3, lines
    assert {(line["request_id"], line["path"], line["status"], line["bytes"]) for line in requests} == {
        ("rid-gevent", "/api/profile", 200, len(b'{"ok": true}'))
    }
    assert not [line for line in lines if line.get("levelname") == "ERROR" or "Traceback" in json.dumps(line)]


@pytest.mark.parametrize("gateway_gunicorn", [1], indirect=True)
def test_a_connection_sending_request_after_request_does_not_keep_the_worker_from_another(gateway_gunicorn):
    # A greenlet finding its connection's next request already there would read and serve it without handing
    # the thread to the others: a busy kept-alive connection (a load balancer's, wrk's) held the worker while
    # another connection's request waited for all of its own (gateway /health: p99 217-344 ms against 13-21 ms
    # on threads). Each connection now lets the others run before reading its next request.
    process, port, _ = gateway_gunicorn
    pipelined = 300  # their answers fit the socket's buffers: the busy greenlet never waits to send
    request = b"GET / HTTP/1.1\r\nHost: gateway\r\n\r\n"
    with connect(process, port) as busy, connect(process, port) as other:
        busy.sendall(request * pipelined)
        other.sendall(request)
        answer = read_answer(other)
    served = int(re.search(rb"\r\nX-Served: (\d+)\r\n", answer).group(1))
    assert served < pipelined // 2, f"the other connection's request was the worker's {served}th"


def test_the_poll_count_moves_when_a_greenlet_waits_on_a_socket_not_when_it_only_yields():
    with PollCounter() as polls:
        gevent.sleep(0)  # the loop's callbacks run, it does not poll
        assert polls.count == 0
        ours, theirs = gevent.socket.socketpair()
        with ours, theirs:
            waiting = gevent.spawn(theirs.recv, 1)
            gevent.sleep(0)  # it waits now
            ours.sendall(b"x")
            assert waiting.get(timeout=10) == b"x"
            assert polls.count >= 1  # the loop polled to find its socket ready
            seen = polls.count
            ours.sendall(b"y")
            assert theirs.recv(1) == b"y"  # ready already: no wait, no poll
            assert polls.count == seen
    assert polls._watcher is None


def test_a_connection_yields_before_its_next_request_only_when_its_last_one_never_waited(monkeypatch):
    worker = SimpleNamespace(
        cfg=SimpleNamespace(keepalive=5), clients={}, idle={}, alive=True, polls=SimpleNamespace(count=0), polled={}
    )
    yields = []
    monkeypatch.setattr(gevent, "sleep", yields.append)

    def next_request() -> None:
        with _NextRequest(worker):
            pass

    next_request()  # a connection's first request: just accepted, through the loop
    assert yields == []
    next_request()  # the last request never waited: the others first
    assert yields == [0]
    worker.polls.count += 1  # this one waited (on its upstream, Redis, the database): the others have run
    next_request()
    assert yields == [0]
    next_request()
    assert yields == [0, 0]
