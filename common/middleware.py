"""Middleware every project installs first: request id and the access log."""

from __future__ import annotations

import logging
import time

from common.log import monotonic_ms
from common.request_context import REQUEST_ID_HEADER, accept_request_id, request_id_var

access_log = logging.getLogger("access")


class RequestIdMiddleware:
    """Adopts or creates the request id, exposes it to logs, echoes it back, logs the request.

    The gateway creates the id (or keeps a well-formed one from the client); the
    services receive it from the gateway, so one id follows a request everywhere.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        start = time.monotonic()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": monotonic_ms(start),
                },
            )
            return response
        finally:
            request_id_var.reset(token)
