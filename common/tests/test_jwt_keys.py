import jwt

from common.jwt_keys import key_id, local_key_pair, public_jwk


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
