"""The revisions edge reads stand on: they only go up, in one round trip, and a dead Redis says so."""

import pytest
import redis

from common import edge


@pytest.fixture
def client(redis_url):
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def test_a_revision_is_raised_never_lowered_and_gets_an_expiry(redis_url, client):
    key = edge.revision_key("test-service", 1)
    client.delete(key)

    edge.revisions_raise(redis_url, "test-service", {1: 20}, ttl=100)
    edge.revisions_raise(redis_url, "test-service", {1: 10}, ttl=200)

    assert client.get(key) == b"20"
    assert 100 < client.ttl(key) <= 200


def test_many_users_in_one_call(redis_url, client):
    edge.revisions_raise(redis_url, "test-service", {2: 5, 3: 7}, ttl=60)
    assert client.mget(edge.revision_key("test-service", 2), edge.revision_key("test-service", 3)) == [b"5", b"7"]


def test_redis_unreachable_is_edge_unavailable(unreachable_redis_url):
    with pytest.raises(edge.EdgeUnavailable):
        edge.revisions_raise(unreachable_redis_url, "test-service", {1: 1}, ttl=60)


def test_revisions_follow_each_other_and_time():
    first = edge.next_revision()
    assert edge.next_revision(first) > first
    assert edge.next_revision(10**17) == 10**17 + 1


@pytest.mark.parametrize(
    ("known", "revision", "needed"),
    [(None, 5, False), ("none", 5, True), ("4", 5, True), ("5", 5, False), ("6", 5, False), ("x", 5, True)],
)
def test_when_the_owner_must_establish_the_current_revision(known, revision, needed):
    assert edge.revision_needs_raise(known, revision) is needed
