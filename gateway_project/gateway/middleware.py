"""The gateway's own middleware: rate limits before anything else runs, a CSP on JSON answers."""

from __future__ import annotations

from django.conf import settings

from common.errors import error_response

from . import ratelimits


class RateLimitMiddleware:
    """429 ``{"error": "Too many requests"}`` with ``Retry-After`` once a client is over a limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        wait = ratelimits.retry_after(request)
        if wait is not None:
            return error_response("Too many requests", 429, headers={"Retry-After": str(wait)})
        return self.get_response(request)


class ApiContentSecurityPolicyMiddleware:
    """A JSON answer without a policy of its own gets ``GATEWAY_API_CSP``: nothing may load from it.

    HTML the gateway serves (the docs page) and whatever the services' admin
    pages send keep their own policy.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and "json" in response.get("Content-Type", ""):
            response["Content-Security-Policy"] = settings.GATEWAY_API_CSP
        return response
