import time
import uuid

import jwt
import pytest

from common import revocation


def unique_user_id() -> int:
    """A user id no other test or earlier run on a shared Redis has revoked anything for."""
    return 900_000_000 + uuid.uuid4().int % 100_000_000


@pytest.fixture
def client(redis_url):
    client = revocation.client_for(redis_url)
    yield client
    for key in client.scan_iter(f"{revocation.PREFIX}:*test*"):
        client.delete(key)


def test_a_revoked_token_is_revoked_until_its_expiry(client):
    claims = {"user_id": unique_user_id(), "jti": f"test-{uuid.uuid4().hex}", "version": 0, "family": None}
    assert not revocation.is_revoked(client, **claims)
    revocation.revoke_token(client, claims["jti"], int(time.time()) + 60)
    assert revocation.is_revoked(client, **claims)
    assert 0 < client.ttl(f"{revocation.PREFIX}:jti:{claims['jti']}") <= 60


def test_a_revoked_family_revokes_each_of_its_tokens(client):
    family = f"test-family-{uuid.uuid4().hex}"
    revocation.revoke_family(client, family, int(time.time()) + 60)
    user_id = unique_user_id()
    assert revocation.is_revoked(client, user_id=user_id, jti="test-a", version=0, family=family)
    assert not revocation.is_revoked(client, user_id=user_id, jti="test-b", version=0, family=f"{family}-other")


def test_a_minimum_version_revokes_older_tokens_only(client):
    user_id = unique_user_id()
    try:
        revocation.set_minimum_version(client, user_id, 3)
        assert revocation.is_revoked(client, user_id=user_id, jti="test-x", version=2, family=None)
        assert not revocation.is_revoked(client, user_id=user_id, jti="test-x", version=3, family=None)
    finally:
        client.delete(f"{revocation.PREFIX}:user:{user_id}")


def test_an_unreachable_redis_is_an_error_never_a_pass(unreachable_redis_url):
    client = revocation.client_for(unreachable_redis_url)
    with pytest.raises(revocation.RevocationUnavailable):
        revocation.is_revoked(client, user_id=1, jti="x", version=0, family=None)


LEGACY_TOKEN = jwt.encode({"userId": 1, "email": "a@b.c", "iat": 1, "exp": 2}, "s" * 32, algorithm="HS256")


def respelled(token: str) -> str:
    """The same token, its signature's last character spelled otherwise: its two unused low bits set."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:-1] + alphabet[alphabet.index(token[-1]) | 0b11]


def test_legacy_token_ids_are_stable_and_distinct():
    header, payload, signature = LEGACY_TOKEN.split(".")
    assert revocation.legacy_token_id(LEGACY_TOKEN) == revocation.legacy_token_id(LEGACY_TOKEN)
    assert revocation.legacy_token_id(LEGACY_TOKEN) != revocation.legacy_token_id(f"{header}.{payload}.{payload}")
    # Length-prefixed parts: bytes moved from one part to the next make another id.
    assert revocation.legacy_token_id("YWJj.ZA.") != revocation.legacy_token_id("YWI.Y2Q.")


@pytest.mark.parametrize("spell", [respelled, lambda token: token + "="], ids=["low-bits", "padded"])
def test_every_spelling_of_a_legacy_token_has_its_id(spell):
    other = spell(LEGACY_TOKEN)

    assert other != LEGACY_TOKEN
    assert revocation.legacy_token_id(other) == revocation.legacy_token_id(LEGACY_TOKEN)


def test_a_padded_signature_is_a_spelling_pyjwt_verifies():
    """Why the id cannot be a hash of the text: this other spelling of the token passes verification."""
    assert jwt.decode(LEGACY_TOKEN + "=", "s" * 32, algorithms=["HS256"], options={"verify_exp": False})
