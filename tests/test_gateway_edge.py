"""What the gateway itself adds in front of the services, seen from outside: identity, CORS, headers, docs."""

from __future__ import annotations

import json
import re

import jwt
import pytest

from accounts import PASSWORD, call, call_raw, internal_assertion, new_account

ORIGIN = "https://app.example.com"


@pytest.fixture
def gateway(running_system) -> str:
    system, _ = running_system
    return system.gateway_url


# IDENTITY: only the gateway says who the user is
# ------------------------------------------------------------------------------


def test_identity_a_client_claims_in_headers_is_ignored(running_system, gateway):
    victim, attacker = new_account(gateway, "victim", name="Victim"), new_account(gateway, "attacker", name="Attacker")
    # Even a well-signed credential naming the victim (a leaked key, say) is dropped at the edge.
    spoofed = internal_assertion(running_system[0], "gateway", "users", "GET", "/api/profile", user_id=victim["id"])
    headers = {"X-Internal-Auth": spoofed, "X-User-Id": str(victim["id"]), "X-User-Email": victim["email"]}

    status, _, body = call(gateway, "GET", "/api/profile", token=attacker["token"], headers=headers)
    assert (status, body["user"]["id"], body["user"]["name"]) == (200, attacker["id"], "Attacker")
    # Without a token, the spoofed headers get nobody anywhere.
    assert call(gateway, "GET", "/api/profile", headers=headers)[0] == 401


def test_an_authenticated_request_carries_its_request_id_to_the_service(running_system):
    system, logs = running_system
    account = new_account(system.gateway_url, "trace")

    status, headers, _ = call(
        system.gateway_url, "GET", "/api/profile", token=account["token"], headers={"X-Request-ID": "edge-trace-7"}
    )

    assert (status, headers["X-Request-ID"]) == (200, "edge-trace-7")
    entry = logs.wait_for("users", lambda e: e.get("request_id") == "edge-trace-7" and e.get("message") == "request")
    assert (entry["logger"], entry["path"], entry["status"]) == ("gunicorn.access", "/api/profile", 200)


# CORS AND SECURITY HEADERS
# ------------------------------------------------------------------------------


def test_a_preflight_is_answered_by_the_gateway(gateway):
    status, headers, _ = call_raw(
        gateway,
        "OPTIONS",
        "/api/profile",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert status == 200
    # Local settings (what the system runs on here) allow any origin.
    assert headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")
    assert "PUT" in headers["Access-Control-Allow-Methods"]
    assert "authorization" in headers["Access-Control-Allow-Headers"].lower()


def test_answers_carry_cors_and_security_headers(gateway):
    account = new_account(gateway, "headers")
    # Relayed from a service, refused at the gateway, answered by the gateway.
    for path, token in [("/api/profile", account["token"]), ("/api/profile", None), ("/api/nope", None)]:
        _, headers, _ = call_raw(gateway, "GET", path, token=token, headers={"Origin": ORIGIN})
        assert headers["Access-Control-Allow-Origin"] in (ORIGIN, "*"), path
        assert "X-Request-ID" in headers["Access-Control-Expose-Headers"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Content-Security-Policy"]


def test_answers_carry_their_length_and_are_not_chunked(gateway):
    account = new_account(gateway, "length")
    login = {"email": account["email"], "password": PASSWORD}
    # Forwarded (a read twice: the second from the gateway's copy, a login), refused at the gateway, its own 404.
    for method, path, body, token in [
        ("GET", "/api/profile", None, account["token"]),
        ("GET", "/api/profile", None, account["token"]),
        ("POST", "/api/login", login, None),
        ("GET", "/api/profile", None, None),
        ("GET", "/api/nope", None, None),
    ]:
        _, headers, content = call_raw(gateway, method, path, body, token=token)
        assert headers["Content-Length"] == str(len(content)), path
        assert "Transfer-Encoding" not in headers, path
        assert len(headers.get_all("Date")) == len(headers.get_all("Server")) == 1, path


# THE PUBLIC DOCUMENT AND ITS PAGE
# ------------------------------------------------------------------------------


def test_the_public_api_document_merges_both_services(gateway):
    status, _, document = call(gateway, "GET", "/api/schema/")

    assert status == 200
    assert document["openapi"].startswith("3.")
    assert "x-unavailable-services" not in document
    assert {
        "/api/register", "/api/login", "/api/logout", "/api/token/refresh", "/api/change-password",
        "/api/profile", "/api/profile/preferences", "/api/health",
    } <= set(document["paths"])
    # Internal paths and the services' own schema endpoints stay out.
    assert not [path for path in document["paths"] if path.startswith(("/internal", "/api/schema"))]
    assert document["paths"]["/api/profile"]["get"]["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/api/login"]["post"]["security"] == []
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    refs = set(re.findall(r'"\$ref": "#/components/([^/]+)/([^"]+)"', json.dumps(document)))
    assert all(name in document["components"][section] for section, name in refs)


def test_the_docs_page_works_offline(gateway):
    status, headers, content = call_raw(gateway, "GET", "/api/docs/")

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    page = content.decode()
    assert not re.search(r"(https?:)?//", page)
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page):
        asset_status, _, asset_content = call_raw(gateway, "GET", asset)
        assert asset_status == 200 and asset_content, asset


def test_the_signing_keys_are_published_and_verify_a_login_token(gateway):
    account = new_account(gateway, "jwks")

    status, _, body = call(gateway, "GET", "/api/.well-known/jwks.json")

    assert status == 200
    kid = jwt.get_unverified_header(account["token"]).get("kid")
    [jwk] = [key for key in body["keys"] if key.get("kid") == kid] if kid else body["keys"][:1]
    assert (jwk["kty"], jwk["alg"]) == ("EC", "ES256")
    assert jwt.decode(account["token"], jwt.PyJWK(jwk), algorithms=["ES256"])["userId"] == account["id"]
