"""The gateway's own middleware: answers' lengths, request metrics by route, rate limits, a CSP on JSON answers."""

from __future__ import annotations

from django.conf import settings

from common import metrics

from . import ratelimits, routing, views


# Answers that carry no body: a Content-Length there would have to be the full answer's (RFC 9110 section 8.6).
NO_BODY_STATUSES = frozenset({204, 304})


class ContentLengthMiddleware:
    """``Content-Length`` on every answer whose body the gateway holds whole, so none is sent chunked.

    gunicorn frames an HTTP/1.1 answer without a length in chunks: a further
    send for the last chunk, and a chunk parser at the client. A streamed
    answer (a docs file) is left as it is; a ``HEAD`` answer, a 204 and a 304
    carry no body, and get no length rather than a wrong one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not (
            response.streaming
            or request.method == "HEAD"
            or response.status_code in NO_BODY_STATUSES
            or response.has_header("Content-Length")
        ):
            response.headers["Content-Length"] = str(len(response.content))
        return response


class MetricsMiddleware(metrics.MetricsMiddleware):
    """``common.metrics.MetricsMiddleware``, with a forwarded request labelled by its route table prefix.

    Every forwarded path matches the proxy's catch-all URL pattern, which would
    lump them together: ``/api/profile`` and ``/api/login`` are told apart by the
    route that owns them instead (``unmatched`` when none does).
    """

    def route_label(self, request) -> str:
        match = request.resolver_match or metrics.resolve_quietly(request)
        if match is None:
            return metrics.UNMATCHED
        if match.func is not views.proxy_view:
            return match.route
        # The route the proxy's view resolved, when it ran (resolved here otherwise: a preflight, a 413).
        route = request.gateway_route if hasattr(request, "gateway_route") else routing.resolve(request.path)
        return route.prefix if route is not None else metrics.UNMATCHED


class RateLimitMiddleware:
    """429 ``{"error": "Too many requests"}`` with ``Retry-After`` once a client is over a limit.

    A request for the proxy has its limits counted by the proxy's view, in the
    round trip that reads what else it needs (``gateway.views.proxy_view``);
    any other request here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        limits = ratelimits.limits_for(request)
        if view_func is views.proxy_view:
            request.rate_limits = limits
            return None
        try:
            ratelimits.count_then_read(limits, [])
        except ratelimits.TooManyRequests as refusal:
            return ratelimits.too_many_requests(refusal.retry_after)
        return None


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
