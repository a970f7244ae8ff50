"""``common.redis_calls``: the request path's Redis commands answer and fail as redis-py's own calls do."""

import uuid

import pytest
import redis
from redis.commands.core import Script

from common import redis_calls

SCRIPT = "return {KEYS[1], ARGV[1]}"


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    yield client
    redis_calls.forget_connections()
    client.close()


def key() -> str:
    return f"test-redis-calls-{uuid.uuid4().hex}"


def test_a_command_answers_as_redis_py_does(client):
    first, second = key(), key()
    client.set(first, b"one", ex=60)
    assert redis_calls.execute(client, "MGET", first, second) == client.mget(first, second) == [b"one", None]
    assert redis_calls.execute(client, "GET", first) == b"one"


def test_the_connection_is_kept_for_the_next_command(client):
    redis_calls.execute(client, "GET", key())
    (connection,) = redis_calls._connections(client.connection_pool)
    redis_calls.execute(client, "GET", key())
    assert list(redis_calls._connections(client.connection_pool)) == [connection]


def test_a_connection_the_server_closed_is_made_again(client):
    kept = redis_calls.execute(client, "CLIENT", "ID")
    client.client_kill_filter(_id=kept)  # as a restart of Redis would
    name = key()
    client.set(name, b"after", ex=60)
    assert redis_calls.execute(client, "GET", name) == b"after"
    assert redis_calls.execute(client, "CLIENT", "ID") != kept


def test_an_error_reply_is_raised_and_the_connection_kept(client):
    name = key()
    client.set(name, b"text", ex=60)
    with pytest.raises(redis.ResponseError):
        redis_calls.execute(client, "INCR", name)
    assert len(redis_calls._connections(client.connection_pool)) == 1
    assert redis_calls.execute(client, "GET", name) == b"text"


def test_a_script_redis_does_not_know_is_loaded_and_run(client):
    # A script Redis has never seen, as after a restart with nothing kept (no SCRIPT FLUSH: the Redis may be shared).
    script = Script(client, f"{SCRIPT} -- {uuid.uuid4().hex}")
    assert client.script_exists(script.sha) == [False]
    name = key()
    assert redis_calls.run_script(client, script, [name], [7]) == [name.encode(), b"7"]
    assert client.script_exists(script.sha) == [True]
    assert redis_calls.run_script(client, script, [name], [8]) == [name.encode(), b"8"]


def test_an_unreachable_redis_raises_what_redis_py_raises(unreachable_redis_url):
    client = redis.Redis.from_url(unreachable_redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    with pytest.raises(redis.ConnectionError):
        client.get("x")
    with pytest.raises(redis.ConnectionError):
        redis_calls.execute(client, "GET", "x")
    with pytest.raises(redis.ConnectionError):
        redis_calls.run_script(client, Script(client, SCRIPT), ["x"], [1])
    assert not redis_calls._connections(client.connection_pool)


def test_connections_are_not_shared_across_a_fork(client, monkeypatch):
    redis_calls.execute(client, "GET", key())
    assert redis_calls._connections(client.connection_pool)
    monkeypatch.setattr(redis_calls.os, "getpid", lambda: -1)
    assert not redis_calls._connections(client.connection_pool)


def test_the_commands_used_here_have_no_response_callback(client):
    for command in ("GET", "MGET", "EVALSHA"):
        assert command not in client.response_callbacks
