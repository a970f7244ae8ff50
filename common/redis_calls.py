"""Redis commands on the request path in a few Python calls: redis-py's own connections, used directly.

``Redis.execute_command`` costs about 150 Python calls per command, most of
them bookkeeping the request path does not need (the pool's lock and in-use
set, observability counters, a retry closure, response callbacks), and
``Script.__call__`` adds its own layers on top. For the few commands read on
every request (the gateway's script, the revocation reads) this module sends
the command on a connection of the client's own class and settings (address,
database, password, timeouts, TLS, protocol, parser: hiredis's when it is
installed), kept idle per connection pool and process, and reads the reply. At
most ``MAX_CONNECTIONS`` per pool and process, in use or idle: a command finding
them all in use waits for one.

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

from common.green import gevent_patched

try:
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # redis-py's own packer, in Python
    _hiredis_pack = None

# Connections per pool and process, in use or idle. A command finding all of them in use waits for one, up to
# the client's connect timeout, then fails as an unreachable Redis would: under gevent a worker serves up to a
# thousand requests at once, and each opening (and later closing) a connection of its own churned connections.
MAX_CONNECTIONS = 32
# When the client sets no timeout: seconds a command waits for a connection.
DEFAULT_WAIT = 5.0
# Pools with connections kept here at once; past it every idle connection is closed and forgotten.
MAX_POOLS = 16


class _Kept:
    """One pool's connections in this process: the idle ones (last in, first out) and the slots of all of them."""

    __slots__ = ("pool", "pid", "idle", "slots", "wait")

    def __init__(self, pool):
        self.pool = pool
        self.pid = os.getpid()
        self.idle: deque = deque()
        self.slots = _semaphore(MAX_CONNECTIONS)
        options = pool.connection_kwargs
        self.wait = options.get("socket_connect_timeout") or options.get("socket_timeout") or DEFAULT_WAIT


def _semaphore(value: int):
    """A semaphore a thread waits on, or, where gevent has patched the process, a greenlet (the others run meanwhile).

    gevent's own under gevent: the standard library's, built on patched locks, waits
    cooperatively too, at some twenty times the cost of a take and a give back.
    """
    if gevent_patched():
        from gevent.lock import BoundedSemaphore

        return BoundedSemaphore(value)
    return threading.BoundedSemaphore(value)


# id(pool) -> its connections here
_kept: dict[int, _Kept] = {}
_kept_lock = threading.Lock()


def _kept_for(pool) -> _Kept:
    """``pool``'s connections in this process (none inherited across a fork)."""
    found = _kept.get(id(pool))
    if found is not None and found.pool is pool and found.pid == os.getpid():
        return found
    with _kept_lock:
        if len(_kept) >= MAX_POOLS:
            forget_connections()
        kept = _kept[id(pool)] = _Kept(pool)
        return kept


def forget_connections() -> None:
    """Close every idle connection this module keeps (this process's), and forget the pools."""
    pid = os.getpid()
    for kept in list(_kept.values()):
        while kept.idle and kept.pid == pid:
            try:
                kept.idle.pop().disconnect()
            except IndexError:
                break
    _kept.clear()


def _take(kept: _Kept):
    """An idle connection of ``kept``, else a new one (it connects on its first command), once a slot is free."""
    if not kept.slots.acquire(timeout=kept.wait):
        raise redis.ConnectionError(f"no connection to Redis free within {kept.wait} s ({MAX_CONNECTIONS} in use)")
    try:
        try:
            connection = kept.idle.pop()
        except IndexError:
            return kept.pool.connection_class(**kept.pool.connection_kwargs)
        try:
            # As ConnectionPool.get_connection: a connection with something to read was closed by the server or
            # left dirty; it connects again on its first command.
            if connection.can_read():
                connection.disconnect()
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            connection.disconnect()
        return connection
    except BaseException:
        kept.slots.release()  # no connection came of it
        raise


def _give_back(kept: _Kept, connection) -> None:
    """``connection``, sound, back to ``kept``'s idle ones, its slot free again."""
    kept.idle.append(connection)
    kept.slots.release()


def execute(client: redis.Redis, *args):
    """``client.execute_command(*args)``, for a command whose reply redis-py returns as read."""
    pool = client.connection_pool
    if client.connection is not None or getattr(pool, "cache", None) is not None:
        return client.execute_command(*args)
    kept = _kept_for(pool)
    connection = _take(kept)

    def exchange():
        # The arguments here are words, str, bytes and numbers: hiredis packs them as redis-py's packers do.
        connection.send_packed_command([_hiredis_pack(args)] if _hiredis_pack else connection.pack_command(*args))
        return connection.read_response()

    try:
        reply = connection.retry.call_with_retry(exchange, lambda error: connection.disconnect())
    except redis.ResponseError:
        _give_back(kept, connection)  # an error reply, read whole: the connection is fine
        raise
    except BaseException:
        connection.disconnect()
        kept.slots.release()  # its slot free again, the connection not kept
        raise
    _give_back(kept, connection)
    return reply


def run_script(client: redis.Redis, script: Script, keys: list, args: list):
    """``script(keys=keys, args=args, client=client)``: ``EVALSHA``, and the script loaded first when Redis lacks it."""
    try:
        return execute(client, "EVALSHA", script.sha, len(keys), *keys, *args)
    except redis.exceptions.NoScriptError:
        return script(keys=keys, args=args, client=client)
