"""The gateway's own endpoints, and the catch-all that proxies everything else."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse, JsonResponse

from common.errors import allow_methods, error_response
from common.health import utc_timestamp

from . import docs, health, proxy, routing, schema
from .authentication import EdgeAuthError, authenticate


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

    On a token-protected route the token is checked here; the service learns
    who the user is from the gateway's signed header, never from the client.
    """
    route = routing.resolve(request.path)
    if route is None:
        return error_response("Not found", 404)
    identity = None
    if route.token_required:
        try:
            identity = authenticate(request)
        except EdgeAuthError as refusal:
            return error_response(refusal.message, refusal.status)
    return proxy.forward(request, route, identity)
