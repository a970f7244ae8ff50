"""A lean HTTP/1.1 client for forwarding: kept-alive connections per upstream address, nothing else.

Every forwarded request passes through here, so it does only what forwarding
needs: write the request, read the status line, the header lines and the body
(by ``Content-Length``, chunked, or to the end of the connection), and keep the
connection for the next request when HTTP/1.1 allows it: a fraction of the CPU
urllib3 over ``http.client`` spends (docs/performance.md). Redirects, retries,
decompression and proxies are not forwarding's business: the gateway relays what
the upstream said.

Failures are told apart the way ``forward`` decides what to do next:
``ConnectFailed`` (nothing was sent; ``PoolExhausted`` when no connection of
the pool came free in time), ``ReadTimedOut``, ``ConnectionLost`` (the connection
ended before a whole answer) and ``BadResponse`` (not HTTP).
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass

from common.green import system_poll

# Bounds on what an upstream may send before its body.
MAX_LINE = 65536
MAX_HEADERS = 100

# A header name is a token (RFC 9110, 5.1); a value has no control characters but tab (5.5). Anything else
# could not be relayed: Django refuses a name that is not ASCII, and a value with a CR or LF, as a server error.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]").search
# Methods whose request always carries a length, even an empty one (as http.client sends them).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_NO_BODY_STATUSES = frozenset({204, 304})


class UpstreamError(Exception):
    """An exchange with an upstream address that gave no usable answer."""


class ConnectFailed(UpstreamError):
    """No connection could be made (refused, unreachable, or not accepted in time): nothing was sent."""


class PoolExhausted(ConnectFailed):
    """Every connection the pool may open was in use for the whole connect timeout: nothing was sent.

    The address is busy, not gone: the proxy answers as for a refused connection
    but does not skip the address.
    """


class ReadTimedOut(UpstreamError):
    """The upstream did not answer within the read timeout."""


class ConnectionLost(UpstreamError):
    """The connection broke or ended before the whole answer came: the request may have been received."""


class BadResponse(UpstreamError):
    """The upstream answered something that is not HTTP/1.x."""


# A look at an idle connection never waits: the system's poll, not gevent's (common.green.system_poll).
_poll = system_poll()

# An answer's header fields: the lower-cased name -> [the name as first sent, the value of each line in order].
Fields = dict[str, list[str]]


def _joined(fields: Fields, lowered: str) -> str | None:
    """The field's lines as one comma-separated list (RFC 9110 section 5.3); ``None`` when absent."""
    found = fields.get(lowered)
    return None if found is None else ", ".join(found[1:])


@dataclass
class UpstreamResponse:
    status: int
    fields: Fields
    data: bytes

    def header(self, name: str) -> str | None:
        """The field ``name`` (any case), its lines joined as one list (RFC 9110 section 5.3); ``None`` when absent."""
        return _joined(self.fields, name.lower())

    def header_values(self, name: str) -> list[str]:
        """Each line's value of the field ``name`` (any case): ``Set-Cookie`` is never joined."""
        return self.fields.get(name.lower(), [""])[1:]


class _Connection:
    __slots__ = ("sock", "reader", "idle_since")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.idle_since = 0.0

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def dropped(self) -> bool:
        """Whether the peer closed (or wrote to) this idle connection: readable means unusable."""
        poller = _poll()
        try:
            poller.register(self.sock, select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True


class ConnectionPool:
    """Connections to one address (``host:port``, over TLS with ``tls``), shared by a process's threads or greenlets.

    At most ``maxsize`` connections are open at once, in use or idle: under
    gunicorn's gevent worker nothing else bounds how many requests of a worker
    are in flight (a greenlet per client connection), and each connection is a
    database connection in the service behind. A request finding all of them in
    use waits (cooperatively under gevent) for one to come free, at most the
    connect timeout, and then fails with ``PoolExhausted`` (a ``ConnectFailed``).

    Idle connections are kept last-in first-out, and never longer than
    ``max_idle`` seconds (less than the upstream keeps them: gunicorn's
    ``GUNICORN_KEEPALIVE``), so a request rarely meets one the upstream has just
    closed.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: bool = False,
        maxsize: int,
        connect_timeout: float,
        read_timeout: float,
        max_idle: float = 20.0,
    ):
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.host = host
        self.port = port
        self.host_header = f"{host}:{port}"
        self.tls_context = ssl.create_default_context() if tls else None
        self.maxsize = maxsize
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_idle
        self._idle: deque[_Connection] = deque()
        # Connections open (idle or in use), requests waiting for one to come free; both under the lock.
        self._open = 0
        self._waiting = 0
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)

    @property
    def open_connections(self) -> int:
        """How many connections are open, idle or in use (at most ``maxsize``)."""
        return self._open

    def request(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> UpstreamResponse:
        """Send one request and read its whole answer."""
        connection = self._take()
        try:
            connection.sock.sendall(_request_head(method, target, self.host_header, headers, body) + (body or b""))
            response, reusable = _read_response(connection.reader, method)
        except TimeoutError as exc:
            self._discard(connection)
            raise ReadTimedOut(f"no answer from {self.host_header} in {self.read_timeout} s") from exc
        except OSError as exc:
            self._discard(connection)
            raise ConnectionLost(f"{self.host_header}: {exc}") from exc
        except BaseException:  # UpstreamError, or the request interrupted (a greenlet killed): the slot comes back
            self._discard(connection)
            raise
        if reusable:
            self._give_back(connection)
        else:
            self._discard(connection)
        return response

    def clear(self) -> None:
        """Close every idle connection."""
        with self._lock:
            while self._idle:
                self._idle.pop().close()
                self._open -= 1
            if self._waiting:
                self._freed.notify_all()

    def _take(self) -> _Connection:
        deadline = None
        with self._lock:
            while True:
                now = time.monotonic()
                while self._idle:
                    connection = self._idle.pop()
                    if now - connection.idle_since < self.max_idle and not connection.dropped():
                        return connection
                    connection.close()
                    self._open -= 1
                if self._open < self.maxsize:
                    self._open += 1  # this request's, from here until its connection is closed
                    break
                if deadline is None:
                    deadline = now + self.connect_timeout
                remaining = deadline - now
                if remaining <= 0:
                    raise PoolExhausted(
                        f"{self.host_header}: all {self.maxsize} connections in use for {self.connect_timeout} s"
                    )
                self._waiting += 1
                try:
                    self._freed.wait(remaining)
                finally:
                    self._waiting -= 1
        sock = None
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
            if self.tls_context is not None:
                sock = self.tls_context.wrap_socket(sock, server_hostname=self.host)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.read_timeout)
            return _Connection(sock)
        except BaseException as exc:
            if sock is not None:
                sock.close()
            self._release()
            if isinstance(exc, OSError):  # refused, unreachable, unknown host, not accepted in time, TLS refused
                raise ConnectFailed(f"{self.host_header}: {exc}") from exc
            raise

    def _release(self) -> None:
        """One connection fewer open: a waiting request may open one."""
        with self._lock:
            self._open -= 1
            if self._waiting:
                self._freed.notify()

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._release()

    def _give_back(self, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        with self._lock:
            self._idle.append(connection)
            if self._waiting:
                self._freed.notify()


def _request_head(method: str, target: str, host: str, headers: dict[str, str], body: bytes | None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    if body is not None or method in _BODY_METHODS:
        lines.append(f"Content-Length: {len(body or b'')}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


def _read_line(reader) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise BadResponse("a line longer than the limit")
    if line and not line.endswith(b"\n"):
        raise ConnectionLost("the connection closed in the middle of a line")
    return line


def _read_response(reader, method: str) -> tuple[UpstreamResponse, bool]:
    """The answer on ``reader`` (interim 1xx answers skipped), and whether the connection may be reused."""
    while True:
        status_line = _read_line(reader)
        if not status_line:
            raise ConnectionLost("the connection closed before an answer")
        version, status = _parse_status_line(status_line)
        fields = _read_fields(reader)
        if not 100 <= status < 200:
            break
    connection_options = {option.strip().lower() for option in (_joined(fields, "connection") or "").split(",")}
    reusable = version == "HTTP/1.1" and "close" not in connection_options
    if method == "HEAD" or status in _NO_BODY_STATUSES:
        return UpstreamResponse(status, fields, b""), reusable
    if "chunked" in (_joined(fields, "transfer-encoding") or "").lower():
        return UpstreamResponse(status, fields, _read_chunked(reader)), reusable
    length = _joined(fields, "content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise BadResponse("an invalid Content-Length")
        data = reader.read(int(length))
        if len(data) < int(length):
            raise ConnectionLost("the connection closed in the middle of the body")
        return UpstreamResponse(status, fields, data), reusable
    return UpstreamResponse(status, fields, reader.read()), False  # to the end of the connection


def _parse_status_line(line: bytes) -> tuple[str, int]:
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or parts[0] not in ("HTTP/1.1", "HTTP/1.0") or not (parts[1].isdigit() and len(parts[1]) == 3):
        raise BadResponse(f"not an HTTP status line: {line[:40]!r}")
    return parts[0], int(parts[1])


def _read_fields(reader) -> Fields:
    """The header lines, up to the empty one. The per-line work is inlined: every forwarded answer has a dozen."""
    fields: Fields = {}
    for _ in range(MAX_HEADERS + 1):
        line = reader.readline(MAX_LINE)
        if line == b"\r\n" or line == b"\n":
            return fields
        if not line.endswith(b"\n"):
            if len(line) >= MAX_LINE:
                raise BadResponse("a line longer than the limit")
            raise ConnectionLost("the connection closed in the middle of the headers")
        name, colon, value = line.decode("latin-1").partition(":")
        value = value.strip()
        if not colon or not _TOKEN(name) or _CONTROL(value):
            raise BadResponse(f"not a header line: {line[:40]!r}")
        lowered = name.lower()
        found = fields.get(lowered)
        if found is None:
            fields[lowered] = [name, value]
        else:
            found.append(value)
    raise BadResponse("more header lines than the limit")


def _read_chunked(reader) -> bytes:
    chunks = []
    while True:
        size_line = _read_line(reader)
        if not size_line:
            raise ConnectionLost("the connection closed in the middle of the body")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise BadResponse("an invalid chunk size") from exc
        if size == 0:
            break
        chunk = reader.read(size)
        if len(chunk) < size or reader.read(2) != b"\r\n":
            raise ConnectionLost("the connection closed in the middle of a chunk")
        chunks.append(chunk)
    while (line := _read_line(reader)) not in (b"\r\n", b"\n"):  # trailers: not relayed
        if not line:
            raise ConnectionLost("the connection closed in the middle of the trailers")
    return b"".join(chunks)
