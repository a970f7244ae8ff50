"""The forwarding client against a server that answers scripted bytes on a real socket."""

from __future__ import annotations

import select
import subprocess
import sys
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from common.testing import free_port
from gateway.upstream_http import (
    MAX_HEADERS,
    MAX_LINE,
    BadResponse,
    ConnectFailed,
    ConnectionLost,
    ConnectionPool,
    PoolExhausted,
    ReadTimedOut,
)

CLOSE = object()  # in a script: close the connection instead of answering
HANG = object()  # in a script: read the request, answer nothing until the test ends


def and_close(answer: bytes) -> tuple[bytes]:
    """In a script: answer, then close the connection."""
    return (answer,)


def read_head(reader) -> bytes | None:
    """A request's line and header lines, read whole; ``None`` when the client closed first."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline()
        if not line:
            return None
        head += line
    return head


@dataclass
class ScriptedServer:
    """Answers the n-th request it reads with the n-th item of ``script``, on any connection."""

    script: list
    requests: list[bytes] = field(default_factory=list)
    accepted: int = 0

    def __post_init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket):
        reader = connection.makefile("rb")
        with connection, reader:
            while self.script:
                head = read_head(reader)
                if head is None:
                    return
                length = next(
                    (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
                    0,
                )
                self.requests.append(head + reader.read(length))
                answer = self.script.pop(0)
                if answer is CLOSE:
                    return
                if answer is HANG:
                    self.stopped.wait()
                    return
                if isinstance(answer, tuple):
                    connection.sendall(answer[0])
                    return
                connection.sendall(answer)

    def stop(self):
        self.stopped.set()
        self.listener.close()
        for thread in self.threads[1:]:
            thread.join(5)


@pytest.fixture
def serve():
    servers = []

    def start(*script) -> tuple[ScriptedServer, ConnectionPool]:
        server = ScriptedServer(list(script))
        servers.append(server)
        return server, ConnectionPool("127.0.0.1", server.port, maxsize=4, connect_timeout=1.0, read_timeout=2.0)

    yield start
    for server in servers:
        server.stop()


OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def test_the_request_goes_as_given_with_the_host_and_the_body_length(serve):
    server, pool = serve(OK, OK)
    pool.request("PUT", "/api/profile?x=1", {"X-Request-ID": "abc"}, b'{"name": "A"}')
    pool.request("PUT", "/api/profile", {}, None)
    assert server.requests[0] == (
        b"PUT /api/profile?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Request-ID: abc\r\nContent-Length: 13\r\n\r\n"
        b'{"name": "A"}' % server.port
    )
    assert server.requests[1].endswith(b"Content-Length: 0\r\n\r\n")


def test_an_answer_by_length_comes_whole_and_the_connection_is_kept(serve):
    server, pool = serve(
        b"HTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 5\r\n\r\nhello", OK
    )
    first = pool.request("POST", "/", {}, b"x")
    second = pool.request("GET", "/", {}, None)
    assert (first.status, first.data, first.header_values("Set-Cookie")) == (201, b"hello", ["a=1", "b=2"])
    assert (second.status, second.data) == (200, b"{}")
    assert server.accepted == 1


def test_a_chunked_answer_is_joined_and_its_trailers_dropped(serve):
    server, pool = serve(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
        OK,
    )
    assert pool.request("GET", "/", {}, None).data == b"hello world"
    assert pool.request("GET", "/", {}, None).data == b"{}"
    assert server.accepted == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.0 200 OK\r\n\r\nto the end",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\nto the end",
        b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nto the end",
    ],
)
def test_a_connection_the_answer_ends_is_not_used_again(serve, answer):
    server, pool = serve(and_close(answer), OK)
    assert pool.request("GET", "/", {}, None).data == b"to the end"
    assert pool.request("GET", "/", {}, None).data == b"{}"
    assert server.accepted == 2


@pytest.mark.parametrize(
    "method, answer",
    [
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"),
        ("GET", b"HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\n\r\n"),
        ("DELETE", b"HTTP/1.1 204 No Content\r\n\r\n"),
    ],
)
def test_answers_without_a_body_read_none_and_keep_the_connection(serve, method, answer):
    server, pool = serve(answer, OK)
    assert pool.request(method, "/", {}, None).data == b""
    assert pool.request("GET", "/", {}, None).data == b"{}"
    assert server.accepted == 1


def test_an_interim_answer_is_skipped(serve):
    _, pool = serve(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)
    assert pool.request("POST", "/", {}, b"x").status == 200


def test_a_kept_connection_the_upstream_closed_is_replaced_before_a_request_is_sent_on_it(serve):
    # The upstream answers as if it kept the connection, then closes it (its keep-alive timeout).
    server, pool = serve(and_close(OK), OK)
    pool.request("GET", "/", {}, None)
    assert select.select([pool._idle[0].sock], [], [], 5)[0]  # the upstream's close has arrived
    assert pool.request("POST", "/", {}, b"x").data == b"{}"  # sent on a new connection, not lost on the old
    assert len(server.requests) == 2
    assert server.accepted == 2


def test_an_idle_connection_older_than_the_limit_is_not_used(serve):
    server, pool = serve(OK, OK)
    pool.max_idle = 0.0
    pool.request("GET", "/", {}, None)
    pool.request("GET", "/", {}, None)
    assert server.accepted == 2


def test_no_listener_is_connect_failed():
    pool = ConnectionPool("127.0.0.1", free_port(), maxsize=1, connect_timeout=1.0, read_timeout=1.0)
    with pytest.raises(ConnectFailed):
        pool.request("POST", "/", {}, b"x")


def test_no_answer_in_time_is_read_timed_out(serve):
    _, pool = serve(HANG)
    pool.read_timeout = 0.2
    with pytest.raises(ReadTimedOut):
        pool.request("GET", "/", {}, None)


@pytest.mark.parametrize(
    "answer",
    [
        CLOSE,
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nContent-Len",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    ],
)
def test_an_answer_cut_short_is_connection_lost(serve, answer):
    _, pool = serve(answer)
    with pytest.raises(ConnectionLost):
        pool.request("GET", "/", {}, None)


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * MAX_LINE + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X: a\r\n" * (MAX_HEADERS + 1) + b"\r\n",
    ],
)
def test_an_answer_that_is_not_http_is_bad_response(serve, answer):
    _, pool = serve(answer)
    with pytest.raises(BadResponse):
        pool.request("GET", "/", {}, None)


class HeldServer:
    """Answers ``OK`` to every request, the first one only once ``release`` is set; counts connections open at once."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.release = threading.Event()
        self.first_read = threading.Event()
        self.lock = threading.Lock()
        self.open_now = self.most_open = self.accepted = self.answered = 0
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.open_now += 1
                self.most_open = max(self.most_open, self.open_now)
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, connection):
        reader = connection.makefile("rb")
        try:
            while True:
                if read_head(reader) is None:
                    return
                if not self.first_read.is_set():
                    self.first_read.set()
                    self.release.wait(10)
                connection.sendall(OK)
                with self.lock:
                    self.answered += 1
        except OSError:
            return
        finally:
            with self.lock:
                self.open_now -= 1
            reader.close()
            connection.close()

    def stop(self):
        self.release.set()
        self.listener.close()
        for thread in self.threads[1:]:
            thread.join(5)


@pytest.fixture
def held_server():
    server = HeldServer()
    yield server
    server.stop()


def _record(results, pool):
    try:
        results.append(pool.request("GET", "/", {}, None))
    except Exception as exc:  # handed to the test's assertions
        results.append(exc)


def test_with_one_connection_allowed_a_second_request_waits_for_it_and_both_are_answered(held_server):
    pool = ConnectionPool("127.0.0.1", held_server.port, maxsize=1, connect_timeout=10.0, read_timeout=10.0)
    second_waits = threading.Event()
    wait = pool._freed.wait

    def waiting(timeout=None):  # the second request found the only connection in use
        second_waits.set()
        return wait(timeout)

    pool._freed.wait = waiting
    results = []
    first = threading.Thread(target=_record, args=(results, pool))
    first.start()
    assert held_server.first_read.wait(10)
    second = threading.Thread(target=_record, args=(results, pool))
    second.start()
    # Without the bound the second request opens a connection of its own and this is never set.
    second_waits.wait(5)
    held_server.release.set()
    first.join(10)
    second.join(10)

    assert [getattr(result, "status", result) for result in results] == [200, 200]
    assert second_waits.is_set()
    assert (held_server.accepted, held_server.most_open, pool.open_connections) == (1, 1, 1)


def test_a_request_that_finds_no_free_connection_within_the_connect_timeout_fails_as_connect_failed(held_server):
    pool = ConnectionPool("127.0.0.1", held_server.port, maxsize=1, connect_timeout=0.2, read_timeout=10.0)
    results = []
    first = threading.Thread(target=_record, args=(results, pool))
    first.start()
    assert held_server.first_read.wait(10)

    with pytest.raises(ConnectFailed) as raised:
        pool.request("GET", "/", {}, None)

    assert isinstance(raised.value, PoolExhausted)
    assert held_server.accepted == 1
    held_server.release.set()
    first.join(10)
    assert [getattr(result, "status", result) for result in results] == [200]
    # The connection came back: the next request is answered on it.
    assert pool.request("GET", "/", {}, None).status == 200
    assert held_server.accepted == 1


def test_a_failed_connect_or_a_lost_connection_frees_its_place_in_the_pool(serve):
    pool = ConnectionPool("127.0.0.1", free_port(), maxsize=1, connect_timeout=0.5, read_timeout=1.0)
    for _ in range(2):
        with pytest.raises(ConnectFailed) as raised:
            pool.request("GET", "/", {}, None)
        assert not isinstance(raised.value, PoolExhausted)
    assert pool.open_connections == 0

    server, pool = serve(CLOSE, OK)
    pool.maxsize = 1
    with pytest.raises(ConnectionLost):
        pool.request("GET", "/", {}, None)
    assert pool.open_connections == 0
    assert pool.request("GET", "/", {}, None).status == 200
    assert pool.open_connections == 1


def test_under_gevent_an_idle_connection_is_checked_with_the_systems_poll_not_geventss(tmp_path):
    script = """
from gevent import monkey
monkey.patch_all()
import socket
import gevent.select
from gateway import upstream_http

assert upstream_http._poll is monkey.get_original("select", "poll"), upstream_http._poll
assert upstream_http._poll is not gevent.select.poll
ours, theirs = socket.socketpair()
connection = upstream_http._Connection(ours)
assert not connection.dropped()
theirs.close()
assert connection.dropped()
print("ok")
"""
    gateway_project = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=gateway_project, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr
