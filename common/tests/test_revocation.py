import time
import uuid

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


def test_legacy_token_ids_are_stable_and_distinct():
    assert revocation.legacy_token_id("a.b.c") == revocation.legacy_token_id("a.b.c")
    assert revocation.legacy_token_id("a.b.c") != revocation.legacy_token_id("a.b.d")
