"""Redis commands on the request path in a few Python calls: redis-py's own connections, used directly.

``Redis.execute_command`` costs about 150 Python calls per command, most of
them bookkeeping the request path does not need (the pool's lock and in-use
set, observability counters, a retry closure, response callbacks), and
``Script.__call__`` adds its own layers on top. For the few commands read on
every request (the gateway's script, the revocation reads) this module sends
the command on a connection of the client's own class and settings (address,
database, password, timeouts, TLS, protocol, parser: hiredis's when it is
installed), kept idle per connection pool and process, and reads the reply.

What stays as redis-py does it: a connection found idle is checked before use
and reconnected when the server closed it or left data on it (a Redis
restart); a failure is retried by the connection's ``Retry`` (the client's
retry policy) after closing the connection; every error raised is the one
``execute_command`` raises (``redis.ConnectionError``, ``redis.TimeoutError``,
``redis.ResponseError``); a script Redis does not know (``NOSCRIPT``, Redis
restarted empty) is loaded and run again. Only for commands whose reply
redis-py hands back unchanged (no response callback: ``GET``, ``MGET``,
``EVALSHA``); a client with client-side caching or a single connection goes
through ``execute_command``.
"""

from __future__ import annotations

import os
import threading
from collections import deque

import redis
from redis.commands.core import Script

try:
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # redis-py's own packer, in Python
    _hiredis_pack = None

# Idle connections kept per pool; more in use at once are closed when given back.
MAX_IDLE = 32
# Pools with idle connections here at once; past it every idle connection is closed and forgotten.
MAX_POOLS = 16

# id(pool) -> (pool, process id, idle connections, last in first out)
_idle: dict[int, tuple[redis.ConnectionPool, int, deque]] = {}
_idle_lock = threading.Lock()


def _connections(pool) -> deque:
    """The idle connections of ``pool`` in this process (none inherited across a fork)."""
    found = _idle.get(id(pool))
    if found is not None and found[0] is pool and found[1] == os.getpid():
        return found[2]
    with _idle_lock:
        if len(_idle) >= MAX_POOLS:
            forget_connections()
        idle: deque = deque()
        _idle[id(pool)] = (pool, os.getpid(), idle)
        return idle


def forget_connections() -> None:
    """Close every idle connection this module keeps (this process's), and forget the pools."""
    pid = os.getpid()
    for _, owner, idle in list(_idle.values()):
        while idle and owner == pid:
            try:
                idle.pop().disconnect()
            except IndexError:
                break
    _idle.clear()


def _take(pool, idle: deque):
    try:
        connection = idle.pop()
    except IndexError:
        return pool.connection_class(**pool.connection_kwargs)  # connects on its first command
    try:
        # As ConnectionPool.get_connection: a connection with something to read was closed by the server or
        # left dirty; it connects again on its first command.
        if connection.can_read():
            connection.disconnect()
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        connection.disconnect()
    return connection


def _give_back(idle: deque, connection) -> None:
    if len(idle) < MAX_IDLE:
        idle.append(connection)
    else:
        connection.disconnect()


def execute(client: redis.Redis, *args):
    """``client.execute_command(*args)``, for a command whose reply redis-py returns as read."""
    pool = client.connection_pool
    if client.connection is not None or getattr(pool, "cache", None) is not None:
        return client.execute_command(*args)
    idle = _connections(pool)
    connection = _take(pool, idle)

    def exchange():
        # The arguments here are words, str, bytes and numbers: hiredis packs them as redis-py's packers do.
        connection.send_packed_command([_hiredis_pack(args)] if _hiredis_pack else connection.pack_command(*args))
        return connection.read_response()

    try:
        reply = connection.retry.call_with_retry(exchange, lambda error: connection.disconnect())
    except redis.ResponseError:
        _give_back(idle, connection)  # an error reply, read whole: the connection is fine
        raise
    except BaseException:
        connection.disconnect()
        raise
    _give_back(idle, connection)
    return reply


def run_script(client: redis.Redis, script: Script, keys: list, args: list):
    """``script(keys=keys, args=args, client=client)``: ``EVALSHA``, and the script loaded first when Redis lacks it."""
    try:
        return execute(client, "EVALSHA", script.sha, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:
        return script(keys=keys, args=args, client=client)
