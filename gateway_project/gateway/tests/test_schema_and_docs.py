"""``/api/schema/``: the services' documents merged into the public one; ``/api/docs/``: Swagger UI, offline."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from common.internal_auth import InternalAuthError, verify_internal
from gateway import docs

from .conftest import json_answer

ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}
OK = {"description": "ok"}
USERS_DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "Users service", "version": "1.0.0"},
    "paths": {
        "/api/register": {"post": {"operationId": "register", "security": [{"internal": []}], "responses": {
            "201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
            "400": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "503": {"description": "auth failed", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Error"}}}},
        }}},
        "/api/profile": {
            "get": {"operationId": "profile_get", "responses": {"200": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/User"}}}}}},
            "put": {"operationId": "profile_update", "responses": {"200": {"description": "ok"}}},
            "parameters": [],
        },
        "/api/profile/preferences": {"get": {"operationId": "preferences_get", "responses": {"200": OK}}},
        "/internal/users/{id}": {"delete": {"operationId": "internal_delete", "responses": {"204": OK}}},
    },
    "components": {
        "schemas": {
            "User": {"type": "object", "properties": {"id": {"type": "integer"}, "email": {"type": "string"}}},
            "Error": ERROR,
        },
        "securitySchemes": {"internal": {"type": "apiKey", "in": "header", "name": "X-Internal-Auth"}},
    },
}
AUTH_DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "Auth service", "version": "1.0.0"},
    "paths": {
        "/api/login": {"post": {"operationId": "login", "security": [], "responses": {
            "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
            "401": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        }}},
        "/api/logout": {"post": {"operationId": "logout", "responses": {"200": {"description": "ok"}}}},
        "/api/schema/auth": {"get": {"operationId": "schema", "responses": {"200": {"description": "ok"}}}},
    },
    "components": {
        "schemas": {
            # Same name, different thing: the auth service's "User" is a credential.
            "User": {"type": "object", "properties": {"id": {"type": "integer"}, "last_login": {"type": "string"}}},
            "Error": ERROR,  # the same thing: kept once
        },
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
}
ROUTES = {
    "/api/register": "users",
    "/api/profile": {"upstream": "users", "auth": "token", "edge": True},
    "/api/login": "auth",
    "/api/logout": {"upstream": "auth", "auth": "token"},
}


def schema_service(name: str, document: dict):
    """An upstream publishing ``document`` at ``/api/schema/<name>`` to the gateway only."""

    def respond(received):
        if received.target != f"/api/schema/{name}":
            return json_answer(404, {"error": "Not found"})
        try:
            verify_internal(received.header("X-Internal-Auth") or "", name, method="GET", path=received.target)
        except InternalAuthError:
            return json_answer(401, {"error": "Requests must come through the gateway"})
        return json_answer(200, document)

    return respond


@pytest.fixture
def services(start_upstream):
    users = start_upstream(schema_service("users", USERS_DOCUMENT))
    auth = start_upstream(schema_service("auth", AUTH_DOCUMENT))
    with override_settings(GATEWAY_UPSTREAMS={"users": users.url, "auth": auth.url}, GATEWAY_ROUTES=ROUTES):
        yield users, auth


def test_the_public_document_merges_what_each_service_serves(client, services):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/health", "/api/register", "/api/profile", "/api/profile/preferences", "/api/login", "/api/logout",
    }
    # Each service was asked once, with the gateway's credential for it.
    users, auth = services
    assert [r.target for r in users.received] == ["/api/schema/users"]
    assert [r.target for r in auth.received] == ["/api/schema/auth"]


def test_operations_state_the_security_the_gateway_enforces(client, services):
    document = client.get("/api/schema/").json()
    paths = document["paths"]

    assert document["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    protected = [
        ("/api/profile", "get"), ("/api/profile", "put"), ("/api/profile/preferences", "get"), ("/api/logout", "post")
    ]
    for path, method in protected:
        operation = paths[path][method]
        assert operation["security"] == [{"bearerAuth": []}], (path, method)
        assert {"401", "403"} <= set(operation["responses"]), (path, method)
    for path, method in [("/api/register", "post"), ("/api/login", "post"), ("/api/health", "get")]:
        assert paths[path][method]["security"] == [], (path, method)
    assert paths["/api/profile"]["parameters"] == []


def test_operations_state_what_the_gateway_answers_itself(client, services):
    paths = client.get("/api/schema/").json()["paths"]
    operations = [(path, method, operation) for path, item in paths.items() for method, operation in item.items()
                  if method != "parameters"]

    for path, method, operation in operations:
        too_many = operation["responses"]["429"]
        assert too_many["headers"]["Retry-After"]["schema"]["type"] == "integer", (path, method)
        assert too_many["content"]["application/json"]["schema"]["required"] == ["error"], (path, method)
        if path != "/api/health":  # forwarded: the service may fail it
            assert {"502", "503", "504"} <= set(operation["responses"]), (path, method)
    # A status the service describes itself keeps the service's description.
    register_503 = USERS_DOCUMENT["paths"]["/api/register"]["post"]["responses"]["503"]
    assert paths["/api/register"]["post"]["responses"]["503"] == register_503
    # GETs of an edge route may be answered from a copy (gateway.edge); other operations never are.
    for path in ("/api/profile", "/api/profile/preferences"):
        read = paths[path]["get"]
        assert read["parameters"][-1]["name"] == "If-None-Match", path
        assert read["responses"]["200"]["headers"]["ETag"]["required"] is True, path
        assert read["responses"]["304"]["headers"]["ETag"]["required"] is True, path
    assert "304" not in paths["/api/profile"]["put"]["responses"]
    assert "parameters" not in paths["/api/login"]["post"]
    health = paths["/api/health"]["get"]["responses"]
    assert health["503"]["content"]["application/json"]["schema"]["properties"]["status"]["enum"] == ["UNAVAILABLE"]


def test_with_edge_reads_off_no_operation_promises_a_304(client, services):
    with override_settings(GATEWAY_EDGE_READS=False):
        paths = client.get("/api/schema/").json()["paths"]

    assert not [path for path, item in paths.items() for operation in item.values()
                if isinstance(operation, dict) and "304" in operation.get("responses", {})]
    assert "headers" not in paths["/api/profile"]["get"]["responses"]["200"]


def test_components_are_merged_and_a_clash_is_renamed_with_its_references(client, services):
    document = client.get("/api/schema/").json()
    schemas = document["components"]["schemas"]
    paths = document["paths"]

    assert schemas["Error"] == ERROR
    assert schemas["User"] == USERS_DOCUMENT["components"]["schemas"]["User"]
    assert schemas["AuthUser"] == AUTH_DOCUMENT["components"]["schemas"]["User"]
    login_ok = paths["/api/login"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    profile_ok = paths["/api/profile"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert login_ok == {"$ref": "#/components/schemas/AuthUser"}
    assert profile_ok == {"$ref": "#/components/schemas/User"}
    assert paths["/api/login"]["post"]["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    # Every reference points at a component the document has.
    refs = set(re.findall(r'"\$ref": "([^"]+)"', client.get("/api/schema/").content.decode()))
    assert refs <= {f"#/components/schemas/{name}" for name in schemas}


def test_the_document_is_kept_for_a_while(client, services):
    first = client.get("/api/schema/").json()
    second = client.get("/api/schema").json()  # without the slash too

    assert first == second
    users, auth = services
    assert len(users.received) == len(auth.received) == 1


def test_with_a_service_down_what_is_available_is_served(client, start_upstream, closed_url):
    auth = start_upstream(schema_service("auth", AUTH_DOCUMENT))
    with override_settings(GATEWAY_UPSTREAMS={"users": closed_url, "auth": auth.url}, GATEWAY_ROUTES=ROUTES):
        response = client.get("/api/schema/")

    assert response.status_code == 200
    document = response.json()
    assert set(document["paths"]) == {"/api/health", "/api/login", "/api/logout"}
    assert document["x-unavailable-services"] == ["users"]


@pytest.mark.parametrize(
    "respond",
    [
        lambda received: json_answer(500, {"error": "Internal server error"}),
        lambda received: (200, [("Content-Type", "text/html")], b"<html>not a document</html>"),
        lambda received: json_answer(200, {"openapi": "3.0.3"}),  # no paths
    ],
    ids=["error", "html", "no-paths"],
)
def test_a_service_answering_something_else_counts_as_down(client, start_upstream, respond):
    users, auth = start_upstream(respond), start_upstream(schema_service("auth", AUTH_DOCUMENT))
    with override_settings(GATEWAY_UPSTREAMS={"users": users.url, "auth": auth.url}, GATEWAY_ROUTES=ROUTES):
        document = client.get("/api/schema/").json()

    assert document["x-unavailable-services"] == ["users"]
    assert "/api/register" not in document["paths"]


def test_with_every_service_down_it_is_a_json_503(client, closed_url):
    with override_settings(GATEWAY_UPSTREAMS={"users": closed_url, "auth": closed_url}, GATEWAY_ROUTES=ROUTES):
        response = client.get("/api/schema/")

    assert response.status_code == 503
    assert response.json() == {"error": "Service unavailable"}


def test_the_schema_is_the_gateways_own_even_when_a_service_owns_all_of_api(client, start_upstream):
    users = start_upstream(schema_service("users", USERS_DOCUMENT))
    with override_settings(
        GATEWAY_UPSTREAMS={"users": users.url},
        GATEWAY_ROUTES={"/api": "users"},
        GATEWAY_SCHEMA_SOURCES={"users": "/api/schema/users"},
    ):
        schema = client.get("/api/schema/")
        page = client.get("/api/docs/")

    assert schema.status_code == 200 and "/api/health" in schema.json()["paths"]
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert [r.target for r in users.received] == ["/api/schema/users"]


# THE DOCS PAGE
# ------------------------------------------------------------------------------


def test_the_docs_page_loads_only_files_the_gateway_serves(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert not re.search(r"(https?:)?//", page), "no external URL"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert set(assets) == {
        "/api/docs/swagger-ui.css",
        "/api/docs/favicon-32x32.png",
        "/api/docs/swagger-ui-bundle.js",
        "/api/docs/swagger-init.js",
    }
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        body = b"".join(served.streaming_content) if served.streaming else served.content
        name = asset.rsplit("/", 1)[1]
        if name in docs.SWAGGER_UI_FILES:
            assert body == (docs.SWAGGER_UI_DIR / name).read_bytes()
            assert served["Content-Type"] == docs.SWAGGER_UI_FILES[name]


def test_the_page_points_swagger_ui_at_the_public_document_and_nowhere_else(client):
    script = client.get("/api/docs/swagger-init.js").content.decode()

    assert 'url: "/api/schema/"' in script
    assert "validatorUrl: null" in script  # no calls to the online validator
    assert not re.search(r"https?://", script)


def test_the_docs_page_has_a_policy_allowing_only_its_own_origin(client):
    policy = client.get("/api/docs/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))

    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "http" not in policy


def test_an_unknown_docs_file_is_a_json_404(client):
    for path in ("/api/docs/swagger-ui-bundle.js.map", "/api/docs/..%2f..%2fsettings.py", "/api/docs/LICENSE"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"error": "Not found"}


# THE GATEWAY'S OWN ENDPOINTS: wrong methods are JSON 405s
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/health", "/ready", "/api/health", "/api/schema/",
        "/api/docs/", "/api/docs/swagger-ui.css", "/api/docs/swagger-init.js",
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_a_wrong_method_on_a_gateway_endpoint_is_a_json_405(client, path, method):
    response = client.generic(method, path, data=b"{}", content_type="application/json")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Method not allowed"}
    assert response["Allow"] == "GET, HEAD"
