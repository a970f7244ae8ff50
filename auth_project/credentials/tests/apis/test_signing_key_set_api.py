"""GET /api/.well-known/jwks.json."""

import jwt
import pytest

from common.jwt_keys import key_algorithm, key_id
from credentials.sessions import token_pair_issue

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])


def test_the_published_key_verifies_issued_tokens(gateway_client, make_credential, family):
    token = token_pair_issue(credential=make_credential(), family=family).access

    response = gateway_client.get("/api/.well-known/jwks.json")

    assert response.status_code == 200
    (jwk,) = response.json()["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert jwk["kid"] == jwt.get_unverified_header(token)["kid"]
    assert jwt.decode(token, jwt.PyJWK(jwk), algorithms=["ES256"])["token_type"] == "access"


def test_it_is_behind_the_internal_credential_like_every_api_path(client):
    assert client.get("/api/.well-known/jwks.json").status_code == 401


def test_while_rotating_both_keys_are_listed_the_signing_key_first(gateway_client, make_credential, family, rotation):
    credential = make_credential()
    old_token = token_pair_issue(credential=credential, family=family).access
    rotation.switch()
    new_token = token_pair_issue(credential=credential, family=family).access

    keys = gateway_client.get("/api/.well-known/jwks.json").json()["keys"]

    assert [jwk["kid"] for jwk in keys] == [key_id(rotation.new), key_id(rotation.old)]
    assert [(jwk["kty"], jwk["alg"]) for jwk in keys] == [
        ("EC", "ES256"),
        ("RSA", "RS256") if key_algorithm(rotation.old) == "RS256" else ("EC", "ES256"),
    ]
    by_kid = {jwk["kid"]: jwt.PyJWK(jwk) for jwk in keys}
    for token in (old_token, new_token):
        # Each token with its own key's JWK, which verifies in that key's algorithm only.
        published = by_kid[jwt.get_unverified_header(token)["kid"]]
        assert jwt.decode(token, published, algorithms=[published.algorithm_name])["token_type"] == "access"

    rotation.retire()
    assert [jwk["kid"] for jwk in gateway_client.get("/api/.well-known/jwks.json").json()["keys"]] == [
        key_id(rotation.new)
    ]
