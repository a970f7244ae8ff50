"""Rate limits at the edge: django-ratelimit's fixed windows and counters, counted in one Redis round trip.

Every request counts against a per-IP ceiling; a login (and a change of
password, which checks one too) also against its IP's login limit and the
account it names, a registration against its IP's limit.
Each limit is a fixed window of its own (``GATEWAY_RATE_LIMIT_*``), with
django-ratelimit's rate syntax, window edges and counter keys in the
``ratelimit`` cache, so its counters mean what they always did. The counting is
done here by one script per request (django-ratelimit spends an ``add`` and an
``incr`` per limit): limits are counted from the widest to the narrowest and the
first one reached ends the counting, so a refused request does not use up the
others; when none is reached, the same round trip reads whatever keys the
request needs next (a token's revocation state, an edge copy). When Redis
cannot be reached the counters read as unknown and nothing is limited (fail
open): an outage of the counter store must not lock every client out.
"""

from __future__ import annotations

import functools
import time
import zlib
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import caches
from django_ratelimit import ALL
from django_ratelimit.core import EXPIRATION_FUDGE, _make_cache_key, _split_rate

from common import redis_calls
from common.emails import login_key
from common.errors import error_response
from common.json_body import BodyError, json_body

from .client_ip import client_ip
from .routing import matches

LOGIN_PATH = "/api/login"
CHANGE_PASSWORD_PATH = "/api/change-password"
REGISTER_PATH = "/api/register"
# The process probes touch nothing else, Redis included.
UNLIMITED_PATHS = frozenset({"/health", "/ready"})

# KEYS: the limits' counters, then the keys to read. ARGV: how many counters, then per counter its
# expiry (s) and its limit. Returns the counts made, and the values read (nil when a limit was reached).
_COUNT_THEN_READ = """
local counters = tonumber(ARGV[1])
local counts = {}
for i = 1, counters do
  local count = 1
  if not redis.call('SET', KEYS[i], 1, 'NX', 'EX', ARGV[2 * i]) then
    count = redis.call('INCR', KEYS[i])
  end
  counts[i] = count
  if count > tonumber(ARGV[2 * i + 1]) then
    return {counts}
  end
end
if #KEYS > counters then
  return {counts, redis.call('MGET', unpack(KEYS, counters + 1))}
end
return {counts, {}}
"""


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit a request counts against: django-ratelimit's group and rate, for one key value (an IP, an account)."""

    group: str
    rate: str
    value: str

    def counter(self, now: int) -> tuple[str, int, int, int]:
        """(cache key, expiry, limit, seconds left in the window), as django-ratelimit's ``get_usage`` makes them."""
        limit, period = _rate(self.rate)
        # django_ratelimit.core._get_window, for the time the script counts at.
        window = now - (now % period) + (zlib.crc32(self.value.encode()) % period) if period > 1 else now
        if window < now:
            window += period
        key = _counter_key(self.group, window, self.rate, self.value)
        return key, period + EXPIRATION_FUDGE, limit, max(window - now, 1)


# A rate's (limit, period), and a window's counter key (a hash), made once rather than on every request:
# a client's key stays the same for its whole window.
_rate = functools.lru_cache(maxsize=64)(_split_rate)


@functools.lru_cache(maxsize=4096)
def _counter_key(group: str, window: int, rate: str, value: str) -> str:
    return _make_cache_key(group, window, rate, value, ALL)


_script = None


def _server(client: redis.Redis) -> tuple:
    kwargs = client.connection_pool.connection_kwargs
    return kwargs.get("host"), kwargs.get("port"), kwargs.get("db", 0), kwargs.get("path")


# (id(read client), id(counters' client)) -> (read client, counters' client, whether both are one Redis):
# the clients live as long as their process (or a test's settings), so this is asked once per pair.
_same_server: dict[tuple[int, int], tuple[redis.Redis, redis.Redis, bool]] = {}


def _one_redis(read_client: redis.Redis, counters: redis.Redis) -> bool:
    found = _same_server.get((id(read_client), id(counters)))
    if found is not None and found[0] is read_client and found[1] is counters:
        return found[2]
    if len(_same_server) >= 64:
        _same_server.clear()
    same = _server(read_client) == _server(counters)
    _same_server[id(read_client), id(counters)] = (read_client, counters, same)
    return same


class TooManyRequests(Exception):
    """A limit was reached: the client waits ``retry_after`` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


class ReadFailed(Exception):
    """The keys a request needed could not be read (Redis down or not answering)."""


def login_account(request) -> str | None:
    """The account a login body names, as the auth service will look it up; ``None`` when it names none.

    The body is read as the auth service reads it (``common.json_body``: its
    charset, the same bounds) and the address keyed as it looks it up
    (``common.emails.login_key``), so no re-spelling of an address is a fresh count.
    """
    try:
        body = json_body(request)
    except BodyError:
        return None
    email = body.get("email") if isinstance(body, dict) else None
    return login_key(email) if isinstance(email, str) else None


def identity_limits(request, email: str) -> list[Limit]:
    """The limits a request counts against once its token is verified: a change of password, its account's.

    Counted under the key a login to the account counts under, so guesses at a
    password by login and by change of password share one count; a forged
    token counts against no one's account.
    """
    account = login_key(email) if request.method == "PUT" and matches(CHANGE_PASSWORD_PATH, request.path) else None
    if not account:
        return []
    return [Limit("gateway.login.account", settings.GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT, account)]


def limits_for(request) -> list[Limit]:
    """The limits ``request`` counts against, widest first."""
    if request.path in UNLIMITED_PATHS:
        return []
    ip = client_ip(request)
    limits = [Limit("gateway.global", settings.GATEWAY_RATE_LIMIT_GLOBAL, ip)]
    # A password checked against an account: a login, or a change of password with the current one (a stolen
    # token must not make an unlimited password oracle), under the same limits and the same counters. A change
    # counts against its account once its token is verified (identity_limits).
    if request.method == "PUT" and matches(CHANGE_PASSWORD_PATH, request.path):
        limits.append(Limit("gateway.login.ip", settings.GATEWAY_RATE_LIMIT_LOGIN_IP, ip))
    elif request.method == "POST" and matches(LOGIN_PATH, request.path):
        limits.append(Limit("gateway.login.ip", settings.GATEWAY_RATE_LIMIT_LOGIN_IP, ip))
        account = login_account(request)
        if account:
            limits.append(Limit("gateway.login.account", settings.GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT, account))
    elif request.method == "POST" and matches(REGISTER_PATH, request.path):
        limits.append(Limit("gateway.register.ip", settings.GATEWAY_RATE_LIMIT_REGISTER_IP, ip))
    return limits


def count_then_read(limits: list[Limit], keys: list[str], read_client: redis.Redis | None = None) -> list:
    """Count ``limits``; unless one is reached (``TooManyRequests``), the values of ``keys`` from ``read_client``.

    One round trip when the counters live in the Redis ``keys`` are read from
    (as configured), two otherwise. Counting that fails is not limiting;
    reading that fails is ``ReadFailed``.
    """
    global _script
    if not limits and not keys:
        return []  # the process probes: Redis is not asked anything
    cache = caches[settings.RATELIMIT_USE_CACHE]
    counters = cache.client.get_client(write=True)
    same_redis = read_client is None or _one_redis(read_client, counters)
    if _script is None:
        _script = counters.register_script(_COUNT_THEN_READ)
    now = int(time.time())
    made = [limit.counter(now) for limit in limits]
    args = [len(made)]
    for _, expiry, limit, _ in made:
        args += [expiry, limit]
    counter_keys = [str(cache.make_key(key)) for key, _, _, _ in made]
    read_here = keys if same_redis else []
    try:
        counts, *read = redis_calls.run_script(counters, _script, [*counter_keys, *read_here], args)
    except redis.RedisError:
        counts, read = [], None  # fail open; the keys are read on their own below
    for (_, _, limit, left), count in zip(made, counts):
        if count > limit:
            raise TooManyRequests(left)
    if not keys:
        return []
    if read and same_redis:
        return read[0]
    try:
        return redis_calls.execute(read_client or counters, "MGET", *keys)
    except redis.RedisError as exc:
        raise ReadFailed(str(exc)) from exc


def too_many_requests(retry_after: int):
    """The answer to a request over a limit."""
    return error_response("Too many requests", 429, headers={"Retry-After": str(retry_after)})
