"""POST /api/logout."""

import jwt
import pytest

from common.revocation import is_revoked
from credentials.sessions import token_pair_issue

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

URL = "/api/logout"


def test_200_and_the_access_token_stops_working(end_user_client, make_credential, revocations, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)
    claims = jwt.decode(tokens.access, options={"verify_signature": False})

    response = end_user_client(tokens.access).post(URL, {}, format="json")

    assert (response.status_code, response.json()) == (200, {"message": "Logged out"})
    assert revocations.get(f"revocation:jti:{claims['jti']}") == "1"
    assert is_revoked(
        revocations,
        user_id=claims["userId"],
        jti=claims["jti"],
        version=claims["ver"],
        family=None,
        issued_at=claims["iat"],
    )


def test_with_the_refresh_token_the_session_ends(end_user_client, make_credential, revocations, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)

    response = end_user_client(tokens.access).post(URL, {"refresh": tokens.refresh}, format="json")

    assert response.status_code == 200
    assert revocations.get(f"revocation:family:{family}") == "1"


def test_a_refresh_token_that_is_not_the_users_is_a_400(end_user_client, make_credential, revocations, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)

    response = end_user_client(tokens.access).post(URL, {"refresh": "garbage"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"type": "field", "msg": "Invalid value", "path": "refresh", "location": "body"}]
    }


def test_without_a_signed_in_user_it_is_a_401(gateway_client):
    response = gateway_client.post(URL, {}, format="json")

    assert (response.status_code, response.json()) == (401, {"error": "Access token required"})


def test_redis_down_is_a_503(end_user_client, make_credential, redis_down, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)

    response = end_user_client(tokens.access).post(URL, {}, format="json")

    assert (response.status_code, response.json()) == (503, {"error": "Service unavailable"})
