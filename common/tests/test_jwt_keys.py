import base64
import hashlib

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured

from common.jwt_keys import (
    PRIVATE_KEY_FILE,
    UnsupportedKey,
    accepted_public_keys,
    key_algorithm,
    key_id,
    local_key_pair,
    new_private_key_pem,
    pem_blocks,
    public_jwk,
    public_pem_from_private,
)
from common.tests.keys import UNSUPPORTED, pem_of

# An RSA key as tokens were signed with before ES256, with the kid and JWK the code of that time gave it:
# every token already issued names its key by this kid.
RSA_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtMJRBRhIkf0voGy/HVEQ
wpVQw9YA7UXrA2Ff4Y40wfDPwVaYp0+XAuJFKIdI5FbiDg9484AyYPQUcTwIrWEn
ValueEvJzlaSdnCSZS/e/KTr/kqZ2bIW7x8K7eH4cSa+eTkUzT1qaUU6tPXQPq4k
W15hXPlbpN4NNb5tuzWxFhZSkxKy147P7FcotFWrl7RtWzvNXRwftTvm8YYl+P8B
VNx5OPtIgHq1Pi4qA1yRTKj8WYNAWbrbepwcJ1ku/Od2/jFdrBcS2ce1YIhmRZ74
AIRaMlJCHh6hwD+JGQMHT9kX90xSMlb3Mr4M4HQ9iNkNvzBiR7Ffu4IBAfQvk1Cc
7QIDAQAB
-----END PUBLIC KEY-----
"""
RSA_JWK = {
    "kty": "RSA",
    "use": "sig",
    "alg": "RS256",
    "kid": "b956a2f4814c7b81",
    "n": "tMJRBRhIkf0voGy_HVEQwpVQw9YA7UXrA2Ff4Y40wfDPwVaYp0-XAuJFKIdI5FbiDg9484AyYPQUcTwIrWEnValueEvJzlaSdnCSZS_e_"
    "KTr_kqZ2bIW7x8K7eH4cSa-eTkUzT1qaUU6tPXQPq4kW15hXPlbpN4NNb5tuzWxFhZSkxKy147P7FcotFWrl7RtWzvNXRwftTvm8YYl-P8BVNx5"
    "OPtIgHq1Pi4qA1yRTKj8WYNAWbrbepwcJ1ku_Od2_jFdrBcS2ce1YIhmRZ74AIRaMlJCHh6hwD-JGQMHT9kX90xSMlb3Mr4M4HQ9iNkNvzBiR7Ff"
    "u4IBAfQvk1Cc7Q",
    "e": "AQAB",
}


def b64_decoded(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def test_a_local_pair_is_made_once_and_reused(tmp_path):
    first = local_key_pair(tmp_path)
    assert local_key_pair(tmp_path) == first
    assert (tmp_path / "jwt-private.pem").stat().st_mode & 0o777 == 0o600


def test_a_new_local_pair_is_an_ec_p256_pair_signing_es256(tmp_path):
    private_pem, public_pem = local_key_pair(tmp_path)

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    assert key_algorithm(private_pem) == key_algorithm(public_pem) == "ES256"


def test_a_local_rsa_pair_made_before_es256_keeps_working(tmp_path):
    rsa_private = new_private_key_pem("RS256")
    (tmp_path / PRIVATE_KEY_FILE).write_text(rsa_private)

    private_pem, public_pem = local_key_pair(tmp_path)

    assert private_pem == rsa_private
    assert key_algorithm(public_pem) == "RS256"
    token = jwt.encode({"userId": 1}, private_pem, algorithm="RS256")
    assert jwt.decode(token, public_pem, algorithms=["RS256"]) == {"userId": 1}


def test_the_key_id_of_an_rsa_key_is_what_it_was_before_es256():
    der = serialization.load_pem_public_key(RSA_PUBLIC_PEM.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    assert key_id(RSA_PUBLIC_PEM) == hashlib.sha256(der).hexdigest()[:16] == RSA_JWK["kid"]
    assert public_jwk(RSA_PUBLIC_PEM) == RSA_JWK


def test_an_ec_key_id_is_the_same_hash_of_its_der_form(tmp_path):
    public_pem = local_key_pair(tmp_path)[1]
    der = serialization.load_pem_public_key(public_pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    assert key_id(public_pem) == hashlib.sha256(der).hexdigest()[:16]


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_tokens_signed_with_the_private_key_verify_with_the_published_jwk(algorithm):
    private_pem = new_private_key_pem(algorithm)
    public_pem = public_pem_from_private(private_pem)
    token = jwt.encode({"userId": 1}, private_pem, algorithm=algorithm, headers={"kid": key_id(public_pem)})

    jwk = public_jwk(public_pem)

    assert (jwk["alg"], jwk["use"], jwk["kid"]) == (algorithm, "sig", jwt.get_unverified_header(token)["kid"])
    published = jwt.PyJWK(jwk)
    assert published.algorithm_name == algorithm
    assert jwt.decode(token, published, algorithms=[algorithm]) == {"userId": 1}
    # The JWK is bound to its algorithm: the other one's name in the header is refused.
    other = "RS256" if algorithm == "ES256" else "ES256"
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(token.replace(token.split(".")[0], _header(other, jwk["kid"]), 1), published)


def _header(algorithm: str, kid: str) -> str:
    return base64.urlsafe_b64encode(f'{{"alg":"{algorithm}","typ":"JWT","kid":"{kid}"}}'.encode()).rstrip(b"=").decode()


def _ec_key_with_a_short_coordinate() -> ec.EllipticCurvePrivateKey:
    """An EC P-256 key whose x or y has a leading zero byte (about one key in 128): the first private value found."""
    for value in range(1, 10_000):
        key = ec.derive_private_key(value, ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        if min(numbers.x, numbers.y) < 2**248:
            return key
    raise AssertionError("no such key among the first values")


def test_an_ec_jwk_has_fixed_length_coordinates_even_with_leading_zeros():
    key = _ec_key_with_a_short_coordinate()
    public_pem = pem_of(key.public_key())
    numbers = key.public_key().public_numbers()

    jwk = public_jwk(public_pem)

    assert set(jwk) == {"kty", "use", "alg", "kid", "crv", "x", "y"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert jwk["kid"] == key_id(public_pem)
    assert "=" not in jwk["x"] + jwk["y"]
    assert [len(b64_decoded(jwk[c])) for c in ("x", "y")] == [32, 32]
    assert int.from_bytes(b64_decoded(jwk["x"]), "big") == numbers.x
    assert int.from_bytes(b64_decoded(jwk["y"]), "big") == numbers.y
    token = jwt.encode({"userId": 2}, pem_of(key), algorithm="ES256")
    assert jwt.decode(token, jwt.PyJWK(jwk), algorithms=["ES256"]) == {"userId": 2}


@pytest.mark.parametrize("kind", list(UNSUPPORTED))
def test_keys_of_any_other_type_have_no_algorithm(kind):
    private = UNSUPPORTED[kind]()

    for key in (private, private.public_key(), pem_of(private), pem_of(private.public_key())):
        with pytest.raises(UnsupportedKey, match=r"^must be an RSA key or an EC P-256 key, not "):
            key_algorithm(key)


def test_rsa_and_ec_p256_keys_have_their_algorithm():
    assert key_algorithm(rsa.generate_private_key(public_exponent=65537, key_size=2048)) == "RS256"
    assert key_algorithm(RSA_PUBLIC_PEM) == "RS256"
    assert key_algorithm(ec.generate_private_key(ec.SECP256R1()).public_key()) == "ES256"
    with pytest.raises(ValueError):
        new_private_key_pem("HS256")


def test_a_bundle_of_pems_is_split_in_order_with_real_or_escaped_line_breaks(tmp_path):
    first, second = local_key_pair(tmp_path / "a")[1], local_key_pair(tmp_path / "b")[1]

    assert pem_blocks(first) == [first]
    assert pem_blocks(f"\n{first}\n\n{second}  \n") == [first, second]
    assert pem_blocks(first.strip().replace("\n", "\\n") + "\\n" + second.strip().replace("\n", "\\n")) == [
        first,
        second,
    ]


@pytest.mark.parametrize("text", ["", "not a key", "-----BEGIN PUBLIC KEY-----\nabc\n", "{pem}junk", "junk\n{pem}"])
def test_anything_but_pem_blocks_is_refused(tmp_path, text):
    public_pem = local_key_pair(tmp_path)[1]
    with pytest.raises(ValueError):
        pem_blocks(text.format(pem=public_pem))


def test_the_auth_service_accepts_its_own_key_first_then_the_listed_ones(tmp_path):
    signing, own = local_key_pair(tmp_path / "new")
    old = local_key_pair(tmp_path / "old")[1]

    assert accepted_public_keys(signing, []) == [own]
    assert accepted_public_keys(signing, [old, own, old]) == [own, old]
    assert accepted_public_keys(signing, [RSA_PUBLIC_PEM, own]) == [own, RSA_PUBLIC_PEM]


def test_listing_keys_without_the_signing_key_is_refused_by_name(tmp_path):
    signing, own = local_key_pair(tmp_path / "new")
    old = local_key_pair(tmp_path / "old")[1]

    with pytest.raises(ImproperlyConfigured, match=rf"^JWT_PUBLIC_KEY does not include .*kid {key_id(own)}"):
        accepted_public_keys(signing, [old])
