"""The key-set token backend: signs naming its key, verifies with the key a token names, refuses the rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from jwt.algorithms import RSAAlgorithm
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

from common.jwt_keys import key_id, local_key_pair
from common.token_backend import KeySetTokenBackend, key_set_backend


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """(private PEM, public PEM) of an old key, a new key and a key nobody lists."""
    directory = tmp_path_factory.mktemp("keys")
    return {name: local_key_pair(directory / name) for name in ("old", "new", "stranger")}


def claims(**changes) -> dict:
    now = int(time.time())
    return {"token_type": "access", "userId": 7, "jti": uuid.uuid4().hex, "iat": now, "exp": now + 600, **changes}


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(private_pem: str, header: dict, payload: dict) -> str:
    """RS256 by hand: the header exactly as given (PyJWT refuses to write some of these)."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    algorithm = RSAAlgorithm(RSAAlgorithm.SHA256)
    return f"{signing_input}.{b64(algorithm.sign(signing_input.encode(), algorithm.prepare_key(private_pem)))}"


def test_tokens_name_the_signing_key_and_verify_with_it_among_several(keys):
    old_private, old_public = keys["old"]
    new_private, new_public = keys["new"]
    signer = KeySetTokenBackend(public_keys=(new_public, old_public), signing_key=new_private)
    before_rotation = KeySetTokenBackend(public_keys=(old_public,), signing_key=old_private)

    token = signer.encode(claims())
    old_token = before_rotation.encode(claims())

    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": key_id(new_public)}
    assert jwt.get_unverified_header(old_token)["kid"] == key_id(old_public)
    assert signer.decode(token)["userId"] == signer.decode(old_token)["userId"] == 7


def test_a_verifier_with_one_key_accepts_a_token_without_kid(keys):
    private, public = keys["old"]
    token = jwt.encode(claims(), private, algorithm="RS256")

    assert KeySetTokenBackend(public_keys=(public,)).decode(token)["userId"] == 7


def _refused(keys) -> dict[str, str]:
    old_private, old_public = keys["old"]
    new_private = keys["new"][0]
    stranger_private, stranger_public = keys["stranger"]
    old_kid = key_id(old_public)
    rs256 = {"alg": "RS256", "typ": "JWT"}
    hs256_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': old_kid})}.{b64(claims())}"
    return {
        "no-kid-while-several-keys": signed(old_private, rs256, claims()),
        "unknown-kid": signed(stranger_private, {**rs256, "kid": key_id(stranger_public)}, claims()),
        "another-key-claiming-a-known-kid": signed(new_private, {**rs256, "kid": old_kid}, claims()),
        "kid-a-list": signed(old_private, {**rs256, "kid": [old_kid]}, claims()),
        "kid-null": signed(old_private, {**rs256, "kid": None}, claims()),
        "alg-none": f"{b64({'alg': 'none', 'kid': old_kid})}.{b64(claims())}.",
        "hs256-keyed-with-the-public-key": hs256_input + "." + b64(
            hmac.new(old_public.encode(), hs256_input.encode(), hashlib.sha256).digest()
        ),
        "header-not-json": f"{b64(b'not json')}.{b64(claims())}.c2ln",
        "garbage": "garbage",
    }


@pytest.mark.parametrize(
    "case",
    [
        "no-kid-while-several-keys", "unknown-kid", "another-key-claiming-a-known-kid", "kid-a-list", "kid-null",
        "alg-none", "hs256-keyed-with-the-public-key", "header-not-json", "garbage",
    ],
)
def test_a_token_whose_key_is_not_the_one_it_names_among_the_accepted_is_refused(keys, case):
    verifier = KeySetTokenBackend(public_keys=(keys["new"][1], keys["old"][1]))

    with pytest.raises(TokenBackendError) as refused:
        verifier.decode(_refused(keys)[case])
    assert not isinstance(refused.value, TokenBackendExpiredToken)


def test_an_expired_token_of_a_known_key_is_refused_as_expired(keys):
    private, public = keys["old"]
    token = KeySetTokenBackend(public_keys=(public,), signing_key=private).encode(claims(exp=int(time.time()) - 1))

    with pytest.raises(TokenBackendExpiredToken):
        KeySetTokenBackend(public_keys=(keys["new"][1], public)).decode(token)


def test_a_verifier_cannot_sign_and_a_signer_must_list_its_own_key(keys):
    with pytest.raises(TokenBackendError):
        KeySetTokenBackend(public_keys=(keys["old"][1],)).encode(claims())
    with pytest.raises(ValueError):
        KeySetTokenBackend(public_keys=(keys["old"][1],), signing_key=keys["new"][0])
    with pytest.raises(ValueError):
        KeySetTokenBackend(public_keys=())


def test_one_backend_per_key_set(keys):
    one, other = (keys["old"][1],), (keys["old"][1], keys["new"][1])

    assert key_set_backend(one) is key_set_backend(one)
    assert key_set_backend(other) is not key_set_backend(one)
