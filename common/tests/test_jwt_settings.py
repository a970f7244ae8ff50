"""The settings helpers of users' tokens' keys: RSA and EC P-256 keys taken, any other refused by the variable's name."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from common.jwt_keys import new_private_key_pem, public_pem_from_private
from common.settings.helpers import (
    local_private_key_pem,
    private_key_pem,
    public_key_pem,
    public_keys_pem,
    signer_public_keys,
    simple_jwt,
    verifier_public_keys,
)
from common.tests.keys import UNSUPPORTED, pem_of

SHARED = {"USER_ID_CLAIM": "userId"}
NOT_A_TOKEN_KEY = r"must be an RSA key or an EC P-256 key, not .+ \(tokens are signed with RS256 or ES256\)$"


@pytest.fixture(scope="module")
def pairs() -> dict[str, tuple[str, str]]:
    return {
        algorithm: (private, public_pem_from_private(private))
        for algorithm, private in ((a, new_private_key_pem(a)) for a in ("ES256", "RS256"))
    }


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_rsa_and_ec_p256_keys_are_taken_and_tell_simplejwt_their_algorithm(pairs, algorithm):
    private, public = pairs[algorithm]

    assert private_key_pem("JWT_PRIVATE_KEY", private.strip().replace("\n", "\\n")) == private
    assert public_key_pem("JWT_PUBLIC_KEY", public) == public
    keys = signer_public_keys(private, "")
    assert simple_jwt(SHARED, keys, private) == {
        **SHARED, "ALGORITHM": algorithm, "SIGNING_KEY": private, "VERIFYING_KEY": public
    }
    assert simple_jwt(SHARED, verifier_public_keys(public))["ALGORITHM"] == algorithm


def test_rsa_and_ec_keys_are_listed_side_by_side_and_the_first_says_the_verifiers_algorithm(pairs):
    (ec_private, ec_public), rsa_public = pairs["ES256"], pairs["RS256"][1]

    assert public_keys_pem("JWT_PUBLIC_KEY", rsa_public + ec_public + rsa_public) == [rsa_public, ec_public]
    assert simple_jwt(SHARED, verifier_public_keys(rsa_public + ec_public))["ALGORITHM"] == "RS256"
    # The auth service, signing with the EC key during the rotation, names its own.
    signer = signer_public_keys(ec_private, rsa_public + ec_public)
    assert signer == [ec_public, rsa_public]
    assert simple_jwt(SHARED, signer, ec_private)["ALGORITHM"] == "ES256"


@pytest.mark.parametrize("kind", list(UNSUPPORTED))
def test_any_other_key_is_refused_naming_the_variable(pairs, kind):
    private = UNSUPPORTED[kind]()

    with pytest.raises(ImproperlyConfigured, match=rf"^JWT_PRIVATE_KEY {NOT_A_TOKEN_KEY}"):
        private_key_pem("JWT_PRIVATE_KEY", pem_of(private))
    with pytest.raises(ImproperlyConfigured, match=rf"^JWT_PUBLIC_KEY {NOT_A_TOKEN_KEY}"):
        public_key_pem("JWT_PUBLIC_KEY", pem_of(private.public_key()))
    with pytest.raises(ImproperlyConfigured, match=rf"^JWT_PUBLIC_KEY \(key 2 of 2\) {NOT_A_TOKEN_KEY}"):
        verifier_public_keys(pairs["ES256"][1] + pem_of(private.public_key()))
    with pytest.raises(ImproperlyConfigured, match=rf"^JWT_PUBLIC_KEY \(key 1 of 2\) {NOT_A_TOKEN_KEY}"):
        signer_public_keys(pairs["ES256"][0], pem_of(private.public_key()) + pairs["ES256"][1])


def test_a_public_key_given_as_the_private_one_and_back_is_refused_by_name(pairs):
    private, public = pairs["ES256"]

    with pytest.raises(ImproperlyConfigured, match=r"^JWT_PRIVATE_KEY is not an unencrypted PEM private key"):
        private_key_pem("JWT_PRIVATE_KEY", public)
    with pytest.raises(ImproperlyConfigured, match=r"^JWT_PUBLIC_KEY is not a PEM public key"):
        public_key_pem("JWT_PUBLIC_KEY", private)


def test_a_developers_signing_key_is_the_one_set_checked_or_the_local_pairs(pairs, tmp_path):
    local = local_private_key_pem("", tmp_path)

    assert local == local_private_key_pem("", tmp_path) and "BEGIN PRIVATE KEY" in local
    assert simple_jwt(SHARED, signer_public_keys(local, ""), local)["ALGORITHM"] == "ES256"
    assert local_private_key_pem(pairs["RS256"][0], tmp_path) == pairs["RS256"][0]
    with pytest.raises(ImproperlyConfigured, match=r"^JWT_PRIVATE_KEY is not an unencrypted PEM private key"):
        local_private_key_pem(pairs["RS256"][1], tmp_path)
