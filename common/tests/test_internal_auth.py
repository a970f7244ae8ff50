import time

import jwt
import pytest
from django.test import override_settings

from common.internal_auth import (
    INTERNAL_AUTH_HEADER,
    InternalAuthError,
    end_user_from_claims,
    sign_internal,
    verify_internal,
)


def test_a_signed_assertion_verifies_for_its_audience_and_carries_the_user():
    value = sign_internal("users", issuer="gateway", user_id=7, email="a@b.c", jti="j1", token_exp=123)
    claims = verify_internal(value, "users")
    user = end_user_from_claims(claims)
    assert (claims["iss"], user.id, user.email, user.jti, user.token_exp) == ("gateway", 7, "a@b.c", "j1", 123)


def test_an_anonymous_assertion_has_no_user():
    assert end_user_from_claims(verify_internal(sign_internal("auth", issuer="gateway"), "auth")) is None


@pytest.mark.parametrize(
    "forge",
    [
        lambda: sign_internal("auth", issuer="gateway"),  # meant for another service
        lambda: sign_internal("users", issuer="gateway", key="another-key"),
        lambda: jwt.encode({"iss": "gateway", "aud": "users", "iat": 1, "exp": int(time.time()) - 5},
                           "local-only-internal-auth-key-not-secret", algorithm="HS256"),
        lambda: jwt.encode({"iss": "gateway", "aud": "users", "iat": 1, "exp": int(time.time()) + 60},
                           None, algorithm="none"),
        lambda: "not-a-token",
    ],
    ids=["wrong-audience", "wrong-key", "expired", "alg-none", "garbage"],
)
def test_anything_but_a_valid_assertion_is_refused(forge):
    with pytest.raises(InternalAuthError):
        verify_internal(forge(), "users")


@override_settings(SERVICE_NAME="users", MIDDLEWARE=["common.internal_auth.InternalAuthMiddleware"])
def test_the_middleware_refuses_api_requests_without_the_credential(client):
    assert client.get("/refuse").json() == {"error": "Requests must come through the gateway"}
    assert client.get("/refuse", HTTP_X_INTERNAL_AUTH="forged").status_code == 401
    signed = sign_internal("users", issuer="gateway")
    response = client.get("/refuse", headers={INTERNAL_AUTH_HEADER: signed})
    assert response.json() == {"error": "User already exists"}  # reached the view
    assert client.get("/health").status_code == 200  # probes stay open
