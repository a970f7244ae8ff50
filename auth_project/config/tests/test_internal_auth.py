"""Every API path of the service needs the gateway's (or a peer's) signed assertion."""

import pytest

from common.internal_auth import INTERNAL_AUTH_HEADER, sign_internal
from common.settings.core import LOCAL_INTERNAL_AUTH_KEYS

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

LOGIN = {"email": "ada@example.com", "password": "whatever it is"}


@pytest.mark.parametrize("path", ["/api/login", "/api/token/refresh", "/api/logout", "/internal/credentials"])
def test_without_the_header_it_is_a_json_401(client, path):
    response = client.post(path, LOGIN, content_type="application/json")

    assert (response.status_code, response.json()) == (401, {"error": "Requests must come through the gateway"})


def _login_assertion(**changes) -> str:
    return sign_internal(**{"audience": "auth", "issuer": "gateway", "method": "POST", "path": "/api/login", **changes})


@pytest.mark.parametrize(
    "header",
    [
        _login_assertion(key="a key that is not the gateway's, long enough"),
        _login_assertion(audience="users"),
        _login_assertion(path="/api/token/refresh"),
        _login_assertion(method="PUT"),
        "not-a-jwt",
    ],
    ids=["forged", "for another service", "for another path", "for another method", "garbage"],
)
def test_a_forged_or_misdirected_header_is_a_json_401(client, header):
    response = client.post("/api/login", LOGIN, content_type="application/json", headers={INTERNAL_AUTH_HEADER: header})

    assert (response.status_code, response.json()) == (401, {"error": "Invalid internal credential"})


def test_the_internal_endpoints_are_the_users_services_alone(client):
    path = "/internal/credentials/7/unlock"
    by_gateway = sign_internal("auth", issuer="gateway", method="POST", path=path)
    # A leaked gateway key, used to pass for the users service.
    gateway_key = LOCAL_INTERNAL_AUTH_KEYS["gateway"]
    forged_users = sign_internal("auth", issuer="users", method="POST", path=path, key=gateway_key)

    for header, answer in [
        (by_gateway, (403, {"error": "Permission denied"})),
        (forged_users, (401, {"error": "Invalid internal credential"})),
    ]:
        response = client.post(path, headers={INTERNAL_AUTH_HEADER: header})
        assert (response.status_code, response.json()) == answer


def test_the_public_api_is_the_gateways_alone(client):
    header = sign_internal("auth", issuer="users", method="POST", path="/api/login")

    response = client.post("/api/login", LOGIN, content_type="application/json", headers={INTERNAL_AUTH_HEADER: header})

    assert (response.status_code, response.json()) == (403, {"error": "Permission denied"})


def test_probes_need_no_header(client):
    assert client.get("/health").status_code == 200


def test_unknown_paths_are_json_404s(gateway_client):
    response = gateway_client.get("/api/nothing-here")

    assert (response.status_code, response.json()) == (404, {"error": "Not found"})
