"""Every API path of the service needs the gateway's (or a peer's) signed assertion."""

import pytest

from common.internal_auth import INTERNAL_AUTH_HEADER, sign_internal

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

LOGIN = {"email": "ada@example.com", "password": "whatever it is"}


@pytest.mark.parametrize("path", ["/api/login", "/api/token/refresh", "/api/logout", "/internal/credentials"])
def test_without_the_header_it_is_a_json_401(client, path):
    response = client.post(path, LOGIN, content_type="application/json")

    assert (response.status_code, response.json()) == (401, {"error": "Requests must come through the gateway"})


@pytest.mark.parametrize(
    "header",
    [
        sign_internal("auth", issuer="gateway", key="a key that is not the shared one, long enough"),
        sign_internal("users", issuer="gateway"),
        "not-a-jwt",
    ],
    ids=["forged", "for another service", "garbage"],
)
def test_a_forged_or_misdirected_header_is_a_json_401(client, header):
    response = client.post("/api/login", LOGIN, content_type="application/json", headers={INTERNAL_AUTH_HEADER: header})

    assert (response.status_code, response.json()) == (401, {"error": "Invalid internal credential"})


def test_probes_need_no_header(client):
    assert client.get("/health").status_code == 200


def test_unknown_paths_are_json_404s(gateway_client):
    response = gateway_client.get("/api/nothing-here")

    assert (response.status_code, response.json()) == (404, {"error": "Not found"})
