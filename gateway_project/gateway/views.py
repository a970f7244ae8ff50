"""The gateway's own endpoints, and the catch-all that proxies everything else."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpResponse, JsonResponse

from common.edge import KNOWN_REVISION_HEADER, REVISION_HEADER
from common.errors import allow_methods, error_response
from common.health import utc_timestamp

from . import docs, edge, health, proxy, routing, schema
from .authentication import EdgeAuthError, authenticate
from .ratelimits import TooManyRequests, count_then_read, too_many_requests

# What a frozen route still forwards: reads, which change nothing the final catch-up must copy.
FROZEN_ALLOWED_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@allow_methods("GET", "HEAD")
def api_health(request):
    """Legacy ``{"status": "OK", "timestamp"}``, plus each part's state; 503 when one is down."""
    healthy, report = health.system_health()
    body = {"status": "OK" if healthy else "UNAVAILABLE", "timestamp": utc_timestamp(), **report}
    return JsonResponse(body, status=200 if healthy else 503)


@allow_methods("GET", "HEAD")
def api_schema(request):
    """The public OpenAPI 3 document; 503 when no service could give its part."""
    document = schema.public_schema()
    if document is None:
        return error_response("Service unavailable", 503)
    return JsonResponse(document)


@allow_methods("GET", "HEAD")
def api_docs(request):
    """Swagger UI for ``/api/schema/``, working offline."""
    return HttpResponse(
        docs.PAGE, content_type="text/html; charset=utf-8", headers={"Content-Security-Policy": docs.PAGE_CSP}
    )


@allow_methods("GET", "HEAD")
def api_docs_asset(request, name: str):
    """One file the docs page loads: its start-up script, or a Swagger UI file from the sidecar package."""
    cache = {"Cache-Control": f"public, max-age={docs.ASSET_MAX_AGE}"}
    if name == "swagger-init.js":
        return HttpResponse(docs.INIT_SCRIPT, content_type="text/javascript; charset=utf-8", headers=cache)
    content_type = docs.SWAGGER_UI_FILES.get(name)
    if content_type is None:
        return error_response("Not found", 404)
    return FileResponse((docs.SWAGGER_UI_DIR / name).open("rb"), content_type=content_type, headers=cache)


def proxy_view(request, path=""):
    """Every public path not served above: to the upstream that owns it, or 404.

    The request's rate limits are counted here (``RateLimitMiddleware`` leaves
    them to this view), in the same Redis round trip as whatever else it reads.
    """
    route = request.gateway_route = routing.resolve(request.path)  # the metrics' label too
    if route is not None and route.frozen and request.method not in FROZEN_ALLOWED_METHODS:
        return _frozen()
    limits = list(getattr(request, "rate_limits", ()))
    try:
        if route is not None and route.token_required:
            return _protected(request, route, limits)
        count_then_read(limits, [])
    except TooManyRequests as refusal:
        return too_many_requests(refusal.retry_after)
    if route is None:
        return error_response("Not found", 404)
    return _relayed(proxy.forward(request, route))


def _frozen():
    """A write on a frozen route: the cutover's final catch-up is under way; the client tries again shortly."""
    response = error_response("Service unavailable", 503)
    response["Retry-After"] = str(settings.GATEWAY_FROZEN_RETRY_AFTER)
    return response


def _protected(request, route: routing.Route, limits: list):
    """A token-protected route: checked here, the service learning who the user is from the gateway's signed word.

    On an edge route a current copy of the user's answer is served instead of
    forwarding (``gateway.edge``), looked up in the token check's round trip.
    """
    edge_read = None

    def edge_keys(identity):
        nonlocal edge_read
        edge_read = edge.edge_read_for(request, route, identity.user_id)
        return edge_read.keys if edge_read else []

    try:
        identity, edge_values = authenticate(request, limits, extra_keys=edge_keys)
    except EdgeAuthError as refusal:
        return error_response(refusal.message, refusal.status)
    if edge_read is None:
        return _relayed(proxy.forward(request, route, identity))
    copy = edge_read.found(edge_values)
    if copy is not None:
        return edge_read.serve(request, copy)
    told = {KNOWN_REVISION_HEADER: edge_read.known_revision()}
    response = proxy.forward(request, route, identity, extra_headers=told)
    return edge_read.keep(request, response)


def _relayed(response):
    """An upstream's answer without the word a service gives the gateway alone."""
    if response.has_header(REVISION_HEADER):
        del response[REVISION_HEADER]
    return response
