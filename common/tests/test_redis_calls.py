"""``common.redis_calls``: the request path's Redis commands answer and fail as redis-py's own calls do."""

import uuid

import pytest
import redis
from redis.commands.core import Script

from common import redis_calls
from common.testing import gevent_scenario

SCRIPT = "return {KEYS[1], ARGV[1]}"


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    yield client
    redis_calls.forget_connections()
    client.close()


def idle(client):
    """The connections ``common.redis_calls`` keeps idle for ``client``'s pool in this process."""
    return redis_calls._kept_for(client.connection_pool).idle


def key() -> str:
    return f"test-redis-calls-{uuid.uuid4().hex}"


def test_a_command_answers_as_redis_py_does(client):
    first, second = key(), key()
    client.set(first, b"one", ex=60)
    assert redis_calls.execute(client, "MGET", first, second) == client.mget(first, second) == [b"one", None]
    assert redis_calls.execute(client, "GET", first) == b"one"


def test_the_connection_is_kept_for_the_next_command(client):
    redis_calls.execute(client, "GET", key())
    (connection,) = idle(client)
    redis_calls.execute(client, "GET", key())
    assert list(idle(client)) == [connection]


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
    assert len(idle(client)) == 1
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
    assert not idle(client)


def test_connections_are_not_shared_across_a_fork(client, monkeypatch):
    redis_calls.execute(client, "GET", key())
    assert idle(client)
    monkeypatch.setattr(redis_calls.os, "getpid", lambda: -1)
    assert not idle(client)


def test_the_commands_used_here_have_no_response_callback(client):
    for command in ("GET", "MGET", "EVALSHA"):
        assert command not in client.response_callbacks


def test_at_most_max_connections_are_open_and_one_more_command_waits_for_a_free_one(client, monkeypatch):
    monkeypatch.setattr(redis_calls, "MAX_CONNECTIONS", 2)
    name = key()
    client.set(name, b"shared", ex=60)
    pool = client.connection_pool
    made = []
    connection_class = pool.connection_class

    def counted(**options):
        made.append(connection_class(**options))
        return made[-1]

    monkeypatch.setattr(pool, "connection_class", counted)
    kept = redis_calls._kept_for(pool)
    held = [redis_calls._take(kept), redis_calls._take(kept)]  # two requests in the middle of their round trips

    # A third neither opens a connection nor gets one: it fails as an unreachable Redis would, after the
    # client's connect timeout (0.5 s).
    with pytest.raises(redis.ConnectionError, match="no connection to Redis free"):
        redis_calls.execute(client, "GET", key())
    assert len(made) == 2

    redis_calls._give_back(kept, held.pop())
    assert redis_calls.execute(client, "GET", name) == b"shared"
    assert len(made) == 2  # the one given back
    redis_calls._give_back(kept, held.pop())


def test_a_failed_command_frees_its_connection_slot(unreachable_redis_url, monkeypatch):
    monkeypatch.setattr(redis_calls, "MAX_CONNECTIONS", 1)
    client = redis.Redis.from_url(unreachable_redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    for _ in range(3):
        with pytest.raises(redis.ConnectionError) as failed:
            redis_calls.execute(client, "GET", "x")
        assert "no connection to Redis free" not in str(failed.value)  # refused, not waiting on a leaked slot
    redis_calls.forget_connections()


def test_under_gevent_a_command_waiting_for_a_connection_lets_the_others_run(redis_url, tmp_path):
    result = gevent_scenario(
        kind="redis_slots",
        redis_url=redis_url,
        database={"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "unused.sqlite3")},
    )
    assert result["errors"] == {}
    assert result["events"] == ["A holds the connection", "C ran", "A gives it back", "B answered"]
    assert result["connections"] == 1
