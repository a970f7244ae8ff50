"""One error shape for every layer of every service: ``{"error": "<message>"}``.

The legacy monolith answered errors as ``{"error": "..."}`` (and validation as
``{"errors": [...]}``); the frontends read those. Django's own error pages
(404, 500, CSRF) and DRF's exceptions are turned into the same JSON here, so
no layer ever answers with HTML or a traceback.
"""

from __future__ import annotations

import functools
import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error a view raises to answer with ``{"error": message}`` and ``status``."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers
        if status is not None:
            self.status = status


def legacy_field_error(path: str, msg: str = "Invalid value", value=None) -> dict:
    """One entry of express-validator's error list, as the monolith answered it.

    ``value`` is left out for password fields (and whenever it is ``None``): a
    password never travels back in a response.
    """
    entry = {"type": "field", "msg": msg, "path": path, "location": "body"}
    if value is not None and "password" not in path.lower() and _encodable(value):
        entry["value"] = value
    return entry


def _encodable(value) -> bool:
    # A lone surrogate ("\ud800") parses from JSON but cannot be written back as UTF-8.
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class LegacyValidationError(ApiError):
    """Invalid input, answered 400 ``{"errors": [...]}`` in express-validator's shape."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__("Validation failed", status=400)
        self.errors = errors


def error_response(message: str, status: int, headers: dict | None = None) -> JsonResponse:
    """A plain Django JSON error, for code that runs outside DRF."""
    return JsonResponse({"error": message}, status=status, headers=headers)


_DRF_MESSAGES = {
    drf_exceptions.ParseError: "Malformed request body",
    drf_exceptions.UnsupportedMediaType: "Unsupported media type",
    drf_exceptions.NotAuthenticated: "Authentication required",
    drf_exceptions.AuthenticationFailed: "Authentication failed",
    drf_exceptions.PermissionDenied: "Permission denied",
    drf_exceptions.NotFound: "Not found",
    drf_exceptions.MethodNotAllowed: "Method not allowed",
    drf_exceptions.NotAcceptable: "Not acceptable",
    drf_exceptions.Throttled: "Too many requests",
}


# The database could not do the work now: unreachable, a connection lost or closed (a server restarted, an
# address moved in a failover), a lock or a deadlock. Not a bug in the request: a retry may well succeed.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def api_exception_handler(exc, context):
    """DRF ``EXCEPTION_HANDLER``: every error becomes ``{"error": ...}`` JSON; the database failing, a 503."""
    if isinstance(exc, LegacyValidationError):
        return Response({"errors": exc.errors}, status=400)
    if isinstance(exc, ApiError):
        return Response({"error": exc.message}, status=exc.status, headers=exc.headers)
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response({"errors": _legacy_errors(exc.detail, context)}, status=400)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.error("database unavailable", exc_info=exc)
        return Response({"error": "Service unavailable"}, status=503)
    response = drf_exception_handler(exc, context)
    if response is None:
        # Not an API exception: log it with its traceback, answer without internals.
        logger.exception("unhandled error", exc_info=exc)
        return Response({"error": "Internal server error"}, status=500)
    message = next((text for cls, text in _DRF_MESSAGES.items() if isinstance(exc, cls)), None)
    response.data = {"error": message or str(getattr(exc, "detail", "Error"))}
    return response


def allow_methods(*methods: str):
    """Like Django's ``require_http_methods``, but the 405 is JSON with an ``Allow`` header."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return error_response("Method not allowed", 405, headers={"Allow": ", ".join(methods)})
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _legacy_errors(detail, context) -> list[dict]:
    """A serializer's errors as express-validator's list, the submitted value beside each."""
    request = context.get("request")
    data = getattr(request, "data", None)
    submitted = data if isinstance(data, dict) else {}
    if not isinstance(detail, dict):
        return [legacy_field_error("body", str(message)) for message in _flatten(detail)]
    errors = []
    for field, messages in detail.items():
        for message in _flatten(messages):
            value = submitted.get(field)
            errors.append(legacy_field_error(field, str(message), value if isinstance(value, (str, int, bool)) else None))
    return errors


def _flatten(messages) -> list:
    if isinstance(messages, dict):
        return [message for value in messages.values() for message in _flatten(value)]
    if isinstance(messages, (list, tuple)):
        return [message for value in messages for message in _flatten(value)]
    return [messages]


# Django's handler400/403/404/500 and CSRF_FAILURE_VIEW, as JSON.


def bad_request(request, exception=None):
    return error_response("Bad request", 400)


def permission_denied(request, exception=None):
    return error_response("Permission denied", 403)


def page_not_found(request, exception=None):
    return error_response("Not found", 404)


def server_error(request):
    return error_response("Internal server error", 500)


def csrf_failure(request, reason=""):
    return error_response("CSRF verification failed", 403)
