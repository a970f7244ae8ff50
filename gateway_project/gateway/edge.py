"""Edge reads: a user's own GET answered from a copy in Redis while the copy is provably current.

A route opts in (``{"upstream": ..., "auth": "token", "edge": True}`` in
``GATEWAY_ROUTES``). For a ``GET`` on it the gateway reads, in the same round
trip as the token's revocation state, the user's current revision and its copy
of the answer (``common.edge``). The copy is served when its revision equals the
current one; otherwise the request is forwarded, and an answer the service
marked with the revision it was read at (``X-Edge-Revision``) is kept for next
time. The gateway knows nothing of what the answers mean: the service says what
may be kept and under which revision, the gateway stores, validates and serves.
Every answer of an edge route carries a strong ``ETag``; a matching
``If-None-Match`` gets a ``304``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import redis
from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags

from common import edge
from common.revocation import client_for

from .metrics import edge_read
from .routing import Route

logger = logging.getLogger(__name__)

# An answer larger than this is forwarded every time rather than kept.
MAX_COPY_BYTES = 64 * 1024
# The service's headers a copy keeps; the gateway's middleware sets the rest on every answer.
KEPT_HEADERS = ("Content-Type", "Cache-Control")
HIT, MISS, NOT_MODIFIED = "hit", "miss", "not_modified"


@dataclass(frozen=True, slots=True)
class Copy:
    """A kept answer: the revision its data was read at, its ``ETag``, its kept headers and its body."""

    revision: int
    etag: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def encode(self) -> bytes:
        head = "\n".join([str(self.revision), self.etag, *(f"{name}: {value}" for name, value in self.headers)])
        return head.encode("latin-1") + b"\n\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> Copy | None:
        """The copy ``raw`` holds; ``None`` for anything else (a copy from another release, say)."""
        head, separator, body = raw.partition(b"\n\n")
        lines = head.decode("latin-1").split("\n")
        if not separator or len(lines) < 2 or not lines[0].isdigit():
            return None
        headers = tuple(tuple(line.split(": ", 1)) for line in lines[2:] if ": " in line)
        return cls(revision=int(lines[0]), etag=lines[1], headers=headers, body=body)


class EdgeRead:
    """One ``GET`` on an edge route by an authenticated user: its keys, what Redis held, and what to do."""

    def __init__(self, route: Route, user_id: int, target: str):
        self.route = route
        self.revision_key = edge.revision_key(route.upstream, user_id)
        self.copy_key = edge.copy_key(route.upstream, user_id, target)
        self.current: bytes | None = None
        self.copy: Copy | None = None

    @property
    def keys(self) -> list[str]:
        """What to read with the token's revocation state: the current revision, then the copy."""
        return [self.revision_key, self.copy_key]

    def found(self, values: list) -> Copy | None:
        """Take what Redis held for ``keys``; the copy when it is current, else ``None``."""
        self.current, raw = values
        if self.current is None or raw is None:
            return None
        copy = Copy.decode(raw)
        if copy is None or str(copy.revision).encode() != self.current:
            return None
        self.copy = copy
        return copy

    def known_revision(self) -> str:
        """``X-Internal-Edge-Revision`` for the forwarded request: the current revision read, or "none"."""
        return self.current.decode() if self.current is not None else edge.UNKNOWN

    def serve(self, request, copy: Copy) -> HttpResponse:
        """The copy as the answer (a 304 when the client holds it already)."""
        if _client_has(request, copy.etag):
            edge_read(self.route.prefix, NOT_MODIFIED)
            return _not_modified(copy.etag, copy.headers)
        edge_read(self.route.prefix, HIT)
        response = HttpResponse(copy.body)
        for name, value in copy.headers:
            response[name] = value
        response["ETag"] = copy.etag
        return response

    def keep(self, request, response: HttpResponse) -> HttpResponse:
        """A forwarded answer, kept when the service marked it keepable; with its ``ETag``, or a 304."""
        edge_read(self.route.prefix, MISS)
        revision = response.get(edge.REVISION_HEADER)
        if revision is not None:
            del response[edge.REVISION_HEADER]  # the service's word to the gateway alone
        if response.status_code != 200 or response.streaming:
            return response
        body = response.content
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        response["ETag"] = etag
        headers = tuple((name, response[name]) for name in KEPT_HEADERS if name in response)
        if revision is not None and revision.isdigit() and len(body) <= MAX_COPY_BYTES:
            copy = Copy(revision=int(revision), etag=etag, headers=headers, body=body)
            try:
                client_for(settings.REDIS_URL).set(self.copy_key, copy.encode(), ex=settings.GATEWAY_EDGE_TTL)
            except redis.RedisError as exc:
                logger.warning("edge copy not kept", extra={"route": self.route.prefix, "error": str(exc)})
        if _client_has(request, etag):
            return _not_modified(etag, headers)
        return response


def edge_read_for(request, route: Route, user_id: int) -> EdgeRead | None:
    """The edge read of this request, or ``None`` when it is not one (edge reads off, another method, another route)."""
    if not (route.edge and request.method == "GET" and settings.GATEWAY_EDGE_READS):
        return None
    return EdgeRead(route, user_id, request.get_full_path())


def _client_has(request, etag: str) -> bool:
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    # Weak comparison, as RFC 9110 section 13.1.2 asks of If-None-Match.
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in parse_etags(header))


def _not_modified(etag: str, headers: tuple[tuple[str, str], ...]) -> HttpResponse:
    response = HttpResponseNotModified()
    response["ETag"] = etag
    for name, value in headers:
        if name != "Content-Type":
            response[name] = value
    return response
