"""Fixtures for the gateway's tests: real upstreams on real sockets, fresh gateway state.

Every upstream here is a server bound to ``127.0.0.1`` on a port of its own
before the test goes on (the kernel queues connections until the serving
thread picks them up, so no readiness wait is needed), serving each connection
in a thread. Stopping one ends its serving loop, closes its listening socket,
cuts every connection still open and joins every thread it started.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.test import override_settings
from django.test.signals import setting_changed

from common.testing import free_port
from gateway import proxy, routing, schema

# How long stopping an upstream may wait for one of its threads.
_JOIN_TIMEOUT = 5.0
# How long a hanging upstream holds a connection before closing it unanswered.
_HANG_LIMIT = 30.0


# GATEWAY STATE
# ------------------------------------------------------------------------------


def reset_gateway_state() -> None:
    """Forget the cached route table, API document and connection pool, all made from settings."""
    routing.clear_cache()
    schema.clear_cache()
    proxy.clear_pools()  # closes kept-alive connections, so upstream threads see EOF


def _on_setting_changed(setting, **kwargs) -> None:
    if setting.startswith("GATEWAY_"):
        reset_gateway_state()


@pytest.fixture(autouse=True)
def fresh_gateway_state():
    """Each test starts and ends without cached routes or pooled connections.

    While it runs, entering or leaving ``override_settings`` of a ``GATEWAY_*``
    setting resets them too, so the table and the pool always match the settings.
    """
    reset_gateway_state()
    setting_changed.connect(_on_setting_changed)
    yield
    setting_changed.disconnect(_on_setting_changed)
    reset_gateway_state()


def ratelimit_cache(redis: str, prefix: str) -> dict:
    """``CACHES`` with the rate-limit counters on ``redis``, under ``prefix``."""
    return {
        **settings.CACHES,
        "ratelimit": {**settings.CACHES["ratelimit"], "LOCATION": redis, "KEY_PREFIX": prefix},
    }


@pytest.fixture(autouse=True)
def gateway_redis(redis_url):
    """Revocations and rate-limit counters on the test Redis; counters under a prefix of this test's own.

    So no test sees another's counts, and every request of every test goes
    through the real rate limiting and (on protected routes) revocation checks.
    """
    with override_settings(REDIS_URL=redis_url, CACHES=ratelimit_cache(redis_url, f"test-{uuid.uuid4().hex}")):
        yield redis_url


# WHAT AN UPSTREAM RECEIVED
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request as it arrived at an upstream."""

    method: str
    target: str  # the request line's target: path and query string, as sent
    headers: tuple[tuple[str, str], ...]
    body: bytes
    client_port: int  # the gateway's end of the TCP connection

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def header_names(self) -> set[str]:
        return {key.lower() for key, _ in self.headers}


# An upstream's answer to a request: status, header lines (repeats allowed), body.
Answer = tuple[int, list[tuple[str, str]], bytes]
Responder = Callable[[Received], Answer]


def json_answer(status: int, payload, headers: list[tuple[str, str]] | None = None) -> Answer:
    return status, [("Content-Type", "application/json"), *(headers or [])], json.dumps(payload).encode()


def echo(received: Received) -> Answer:
    """200 JSON describing the request, so a test can read it back from the response too."""
    return json_answer(
        200,
        {
            "method": received.method,
            "target": received.target,
            "headers": [list(pair) for pair in received.headers],
            "body": received.body.decode("latin-1"),
        },
    )


# SERVERS
# ------------------------------------------------------------------------------


class _TrackedServerMixin:
    """A thread per connection, each connection and thread remembered so ``stop`` can end them."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, *args, **kwargs):
        self.lock = threading.Lock()
        self.open_connections: set[socket.socket] = set()
        self.threads: list[threading.Thread] = []
        self.connections_accepted = 0
        self.release = threading.Event()  # set when stopping: handlers that wait give up
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        with self.lock:
            self.open_connections.add(request)
            self.connections_accepted += 1
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        self.threads.append(thread)
        thread.start()

    def shutdown_request(self, request):
        with self.lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # A traceback on stderr (shown with a failing test), except for connections ``stop`` cut.
        if not self.release.is_set():
            super().handle_error(request, client_address)

    def cut_open_connections(self) -> None:
        with self.lock:
            connections = list(self.open_connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its peer


class _HTTPServer(_TrackedServerMixin, ThreadingHTTPServer):
    pass


class _TCPServer(_TrackedServerMixin, socketserver.ThreadingTCPServer):
    pass


class _HTTPHandler(BaseHTTPRequestHandler):
    """Records each request, answers with the upstream's responder, keeps the connection alive."""

    protocol_version = "HTTP/1.1"

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        received = Received(
            method=self.command,
            target=self.path,
            headers=tuple(self.headers.items()),
            body=body,
            client_port=self.client_address[1],
        )
        upstream = self.server.upstream
        with self.server.lock:
            upstream.received.append(received)
        status, headers, payload = upstream.respond(received)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def log_message(self, format, *args):
        pass


def _read_request_head(connection: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


class _GarbageHandler(socketserver.BaseRequestHandler):
    """Reads the request head, answers bytes that are not HTTP, closes."""

    def handle(self):
        _read_request_head(self.request)
        self.request.sendall(b"\x00\x17 this is not an HTTP response at all \xff\xfe\r\n\r\n")


class _DroppingHandler(socketserver.BaseRequestHandler):
    """Reads the request head, counts it, and closes the connection without answering (a crash mid-request)."""

    def handle(self):
        _read_request_head(self.request)
        with self.server.lock:
            self.server.upstream.dropped += 1


class _HangingHandler(socketserver.BaseRequestHandler):
    """Accepts the connection and never answers (until the upstream is stopped).

    It gives up after ``_HANG_LIMIT`` seconds so that a gateway which waits
    forever makes its test fail instead of freezing the suite.
    """

    def handle(self):
        self.server.release.wait(_HANG_LIMIT)


class Upstream:
    """A server on ``127.0.0.1:<port>`` serving in a background thread."""

    def __init__(self, server: _TrackedServerMixin, respond: Responder | None = None):
        self.server = server
        self.server.upstream = self
        self.respond = respond
        self.received: list[Received] = []
        self.dropped = 0  # requests a "drop" upstream read and never answered
        self.port = server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def connections_accepted(self) -> int:
        return self.server.connections_accepted

    def stop(self) -> None:
        self.server.release.set()
        self.server.shutdown()  # returns once serve_forever has returned
        self.server.server_close()
        self.server.cut_open_connections()
        self._thread.join(_JOIN_TIMEOUT)
        for thread in self.server.threads:
            thread.join(_JOIN_TIMEOUT)
        alive = [thread for thread in (self._thread, *self.server.threads) if thread.is_alive()]
        assert not alive, f"upstream on port {self.port} left threads running: {alive}"


@pytest.fixture
def start_upstream():
    """Starts upstreams for one test: ``start_upstream(responder)`` for HTTP, or ``kind="hang"|"garbage"|"drop"``.

    ``port`` binds a given port (an upstream started again where a stopped one was).
    """
    started: list[Upstream] = []

    def start(respond: Responder = echo, *, kind: str = "http", port: int = 0) -> Upstream:
        address = ("127.0.0.1", port)
        if kind == "http":
            server = _HTTPServer(address, _HTTPHandler)
        elif kind == "garbage":
            server = _TCPServer(address, _GarbageHandler)
        elif kind == "hang":
            server = _TCPServer(address, _HangingHandler)
        elif kind == "drop":
            server = _TCPServer(address, _DroppingHandler)
        else:
            raise ValueError(f"unknown upstream kind {kind!r}")
        upstream = Upstream(server, respond if kind == "http" else None)
        started.append(upstream)
        return upstream

    yield start
    # Connections the gateway keeps alive are closed first, so no thread waits on them.
    reset_gateway_state()
    for upstream in reversed(started):
        upstream.stop()


@pytest.fixture
def echo_upstream(start_upstream) -> Upstream:
    return start_upstream(echo)


@pytest.fixture
def hanging_upstream(start_upstream) -> Upstream:
    return start_upstream(kind="hang")


@pytest.fixture
def garbage_upstream(start_upstream) -> Upstream:
    return start_upstream(kind="garbage")


@pytest.fixture
def closed_url() -> str:
    """An upstream URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"
