"""Forwarding through the gateway to real upstreams, and every way an upstream can fail."""

from __future__ import annotations

import json
import re

import pytest
from django.test import override_settings

from gateway import proxy

from .conftest import json_answer


def routed_to(upstream_url: str, **extra):
    """Settings that send every ``/api`` path to one upstream called "users"."""
    return override_settings(GATEWAY_UPSTREAMS={"users": upstream_url}, GATEWAY_ROUTES={"/api": "users"}, **extra)


def assert_json_error(response, status: int, message: str) -> None:
    """A gateway error: the status, ``{"error": message}`` as JSON, nothing else."""
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": message}
    assert b"<" not in response.content
    assert b"Traceback" not in response.content


# FORWARDING
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_method_path_query_and_body_arrive_unchanged(client, echo_upstream, method):
    body = b'{"theme": "dark", "bytes": "\xc3\xa9"}' if method != "GET" else b""
    with routed_to(echo_upstream.url):
        response = client.generic(
            method,
            "/api/profile/preferences?lang=en&q=a%20b&q=c",
            data=body,
            content_type="application/json; charset=utf-8",
        )

    assert response.status_code == 200
    [received] = echo_upstream.received
    assert received.method == method
    assert received.target == "/api/profile/preferences?lang=en&q=a%20b&q=c"
    assert received.body == body
    if body:  # the test client sends a Content-Type only with a body
        assert received.header_values("Content-Type") == ["application/json; charset=utf-8"]
        assert received.header_values("Content-Length") == [str(len(body))]
    else:
        assert received.header("Content-Length") in (None, "0")


def test_binary_body_arrives_byte_for_byte(client, echo_upstream):
    body = bytes(range(256)) * 4
    with routed_to(echo_upstream.url):
        response = client.post("/api/upload", data=body, content_type="application/octet-stream")

    assert response.status_code == 200
    [received] = echo_upstream.received
    assert received.body == body
    assert received.header("Content-Type") == "application/octet-stream"
    assert received.header("Content-Length") == str(len(body))


def test_client_headers_arrive(client, echo_upstream):
    with routed_to(echo_upstream.url):
        client.get(
            "/api/profile",
            headers={
                "Authorization": "Bearer some.jwt.token",
                "Accept": "application/json",
                "Accept-Language": "fr",
                "X-Custom-Header": "custom value",
                "Cookie": "refresh=abc",
            },
        )

    [received] = echo_upstream.received
    assert received.header("Authorization") == "Bearer some.jwt.token"
    assert received.header("Accept") == "application/json"
    assert received.header("Accept-Language") == "fr"
    assert received.header("X-Custom-Header") == "custom value"
    assert received.header("Cookie") == "refresh=abc"
    # The upstream is addressed as itself, not by the public host name.
    assert received.header("Host") == f"127.0.0.1:{echo_upstream.port}"


def test_hop_by_hop_headers_are_not_forwarded(client, echo_upstream):
    with routed_to(echo_upstream.url):
        client.get(
            "/api/profile",
            headers={
                "Connection": "keep-alive, X-Connection-Only",
                "Keep-Alive": "timeout=5, max=100",
                "TE": "trailers",
                "Upgrade": "websocket",
                "Trailer": "X-Checksum",
                "Transfer-Encoding": "chunked",
                "Proxy-Authorization": "Basic Z2F0ZXdheTpzZWNyZXQ=",
                "Proxy-Connection": "keep-alive",
                "X-Connection-Only": "named by Connection, so hop-by-hop too",
                "X-End-To-End": "kept",
            },
        )

    [received] = echo_upstream.received
    for name in (
        "keep-alive",
        "te",
        "upgrade",
        "trailer",
        "transfer-encoding",
        "proxy-authorization",
        "proxy-connection",
        "x-connection-only",
    ):
        assert name not in received.header_names, name
    # Whatever Connection header the gateway's own client sends is its own, not the client's.
    assert "X-Connection-Only" not in (received.header("Connection") or "")
    assert received.header("X-End-To-End") == "kept"


def test_forwarding_headers_are_set(client, echo_upstream):
    with routed_to(echo_upstream.url):
        client.get(
            "/api/profile",
            headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "ftp"},
        )
        client.get("/api/profile", secure=True)

    first, second = echo_upstream.received
    assert first.header_values("X-Forwarded-For") == ["203.0.113.7, 127.0.0.1"]
    assert first.header_values("X-Forwarded-Host") == ["testserver"]
    assert first.header_values("X-Forwarded-Proto") == ["http"]
    assert second.header_values("X-Forwarded-For") == ["127.0.0.1"]
    assert second.header_values("X-Forwarded-Proto") == ["https"]


def test_the_client_address_the_gateway_determined_goes_upstream_as_x_real_ip(client, echo_upstream, settings):
    with routed_to(echo_upstream.url):
        client.get("/api/profile", headers={"X-Real-IP": "198.51.100.1", "X-Forwarded-For": "203.0.113.7"})
        settings.GATEWAY_TRUSTED_PROXY_COUNT = 1
        client.get("/api/profile", headers={"X-Real-IP": "198.51.100.1", "X-Forwarded-For": "203.0.113.7"})

    untrusted, behind_a_proxy = echo_upstream.received
    # A client's own X-Real-IP never reaches a service: the gateway's word replaces it.
    assert untrusted.header_values("X-Real-IP") == ["127.0.0.1"]
    assert behind_a_proxy.header_values("X-Real-IP") == ["203.0.113.7"]


def test_a_well_formed_client_request_id_is_kept_end_to_end(client, start_upstream):
    # The upstream answers with an id of its own; the client still sees the gateway's.
    upstream = start_upstream(lambda received: json_answer(200, {}, [("X-Request-ID", "upstream-made-this")]))
    with routed_to(upstream.url):
        response = client.get("/api/profile", headers={"X-Request-ID": "client-id.42:abc"})

    [received] = upstream.received
    assert received.header_values("X-Request-ID") == ["client-id.42:abc"]
    assert response["X-Request-ID"] == "client-id.42:abc"


@pytest.mark.parametrize("sent", [None, "has spaces in it", "x" * 129, "semi;colon"])
def test_the_gateway_makes_a_request_id_when_the_client_has_no_usable_one(client, echo_upstream, sent):
    headers = {"X-Request-ID": sent} if sent is not None else {}
    with routed_to(echo_upstream.url):
        response = client.get("/api/profile", headers=headers)

    [received] = echo_upstream.received
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert received.header_values("X-Request-ID") == [request_id]


def test_the_upstream_status_body_and_headers_come_back(client, start_upstream):
    body = b'{"id": 7, "name": "Ada"}'
    upstream = start_upstream(
        lambda received: (
            201,
            [
                ("Content-Type", "application/json"),
                ("Location", "/api/profile/7"),
                ("Cache-Control", "no-store"),
                ("X-Upstream-Version", "3.1"),
                ("Vary", "Accept"),
                ("Vary", "Authorization"),
            ],
            body,
        )
    )
    with routed_to(upstream.url):
        response = client.post("/api/profile", data={"name": "Ada"}, content_type="application/json")

    assert response.status_code == 201
    assert response.content == body
    assert response["Content-Type"] == "application/json"
    assert response["Location"] == "/api/profile/7"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Upstream-Version"] == "3.1"
    # A field sent on two lines is one list (RFC 9110 section 5.3): neither value is lost;
    # the gateway's CORS handling adds its own (the answer depends on the Origin).
    assert [value.strip() for value in response["Vary"].split(",")] == ["Accept", "Authorization", "origin"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_answer_carries_its_length_and_is_not_chunked(client, start_upstream, method):
    body = b'{"id": 7, "name": "Ada"}'
    upstream = start_upstream(lambda received: (200, [("Content-Type", "application/json")], body))
    with routed_to(upstream.url):
        response = client.generic(method, "/api/profile")

    assert response.content == body
    assert response["Content-Length"] == str(len(body))
    assert not response.has_header("Transfer-Encoding")


def test_the_gateways_own_answers_carry_their_length(client, echo_upstream):
    with routed_to(echo_upstream.url):
        missing = client.get("/nowhere")

    assert missing.status_code == 404
    assert missing["Content-Length"] == str(len(missing.content))


@pytest.mark.parametrize("status", [204, 304])
def test_an_answer_without_a_body_gets_no_length(client, start_upstream, status):
    upstream = start_upstream(lambda received: (status, [("ETag", '"v1"')], b""))
    with routed_to(upstream.url):
        response = client.get("/api/profile")

    assert response.status_code == status
    assert not response.has_header("Content-Length")


def test_an_answer_to_head_gets_no_length_of_its_empty_body(client, echo_upstream):
    with routed_to(echo_upstream.url):
        response = client.head("/api/profile")

    assert response.status_code == 200
    assert not response.has_header("Content-Length")


def test_hop_by_hop_headers_of_the_answer_are_not_relayed(client, start_upstream):
    upstream = start_upstream(
        lambda received: json_answer(
            200,
            {},
            [
                ("Connection", "keep-alive, X-Upstream-Hop"),
                ("Keep-Alive", "timeout=5"),
                ("Upgrade", "h2c"),
                ("X-Upstream-Hop", "for the gateway only"),
                ("X-End-To-End", "kept"),
            ],
        )
    )
    with routed_to(upstream.url):
        response = client.get("/api/profile")

    assert response.status_code == 200
    for name in ("Connection", "Keep-Alive", "Upgrade", "X-Upstream-Hop"):
        assert not response.has_header(name), name
    assert response["X-End-To-End"] == "kept"


def test_the_upstreams_server_and_date_are_left_to_the_gateways_server(client, start_upstream):
    upstream = start_upstream(lambda received: json_answer(200, {}, [("Server", "gunicorn"), ("Date", "Sun, 06 Dec 2026")]))
    with routed_to(upstream.url):
        response = client.get("/api/profile")

    assert response.status_code == 200
    assert not response.has_header("Server") and not response.has_header("Date")


def test_every_cookie_the_upstream_sets_reaches_the_client(client, start_upstream):
    upstream = start_upstream(
        lambda received: json_answer(
            200,
            {"ok": True},
            [
                ("Set-Cookie", "sessionid=abc123; Path=/; HttpOnly; SameSite=Lax"),
                ("Set-Cookie", "csrftoken=xyz789; Path=/; Max-Age=31449600; SameSite=Lax"),
                ("Set-Cookie", "refresh=r.t.k; Path=/api/token; HttpOnly; Secure; SameSite=Strict"),
            ],
        )
    )
    with routed_to(upstream.url):
        response = client.post("/api/login", data={}, content_type="application/json")

    assert response.status_code == 200
    assert set(response.cookies) == {"sessionid", "csrftoken", "refresh"}
    session, csrf, refresh = response.cookies["sessionid"], response.cookies["csrftoken"], response.cookies["refresh"]
    assert (session.value, session["path"], session["httponly"], session["samesite"]) == ("abc123", "/", True, "Lax")
    assert (csrf.value, csrf["max-age"], csrf["httponly"]) == ("xyz789", "31449600", "")
    assert (refresh.value, refresh["path"], refresh["secure"], refresh["samesite"]) == (
        "r.t.k",
        "/api/token",
        True,
        "Strict",
    )
    # The test client, like a browser, now holds all three.
    assert {name: morsel.value for name, morsel in client.cookies.items()} == {
        "sessionid": "abc123",
        "csrftoken": "xyz789",
        "refresh": "r.t.k",
    }


def test_sequential_requests_reuse_one_kept_alive_connection(client, echo_upstream):
    with routed_to(echo_upstream.url):
        first = client.get("/api/profile")
        second = client.post("/api/profile", data={"a": 1}, content_type="application/json")
        third = client.get("/api/register")

    assert [first.status_code, second.status_code, third.status_code] == [200, 200, 200]
    assert len(echo_upstream.received) == 3
    assert echo_upstream.connections_accepted == 1
    assert len({received.client_port for received in echo_upstream.received}) == 1


# FAILURES: always JSON, never HTML or a traceback
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_nothing_listening_is_503(client, closed_url, method):
    with routed_to(closed_url):
        response = client.generic(method, "/api/profile", data=b"{}", content_type="application/json")

    assert_json_error(response, 503, "Service unavailable")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_upstream_that_never_answers_is_504_and_the_request_is_not_sent_twice(client, hanging_upstream, method):
    with routed_to(hanging_upstream.url, GATEWAY_READ_TIMEOUT=0.3):
        response = client.generic(method, "/api/login", data=b'{"u": 1}', content_type="application/json")

    assert_json_error(response, 504, "Upstream timed out")
    # The request may have been acted upon: it is never retried.
    assert hanging_upstream.connections_accepted == 1


def test_an_upstream_answering_garbage_is_502(client, garbage_upstream):
    with routed_to(garbage_upstream.url):
        response = client.get("/api/profile")

    assert_json_error(response, 502, "Bad gateway")
    assert garbage_upstream.connections_accepted == 1


@pytest.mark.parametrize(
    "header",
    [("X-Ünïcode", "1"), ("X Spaced", "1"), ("X-Null", "a\x00b"), ("X-Split", "a\rb"), ("X-Escape", "\x1b[31m")],
    ids=["non-ascii name", "space in name", "NUL in value", "CR in value", "escape in value"],
)
def test_an_upstream_header_that_cannot_be_relayed_is_502_not_a_server_error(client, start_upstream, header):
    upstream = start_upstream(lambda received: json_answer(200, {"ok": True}, [header]))
    with routed_to(upstream.url):
        response = client.get("/api/profile")

    assert_json_error(response, 502, "Bad gateway")


def test_an_upstream_header_value_with_latin_1_and_tabs_is_relayed(client, start_upstream):
    upstream = start_upstream(lambda received: json_answer(200, {"ok": True}, [("X-Note", "café\tcrème")]))
    with routed_to(upstream.url):
        response = client.get("/api/profile")

    assert response.status_code == 200
    assert response["X-Note"] == "café\tcrème"


@pytest.mark.parametrize(
    "status, message",
    [(500, "Internal Server Error"), (404, "Not Found"), (502, "Bad Gateway"), (418, "I'm a Teapot")],
)
def test_an_html_error_page_keeps_its_status_and_becomes_json(client, start_upstream, status, message):
    page = (
        b"<!DOCTYPE html><html><head><title>Error</title></head><body><pre>"
        b"Traceback (most recent call last):\n  File \"/srv/legacy/app.js\", line 12\n"
        b"TypeError: cannot read properties of undefined</pre></body></html>"
    )
    upstream = start_upstream(
        lambda received: (status, [("Content-Type", "text/html; charset=utf-8"), ("X-Powered-By", "Express")], page)
    )
    with routed_to(upstream.url):
        response = client.get("/api/profile")

    assert_json_error(response, status, message)
    assert not response.has_header("X-Powered-By")


def test_an_error_without_content_type_becomes_json(client, start_upstream):
    upstream = start_upstream(lambda received: (500, [], b"Internal error: db down at 10.0.0.3"))
    with routed_to(upstream.url):
        response = client.get("/api/profile")

    assert_json_error(response, 500, "Internal Server Error")


def test_an_unknown_path_is_a_json_404_and_reaches_no_upstream(client, echo_upstream):
    with routed_to(echo_upstream.url):
        response = client.get("/not/routed/anywhere")
        apis = client.get("/apis")

    assert_json_error(response, 404, "Not found")
    assert_json_error(apis, 404, "Not found")
    assert echo_upstream.received == []


@pytest.mark.parametrize(
    "status, payload, extra_headers",
    [
        (401, {"error": "Invalid credentials"}, [("WWW-Authenticate", 'Bearer realm="api"')]),
        (400, {"errors": [{"field": "email", "message": "Email is required"}]}, []),
        (409, {"error": "Email already registered"}, []),
        (429, {"error": "Too many requests"}, [("Retry-After", "30")]),
    ],
)
def test_a_json_error_from_the_upstream_passes_through_unchanged(
    client, start_upstream, status, payload, extra_headers
):
    upstream = start_upstream(lambda received: json_answer(status, payload, extra_headers))
    with routed_to(upstream.url):
        response = client.post("/api/login", data={}, content_type="application/json")

    assert response.status_code == status
    assert response.content == json.dumps(payload).encode()
    for name, value in extra_headers:
        assert response[name] == value



def test_connections_to_the_monolith_are_dropped_before_its_keep_alive_ends():
    with override_settings(GATEWAY_UPSTREAM_MAX_IDLE={"legacy": 4.0}):
        legacy, _ = proxy.upstream_pool("http://127.0.0.1:3900", "legacy")
        users, _ = proxy.upstream_pool("http://127.0.0.1:8001", "users")

    assert (legacy.max_idle, users.max_idle) == (4.0, proxy.DEFAULT_MAX_IDLE)
