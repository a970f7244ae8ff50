import jwt
import pytest
from django.core.exceptions import ImproperlyConfigured

from common.jwt_keys import accepted_public_keys, key_id, local_key_pair, pem_blocks, public_jwk


def test_a_local_pair_is_made_once_and_reused(tmp_path):
    first = local_key_pair(tmp_path)
    assert local_key_pair(tmp_path) == first
    assert (tmp_path / "jwt-private.pem").stat().st_mode & 0o777 == 0o600


def test_tokens_signed_with_the_private_key_verify_with_the_published_jwk(tmp_path):
    private_pem, public_pem = local_key_pair(tmp_path)
    token = jwt.encode({"userId": 1}, private_pem, algorithm="RS256", headers={"kid": key_id(public_pem)})
    jwk = public_jwk(public_pem)
    assert jwk["kid"] == jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(jwk).key
    assert jwt.decode(token, key, algorithms=["RS256"]) == {"userId": 1}


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


def test_listing_keys_without_the_signing_key_is_refused_by_name(tmp_path):
    signing, own = local_key_pair(tmp_path / "new")
    old = local_key_pair(tmp_path / "old")[1]

    with pytest.raises(ImproperlyConfigured, match=rf"^JWT_PUBLIC_KEY does not include .*kid {key_id(own)}"):
        accepted_public_keys(signing, [old])
