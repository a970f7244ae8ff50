"""Middleware every project installs first: the request id, and the bound on a request body."""

from __future__ import annotations

from django.conf import settings

from common.errors import error_response
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


class BodySizeLimitMiddleware:
    """413 JSON for a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``, before anything reads it.

    Django itself would raise ``RequestDataTooBig`` wherever the body is first
    read (a 400, or a 500 in code that does not expect it). A body without a
    ``Content-Length`` (chunked) is not read by Django at all.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            return error_response("Request body too large", 413)
        return self.get_response(request)
