"""Middleware every project installs first: the request id."""

from __future__ import annotations

from common.request_context import REQUEST_ID_HEADER, accept_request_id, request_id_var


class RequestIdMiddleware:
    """Adopts or creates the request id, exposes it to logs, echoes it back.

    The gateway creates the id (or keeps a well-formed one from the client); the
    services receive it from the gateway, so one id follows a request everywhere.
    gunicorn's access log (``common.gunicorn_conf``) logs each request once,
    reading the id from the response header set here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            request_id_var.reset(token)
