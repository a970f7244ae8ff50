"""The key-set token backend: signs naming its key, verifies with the key a token names, refuses the rest.

Each key verifies in its own algorithm (RS256 for an RSA key, ES256 for an EC
P-256 key), so while an RSA key is rotated out for an EC key both kinds of
token pass, each with its own key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from jwt.algorithms import ECAlgorithm, get_default_algorithms
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from common.jwt_keys import key_algorithm, key_id, local_key_pair, new_private_key_pem, public_pem_from_private
from common.token_backend import KeySetTokenBackend, key_set_backend


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """(private PEM, public PEM) by name: an RSA key (as signed before ES256), EC keys (as made now), strangers."""
    directory = tmp_path_factory.mktemp("keys")
    pairs = {name: local_key_pair(directory / name) for name in ("ec", "ec-old", "ec-stranger")}
    for name in ("rsa", "rsa-stranger"):
        private = new_private_key_pem("RS256")
        pairs[name] = (private, public_pem_from_private(private))
    return pairs


def claims(**changes) -> dict:
    now = int(time.time())
    return {"token_type": "access", "userId": 7, "jti": uuid.uuid4().hex, "iat": now, "exp": now + 600, **changes}


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signed(private_pem: str, header: dict, payload: dict, algorithm=None) -> str:
    """Signed by hand in the header's ``alg`` (or with ``algorithm``): the header exactly as given.

    PyJWT refuses to write some of these headers, or to sign with a key of another size than its ``alg`` says.
    """
    algorithm = algorithm or get_default_algorithms()[header["alg"]]
    signing_input = f"{b64(header)}.{b64(payload)}"
    return f"{signing_input}.{b64(algorithm.sign(signing_input.encode(), algorithm.prepare_key(private_pem)))}"


def header_of(alg: str, **fields) -> dict:
    return {"alg": alg, "typ": "JWT", **fields}


@pytest.mark.parametrize(("old", "new"), [("rsa", "ec"), ("ec-old", "ec")], ids=["rsa-to-ec", "ec-to-ec"])
def test_tokens_name_the_signing_key_and_verify_with_it_among_several(keys, old, new):
    old_private, old_public = keys[old]
    new_private, new_public = keys[new]
    signer = KeySetTokenBackend(public_keys=(new_public, old_public), signing_key=new_private)
    before_rotation = KeySetTokenBackend(public_keys=(old_public,), signing_key=old_private)
    gateway = KeySetTokenBackend(public_keys=(old_public, new_public))

    token = signer.encode(claims())
    old_token = before_rotation.encode(claims())

    assert jwt.get_unverified_header(token) == {"alg": "ES256", "typ": "JWT", "kid": key_id(new_public)}
    assert jwt.get_unverified_header(old_token) == {
        "alg": key_algorithm(old_public), "typ": "JWT", "kid": key_id(old_public)
    }
    for verifier in (signer, gateway):
        assert verifier.decode(token)["userId"] == verifier.decode(old_token)["userId"] == 7


def test_the_backend_signs_in_its_signing_keys_algorithm_and_a_verifier_says_its_first_keys(keys):
    assert KeySetTokenBackend(public_keys=(keys["ec"][1],), signing_key=keys["ec"][0]).algorithm == "ES256"
    assert KeySetTokenBackend(public_keys=(keys["rsa"][1],), signing_key=keys["rsa"][0]).algorithm == "RS256"
    assert KeySetTokenBackend(public_keys=(keys["rsa"][1], keys["ec"][1])).algorithm == "RS256"
    assert KeySetTokenBackend(public_keys=(keys["ec"][1], keys["rsa"][1])).algorithm == "ES256"


@pytest.mark.parametrize("name", ["rsa", "ec"])
def test_a_verifier_with_one_key_accepts_a_token_without_kid(keys, name):
    private, public = keys[name]
    token = jwt.encode(claims(), private, algorithm=key_algorithm(public))

    assert KeySetTokenBackend(public_keys=(public,)).decode(token)["userId"] == 7


def _refused(keys) -> dict[str, str]:
    rsa_private, rsa_public = keys["rsa"]
    ec_private, ec_public = keys["ec"]
    rsa_kid, ec_kid = key_id(rsa_public), key_id(ec_public)
    rs256, es256 = header_of("RS256"), header_of("ES256")

    def hs256_keyed_with(public: str, kid: str) -> str:
        signing_input = f"{b64(header_of('HS256', kid=kid))}.{b64(claims())}"
        return f"{signing_input}.{b64(hmac.new(public.encode(), signing_input.encode(), hashlib.sha256).digest())}"

    return {
        "no-kid-while-several-keys": signed(rsa_private, rs256, claims()),
        "no-kid-while-several-keys-es256": signed(ec_private, es256, claims()),
        "unknown-kid": signed(keys["ec-stranger"][0], {**es256, "kid": key_id(keys["ec-stranger"][1])}, claims()),
        "another-rsa-key-claiming-the-rsa-kid": signed(keys["rsa-stranger"][0], {**rs256, "kid": rsa_kid}, claims()),
        "another-ec-key-claiming-the-ec-kid": signed(keys["ec-stranger"][0], {**es256, "kid": ec_kid}, claims()),
        # Algorithm confusion: a header naming a key, in an algorithm other than that key's.
        "es256-naming-the-rsa-key": signed(ec_private, {**es256, "kid": rsa_kid}, claims()),
        "rs256-naming-the-ec-key": signed(rsa_private, {**rs256, "kid": ec_kid}, claims()),
        "the-rsa-key-itself-in-rs512": signed(rsa_private, header_of("RS512", kid=rsa_kid), claims()),
        "the-rsa-key-itself-in-ps256": signed(rsa_private, header_of("PS256", kid=rsa_kid), claims()),
        "the-ec-key-itself-in-es384": signed(
            ec_private, header_of("ES384", kid=ec_kid), claims(), ECAlgorithm(ECAlgorithm.SHA384)
        ),
        "kid-a-list": signed(rsa_private, {**rs256, "kid": [rsa_kid]}, claims()),
        "kid-null": signed(ec_private, {**es256, "kid": None}, claims()),
        "alg-none-naming-the-rsa-key": f"{b64({'alg': 'none', 'kid': rsa_kid})}.{b64(claims())}.",
        "alg-none-naming-the-ec-key": f"{b64({'alg': 'none', 'kid': ec_kid})}.{b64(claims())}.",
        "hs256-keyed-with-the-rsa-public-key": hs256_keyed_with(rsa_public, rsa_kid),
        "hs256-keyed-with-the-ec-public-key": hs256_keyed_with(ec_public, ec_kid),
        "header-not-json": f"{b64(b'not json')}.{b64(claims())}.c2ln",
        "garbage": "garbage",
    }


REFUSED = [
    "no-kid-while-several-keys", "no-kid-while-several-keys-es256", "unknown-kid",
    "another-rsa-key-claiming-the-rsa-kid", "another-ec-key-claiming-the-ec-kid",
    "es256-naming-the-rsa-key", "rs256-naming-the-ec-key", "the-rsa-key-itself-in-rs512",
    "the-rsa-key-itself-in-ps256", "the-ec-key-itself-in-es384", "kid-a-list", "kid-null",
    "alg-none-naming-the-rsa-key", "alg-none-naming-the-ec-key", "hs256-keyed-with-the-rsa-public-key",
    "hs256-keyed-with-the-ec-public-key", "header-not-json", "garbage",
]


@pytest.mark.parametrize("case", REFUSED)
def test_a_token_whose_key_is_not_the_one_it_names_among_the_accepted_is_refused(keys, case):
    verifier = KeySetTokenBackend(public_keys=(keys["ec"][1], keys["rsa"][1]))
    token = _refused(keys)[case]

    with pytest.raises(TokenBackendError) as refused:
        verifier.decode(token)
    assert not isinstance(refused.value, TokenBackendExpiredToken)


def test_the_refusal_of_a_token_is_simplejwts_token_is_invalid(keys, monkeypatch):
    """As the token classes see it: ``TokenError`` "Token is invalid", for a mismatched alg as for a bad signature."""
    verifier = KeySetTokenBackend(public_keys=(keys["ec"][1], keys["rsa"][1]))
    monkeypatch.setattr(AccessToken, "token_backend", property(lambda self: verifier))
    refused = _refused(keys)

    for case in ("es256-naming-the-rsa-key", "the-rsa-key-itself-in-rs512", "another-ec-key-claiming-the-ec-kid"):
        with pytest.raises(TokenError, match="^Token is invalid$"):
            AccessToken(refused[case])
    rsa_private, rsa_public = keys["rsa"]
    assert AccessToken(signed(rsa_private, header_of("RS256", kid=key_id(rsa_public)), claims()))["userId"] == 7


@pytest.mark.parametrize("name", ["rsa", "ec"])
def test_an_expired_token_of_a_known_key_is_refused_as_expired(keys, name):
    private, public = keys[name]
    token = KeySetTokenBackend(public_keys=(public,), signing_key=private).encode(claims(exp=int(time.time()) - 1))

    with pytest.raises(TokenBackendExpiredToken):
        KeySetTokenBackend(public_keys=(keys["ec-old"][1], public)).decode(token)


def test_a_verifier_cannot_sign_and_a_signer_must_list_its_own_key(keys):
    with pytest.raises(TokenBackendError):
        KeySetTokenBackend(public_keys=(keys["rsa"][1],)).encode(claims())
    with pytest.raises(ValueError):
        KeySetTokenBackend(public_keys=(keys["rsa"][1],), signing_key=keys["ec"][0])
    with pytest.raises(ValueError):
        KeySetTokenBackend(public_keys=())


def test_one_backend_per_key_set(keys):
    one, other = (keys["rsa"][1],), (keys["rsa"][1], keys["ec"][1])

    assert key_set_backend(one) is key_set_backend(one)
    assert key_set_backend(other) is not key_set_backend(one)


@pytest.mark.parametrize("name", ["rsa", "ec"])
def test_a_token_is_what_pyjwts_encode_makes_of_the_same_claims(keys, name):
    # The backend writes the compact form itself, header and key prepared once: the same bytes as jwt.encode's
    # (an RS256 signature is deterministic; an ES256 one is not, so it is verified instead).
    private, public = keys[name]
    backend = KeySetTokenBackend(public_keys=(public,), signing_key=private)
    payload = claims(email="ana@example.com", name="Ana \u00e9\u00e8 \U0001f600", fam=str(uuid.uuid4()))

    token = backend.encode(payload)
    expected = jwt.encode(payload, private, algorithm=key_algorithm(public), headers={"kid": key_id(public)})

    if name == "rsa":
        assert token == expected
    else:
        assert token.rsplit(".", 1)[0] == expected.rsplit(".", 1)[0]
        assert jwt.decode(token, public, algorithms=["ES256"]) == payload
    assert backend.decode(token) == payload
    assert AccessToken(token, verify=False).payload == payload
