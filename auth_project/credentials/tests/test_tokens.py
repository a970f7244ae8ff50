"""The tokens as the gateway and the frontends see them: ES256, key id, legacy claims plus ver and fam."""

import jwt
import pytest
from django.conf import settings

from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.utils import aware_utcnow

from common.jwt_keys import key_algorithm, key_id
from credentials.sessions import token_pair_issue
from credentials.tokens import SessionAccessToken, SessionRefreshToken, new_token_claims, token_sign

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

PUBLIC_KEY = settings.SIMPLE_JWT["VERIFYING_KEY"]

def decode(token: str) -> dict:
    return jwt.decode(token, PUBLIC_KEY, algorithms=["ES256"])


def test_the_access_token_carries_the_legacy_claims_and_the_revocation_claims(make_credential, family):
    credential = make_credential(email="ada@example.com", token_version=3)

    claims = decode(token_pair_issue(credential=credential, family=family).access)

    assert set(claims) == {"userId", "email", "jti", "iat", "exp", "token_type", "ver", "fam"}
    assert claims["userId"] == credential.user_id  # a number, as in the legacy tokens
    assert claims["email"] == "ada@example.com"
    assert claims["token_type"] == "access"
    assert claims["ver"] == 3
    assert claims["fam"] == family
    assert claims["exp"] - claims["iat"] == 24 * 3600


def test_the_refresh_token_carries_the_user_version_and_family(make_credential, family):
    credential = make_credential(token_version=3)

    claims = decode(token_pair_issue(credential=credential, family=family).refresh)

    assert set(claims) == {"userId", "jti", "iat", "exp", "token_type", "ver", "fam"}
    assert (claims["userId"], claims["ver"], claims["fam"], claims["token_type"]) == (
        credential.user_id,
        3,
        family,
        "refresh",
    )
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600


def test_the_header_names_the_signing_key(make_credential, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)

    for token in (tokens.access, tokens.refresh):
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "ES256"
        assert header["kid"] == key_id(PUBLIC_KEY)


def test_each_token_has_its_own_id_and_the_refresh_token_is_recorded(make_credential, family):
    credential = make_credential()

    tokens = token_pair_issue(credential=credential, family=family)

    access, refresh = decode(tokens.access), decode(tokens.refresh)
    assert access["jti"] != refresh["jti"]
    record = credential.refresh_tokens.get()
    assert (record.jti, str(record.family), record.used_at, record.revoked_at) == (refresh["jti"], family, None, None)
    assert int(record.expires_at.timestamp()) == refresh["exp"]


def test_after_the_switch_tokens_name_the_new_key_and_are_signed_in_its_algorithm(make_credential, family, rotation):
    credential = make_credential()
    before = token_pair_issue(credential=credential, family=family)
    rotation.switch()

    tokens = token_pair_issue(credential=credential, family=family)

    assert jwt.get_unverified_header(before.access) == {
        "alg": key_algorithm(rotation.old), "typ": "JWT", "kid": key_id(rotation.old)
    }
    for token in (tokens.access, tokens.refresh):
        assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "JWT", "kid": key_id(rotation.new)}
        assert jwt.decode(token, rotation.new, algorithms=["ES256"])["fam"] == family


@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_a_new_tokens_claims_are_simplejwts_own(monkeypatch, kind):
    # credentials.tokens.new_token_claims writes out what SimpleJWT's token object holds: same claims, same order.
    token_class = {"access": SessionAccessToken, "refresh": SessionRefreshToken}[kind]
    at = aware_utcnow()
    monkeypatch.setattr(simplejwt_tokens, "aware_utcnow", lambda: at)
    token = token_class()
    token["userId"], token["ver"], token["fam"] = 7, 3, "f"

    claims = new_token_claims(token_class, at=at, userId=7, ver=3, fam="f")

    assert list(claims) == list(token.payload)
    assert {**claims, "jti": None} == {**token.payload, "jti": None}
    assert len(claims["jti"]) == len(token["jti"]) == 32 and claims["jti"] != token["jti"]
    assert token_class(token_sign(claims)).payload == claims  # signed, it is a valid token of its kind
