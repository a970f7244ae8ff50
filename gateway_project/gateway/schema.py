"""``GET /api/schema/``: the public OpenAPI 3 document, merged from the services' own.

Each service publishes the part of the API it serves (``GATEWAY_SCHEMA_SOURCES``,
asked with the gateway's internal credential). The gateway keeps the paths it
routes (a service's internal paths stay out), merges the components (a name two
services use for different things is prefixed with the service's name), marks
each operation with the security the gateway enforces for its route and the
answers it gives itself (token refusals, rate limits, a failing service, edge
reads' 304s), and adds its own ``/api/health``. The result is kept in memory for
``GATEWAY_SCHEMA_CACHE_SECONDS``; a document missing a service that did not
answer is kept for a few seconds only.
"""

from __future__ import annotations

import json
import logging
import threading
import time

import urllib3
from django.conf import settings

from common.internal_auth import INTERNAL_AUTH_HEADER, sign_internal
from common.request_context import REQUEST_ID_HEADER, current_request_id

from .proxy import ISSUER, pool
from .routing import Route, balancers, resolve

logger = logging.getLogger(__name__)

BEARER_SCHEME = "bearerAuth"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# How long a document missing a service is served before the services are asked again.
PARTIAL_CACHE_SECONDS = 10.0

_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
_ERROR_CONTENT = {"application/json": {"schema": _ERROR_SCHEMA}}
TOKEN_REFUSALS = {
    "401": {"description": "No access token: `Access token required`.", "content": _ERROR_CONTENT},
    "403": {"description": "Invalid, expired or revoked token: `Invalid or expired token`.", "content": _ERROR_CONTENT},
}
# What the gateway answers itself, on every path it serves (gateway.ratelimits).
RATE_LIMITED = {
    "429": {
        "description": "Over a rate limit: `Too many requests`.",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer", "minimum": 1}}},
        "content": _ERROR_CONTENT,
    }
}
# ... and on every path it forwards, when the service fails it (gateway.proxy).
UPSTREAM_FAILURES = {
    "502": {"description": "The service's answer was not HTTP: `Bad gateway`.", "content": _ERROR_CONTENT},
    "503": {"description": "The service cannot be reached: `Service unavailable`.", "content": _ERROR_CONTENT},
    "504": {"description": "The service did not answer in time: `Upstream timed out`.", "content": _ERROR_CONTENT},
}

# ... and on a GET of an edge route, where it keeps copies of users' answers (gateway.edge).
_ETAG = {"description": "The answer's strong validator.", "required": True, "schema": {"type": "string"}}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "ETags of answers the client holds: a 304 when one is the current answer.",
    "schema": {"type": "string"},
}
NOT_MODIFIED = {"304": {"description": "The answer the client holds is current.", "headers": {"ETag": _ETAG}}}


def _health_content(status: str) -> dict:
    return {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": [status]},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "services": {"type": "object", "additionalProperties": {"type": "object"}},
                    "dependencies": {"type": "object", "additionalProperties": {"type": "object"}},
                },
                "required": ["status", "timestamp"],
            }
        }
    }


HEALTH_PATH = {
    "get": {
        "operationId": "health",
        "summary": "Whether the API and everything behind it is up",
        "tags": ["health"],
        "security": [],
        "responses": {
            "200": {"description": "Every part is up.", "content": _health_content("OK")},
            "503": {
                "description": "A part is down: `services` and `dependencies` name it.",
                "content": _health_content("UNAVAILABLE"),
            },
            **RATE_LIMITED,
        },
    }
}

_lock = threading.Lock()
_cached: tuple[float, dict] | None = None  # (monotonic expiry, document)


def public_schema() -> dict | None:
    """The merged document, or ``None`` when no service answered."""
    global _cached
    cached = _cached
    if cached and cached[0] > time.monotonic():
        return cached[1]
    with _lock:  # one worker thread asks the services; the others wait for its answer
        if _cached and _cached[0] > time.monotonic():
            return _cached[1]
        parts = {upstream: part for upstream, part in _fetch_parts().items() if part is not None}
        if not parts:
            return None
        missing = sorted(set(settings.GATEWAY_SCHEMA_SOURCES) - set(parts))
        document = merge(parts, missing)
        lifetime = PARTIAL_CACHE_SECONDS if missing else settings.GATEWAY_SCHEMA_CACHE_SECONDS
        _cached = (time.monotonic() + lifetime, document)
        return document


def clear_cache() -> None:
    global _cached
    _cached = None


def _fetch_parts() -> dict[str, dict | None]:
    return {
        upstream: fetch_part(upstream, path)
        for upstream, path in settings.GATEWAY_SCHEMA_SOURCES.items()
        if upstream in settings.GATEWAY_UPSTREAMS
    }


def fetch_part(upstream: str, path: str) -> dict | None:
    """One service's OpenAPI document, or ``None`` when it has none to give right now.

    Asked of the upstream's addresses in the balancer's order, the next one only
    when the connection to the last could not be made.
    """
    timeout = settings.GATEWAY_SCHEMA_TIMEOUT
    headers = {
        # drf-spectacular answers YAML unless asked for JSON.
        "Accept": "application/vnd.oai.openapi+json, application/json;q=0.9",
        INTERNAL_AUTH_HEADER: sign_internal(upstream, issuer=ISSUER, method="GET", path=path),
    }
    if request_id := current_request_id():
        headers[REQUEST_ID_HEADER] = request_id
    try:
        response = _get(upstream, path, headers, timeout)
    except urllib3.exceptions.HTTPError as exc:
        logger.warning("schema unavailable", extra={"upstream": upstream, "error": type(exc).__name__})
        return None
    document = _parse(response) if response.status == 200 else None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        logger.warning("schema unavailable", extra={"upstream": upstream, "status": response.status})
        return None
    return document


def _get(upstream: str, path: str, headers: dict, timeout: float):
    """The answer of the first of ``upstream``'s addresses that takes the connection; else the last error."""
    balancer = balancers()[upstream]
    for address in balancer.attempt_order():
        try:
            response = pool().request(
                "GET",
                address.url + path,
                headers=headers,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                retries=False,
            )
        except urllib3.exceptions.ConnectTimeoutError as exc:  # never sent: ask the next address
            balancer.connect_failed(address, exc)
            error = exc
            continue
        balancer.connected(address)
        return response
    raise error


def _parse(response) -> object:
    try:
        return json.loads(response.data)
    except ValueError:
        return None


def merge(parts: dict[str, dict], missing: list[str]) -> dict:
    """One document from the services' ``parts``; ``missing`` names those left out."""
    components: dict[str, dict] = {
        "securitySchemes": {BEARER_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    }
    paths: dict[str, dict] = {"/api/health": HEALTH_PATH}
    for upstream, part in parts.items():
        part = _without_conflicts(upstream, part, components)
        for section, entries in (part.get("components") or {}).items():
            # A service's own security schemes describe how the gateway calls it, not clients.
            if section != "securitySchemes" and isinstance(entries, dict):
                components.setdefault(section, {}).update(entries)
        for path, item in part["paths"].items():
            route = resolve(path)
            if route is not None:  # a path no route reaches is internal to the service
                paths[path] = _as_served(item, route)
    document = {
        "openapi": "3.0.3",
        "info": {
            "title": "Accounts API",
            "version": "1.0.0",
            "description": "The public API, as the gateway serves it. Protected operations take "
            "`Authorization: Bearer <access token>`. Text fields refuse the NUL character (`\\u0000`).",
        },
        "paths": dict(sorted(paths.items())),
        "components": components,
    }
    if missing:
        document["x-unavailable-services"] = missing
    return document


def _as_served(item: dict, route: Route) -> dict:
    """A path item whose operations state the security the gateway enforces and the answers it gives itself.

    A service's own description of a status (its 503, its 401) is kept.
    """
    served = {}
    for key, operation in item.items():
        if key in HTTP_METHODS and isinstance(operation, dict):
            edge = {**(TOKEN_REFUSALS if route.token_required else {}), **RATE_LIMITED, **UPSTREAM_FAILURES}
            operation = {
                **operation,
                "security": [{BEARER_SCHEME: []}] if route.token_required else [],
                "responses": {**edge, **(operation.get("responses") or {})},
            }
            if key == "get" and route.edge and settings.GATEWAY_EDGE_READS:
                operation = _edge_read(operation)
        served[key] = operation
    return served


def _edge_read(operation: dict) -> dict:
    """A GET the gateway may answer from a copy: its 200 has an ``ETag``, a matching ``If-None-Match`` gets a 304."""
    responses = dict(operation["responses"])
    if "200" in responses:
        responses["200"] = {**responses["200"], "headers": {**responses["200"].get("headers", {}), "ETag": _ETAG}}
    return {
        **operation,
        "parameters": [*operation.get("parameters", []), IF_NONE_MATCH],
        "responses": {**responses, **NOT_MODIFIED},
    }


def _without_conflicts(upstream: str, part: dict, merged: dict[str, dict]) -> dict:
    """``part`` with each component that clashes with a merged one of the same name renamed, references too."""
    renames = {}
    for section, entries in (part.get("components") or {}).items():
        if section == "securitySchemes" or not isinstance(entries, dict):
            continue
        for name, value in entries.items():
            if name in merged.get(section, {}) and merged[section][name] != value:
                renames[f"#/components/{section}/{name}"] = (section, name, f"{upstream.capitalize()}{name}")
    if not renames:
        return part
    part = _rewrite_refs(part, {ref: f"#/components/{section}/{new}" for ref, (section, _, new) in renames.items()})
    components = {section: dict(entries) for section, entries in part["components"].items()}
    for section, name, new in renames.values():
        components[section][new] = components[section].pop(name)
    return {**part, "components": components}


def _rewrite_refs(node, refs: dict[str, str]):
    if isinstance(node, dict):
        return {
            key: refs.get(value, value) if key == "$ref" and isinstance(value, str) else _rewrite_refs(value, refs)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(value, refs) for value in node]
    return node
