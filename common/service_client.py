"""Calling a peer service over HTTP: JSON in, JSON out, signed, with firm timeouts.

One ``urllib3.PoolManager`` per process keeps connections to peers open between
calls; it is made on first use, and again in a forked child (gunicorn and
Celery workers fork after import), so no socket is ever shared between
processes. Every call carries ``X-Internal-Auth`` signed for the peer with this
service as issuer, and the request id of the work in progress.

An HTTP answer, whatever its status, is returned as ``ServiceResponse``; the
caller decides what a status means. No answer is an exception, split by what
the caller may conclude about the peer's state:

- ``ServiceUnreachable``: the connection could not be made, so the request was
  never sent and the peer did nothing;
- ``ServiceOutcomeUnknown``: the request was sent but no complete answer came
  back in time, so the peer may have done the work (or may still be doing it).

Bodies are never logged: they may carry a password on its way to the auth service.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError, NewConnectionError

from common.internal_auth import INTERNAL_AUTH_HEADER, sign_internal
from common.request_context import REQUEST_ID_HEADER, current_request_id

logger = logging.getLogger(__name__)

_pool: urllib3.PoolManager | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


class ServiceUnavailable(Exception):
    """A peer service gave no HTTP answer."""

    def __init__(self, service: str, method: str, path: str, cause: Exception) -> None:
        super().__init__(f"{service}: {method} {path} failed: {type(cause).__name__}")
        self.service = service
        self.cause = cause


class ServiceUnreachable(ServiceUnavailable):
    """The connection could not be made: the request was never sent."""


class ServiceOutcomeUnknown(ServiceUnavailable):
    """The request was sent but no complete answer arrived (timeout, dropped connection, garbage)."""


class ServiceResponse(NamedTuple):
    """A peer's HTTP answer: its status and its JSON body (``None`` when empty or not JSON)."""

    status: int
    data: Any


def pool() -> urllib3.PoolManager:
    """This process's connection pool, made on first use and remade after a fork."""
    global _pool, _pool_pid
    pid = os.getpid()
    with _pool_lock:
        if _pool is None or _pool_pid != pid:
            _pool = urllib3.PoolManager(
                num_pools=8,
                maxsize=8,
                block=False,
                # Retry a failed connect only: the request never left, so even a
                # POST is safe to send again. Never once it may have arrived.
                retries=urllib3.Retry(total=1, connect=1, read=0, redirect=0, status=0, other=0),
            )
            _pool_pid = pid
        return _pool


class ServiceClient:
    """Calls one peer service at ``base_url``, as ``settings.SERVICE_NAME``, for ``audience``."""

    def __init__(self, base_url: str, *, audience: str, connect_timeout: float, read_timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.audience = audience
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)

    def request(self, method: str, path: str, *, json_body: Any = None) -> ServiceResponse:
        """Send one request; its answer, or ``ServiceUnreachable`` / ``ServiceOutcomeUnknown``."""
        url = self.base_url + path
        # Made for this request: the path the peer will see, without the query.
        signed = sign_internal(self.audience, issuer=settings.SERVICE_NAME, method=method, path=urlsplit(url).path)
        headers = {"Accept": "application/json", INTERNAL_AUTH_HEADER: signed}
        request_id = current_request_id()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        try:
            answer = pool().request(
                method,
                url,
                body=body,
                headers=headers,
                timeout=self.timeout,
                redirect=False,
                preload_content=True,
            )
        except (MaxRetryError, HTTPError) as exc:
            raise self._failure(method, path, exc) from exc
        return ServiceResponse(answer.status, _json_or_none(answer.data))

    def _failure(self, method: str, path: str, exc: Exception) -> ServiceUnavailable:
        cause = exc.reason if isinstance(exc, MaxRetryError) and exc.reason else exc
        never_sent = isinstance(cause, (NewConnectionError, ConnectTimeoutError))
        kind = ServiceUnreachable if never_sent else ServiceOutcomeUnknown
        logger.warning(
            "service call failed",
            extra={"peer": self.audience, "method": method, "path": path, "error": type(cause).__name__},
        )
        return kind(self.audience, method, path, cause)


def _json_or_none(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None
