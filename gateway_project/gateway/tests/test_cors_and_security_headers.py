"""CORS for the frontends' origins, answered at the gateway; security headers on every answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from .tokens import access_token, bearer

ALLOWED = "https://app.example.com"  # config.settings.test
ROUTES = {"/api/login": "auth", "/api/profile": {"upstream": "users", "auth": "token"}}
PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def upstreams(start_upstream):
    users, auth = start_upstream(), start_upstream()
    with override_settings(GATEWAY_UPSTREAMS={"users": users.url, "auth": auth.url}, GATEWAY_ROUTES=ROUTES):
        yield users, auth


def preflight(client, path, origin, method="PUT", headers="authorization, content-type"):
    return client.options(
        path,
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )


# CORS
# ------------------------------------------------------------------------------


def test_a_preflight_from_an_allowed_origin_is_answered_by_the_gateway_without_a_token(client, upstreams):
    response = preflight(client, "/api/profile", ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "PUT" in response["Access-Control-Allow-Methods"]
    allowed_headers = {name.strip() for name in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-none-match", "x-request-id"} <= allowed_headers
    assert int(response["Access-Control-Max-Age"]) > 0
    users, auth = upstreams
    assert users.received == [] and auth.received == []


def test_a_preflight_from_another_origin_gets_no_permission(client, upstreams):
    response = preflight(client, "/api/login", "https://evil.example", method="POST")

    assert not response.has_header("Access-Control-Allow-Origin")
    assert not response.has_header("Access-Control-Allow-Methods")


def test_answers_to_an_allowed_origin_carry_cors_headers_errors_included(client, upstreams):
    ok = client.post("/api/login", data={}, content_type="application/json", headers={"Origin": ALLOWED})
    refused = client.get("/api/profile", headers={"Origin": ALLOWED})
    with override_settings(GATEWAY_RATE_LIMIT_GLOBAL="1/d"):
        client.get("/api/login", headers={"Origin": ALLOWED})
        limited = client.get("/api/login", headers={"Origin": ALLOWED})

    for response in (ok, refused, limited):
        assert response["Access-Control-Allow-Origin"] == ALLOWED
        exposed = {name.strip().lower() for name in response["Access-Control-Expose-Headers"].split(",")}
        assert {"retry-after", "x-request-id", "etag"} <= exposed
        assert "origin" in response["Vary"].lower()
    assert (ok.status_code, refused.status_code, limited.status_code) == (200, 401, 429)


def test_an_answer_to_another_origin_has_no_cors_headers(client, upstreams):
    response = client.post(
        "/api/login", data={}, content_type="application/json", headers={"Origin": "https://evil.example"}
    )

    assert response.status_code == 200
    assert not response.has_header("Access-Control-Allow-Origin")


# SECURITY HEADERS
# ------------------------------------------------------------------------------


def assert_security_headers(response) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    # A policy matters for what a browser renders: JSON and the docs page, not a stylesheet.
    if not response["Content-Type"].startswith(("text/css", "text/javascript", "image/")):
        assert response.has_header("Content-Security-Policy")


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"path": "/api/login", "method": "POST"},  # relayed from a service
        {"path": "/api/profile", "method": "GET"},  # refused at the gateway
        {"path": "/api/profile", "method": "GET", "token": True},
        {"path": "/nowhere", "method": "GET"},  # the gateway's 404
        {"path": "/api/docs/", "method": "GET"},
        {"path": "/api/docs/swagger-ui.css", "method": "GET"},
        {"path": "/health", "method": "GET"},
    ],
    ids=["relayed", "refused", "authenticated", "not-found", "docs-page", "docs-asset", "probe"],
)
def test_every_answer_carries_the_security_headers(client, upstreams, request_kwargs):
    headers = bearer(access_token()) if request_kwargs.get("token") else {}
    response = client.generic(request_kwargs["method"], request_kwargs["path"], headers=headers)

    assert response.status_code < 500
    assert_security_headers(response)


def test_json_answers_get_a_policy_that_loads_nothing(client, upstreams):
    response = client.get("/nowhere")

    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_a_services_own_headers_are_kept(client, start_upstream):
    from .conftest import json_answer

    upstream = start_upstream(
        lambda received: json_answer(
            200, {}, [("X-Frame-Options", "SAMEORIGIN"), ("Content-Security-Policy", "default-src 'self'")]
        )
    )
    with override_settings(GATEWAY_UPSTREAMS={"users": upstream.url}, GATEWAY_ROUTES={"/admin": "users"}):
        response = client.get("/admin/")

    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Content-Security-Policy"] == "default-src 'self'"


# WHAT EACH SETTINGS MODULE ALLOWS
# ------------------------------------------------------------------------------


def settings_of(module: str, **variables: str) -> dict:
    """CORS and HSTS settings as ``module`` computes them from ``variables``."""
    script = (
        "import json, os, django; os.environ['DJANGO_SETTINGS_MODULE'] = %r; django.setup(); "
        "from django.conf import settings as s; print(json.dumps({name: getattr(s, name, None) for name in "
        "('CORS_ALLOW_ALL_ORIGINS', 'CORS_ALLOWED_ORIGINS', 'SECURE_HSTS_SECONDS')}))" % module
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("CORS_", "DJANGO_"))}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env={**environment, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_local_settings_allow_any_origin(tmp_path):
    configured = settings_of("config.settings.local", VAR_DIR=str(tmp_path))
    assert configured["CORS_ALLOW_ALL_ORIGINS"] is True


def test_production_allows_only_the_configured_origins_and_sends_hsts(tmp_path):
    from common.jwt_keys import local_key_pair

    _, public_pem = local_key_pair(tmp_path / "keys")
    configured = settings_of(
        "config.settings.production",
        VAR_DIR=str(tmp_path),
        CORS_ALLOWED_ORIGINS="https://app.example.com,https://m.example.com",
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="api.example.com",
        INTERNAL_AUTH_GATEWAY_KEY="k" * 48,
        REDIS_URL="redis://127.0.0.1:6379/0",
        USERS_SERVICE_URL="http://users:8000",
        AUTH_SERVICE_URL="http://auth:8000",
        JWT_PUBLIC_KEY=public_pem,
    )
    assert not configured["CORS_ALLOW_ALL_ORIGINS"]
    assert configured["CORS_ALLOWED_ORIGINS"] == ["https://app.example.com", "https://m.example.com"]
    assert configured["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_hsts_is_sent_over_https_when_configured(client):
    response = client.get("/health", headers={"X-Forwarded-Proto": "https"})

    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
