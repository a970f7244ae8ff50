"""Edge reads: per-user answers the gateway may serve from a copy, and the revisions that say a copy is current.

The owner of a user's data (the users service) keeps a revision per user in its
database and advances it in the transaction of every change to what the user's
own GETs show; before that transaction commits it raises the user's *current
revision* in Redis to the new value (``revisions_raise``). A GET it answers names
the revision its data was read at (``REVISION_HEADER``). The gateway keeps a copy
of such an answer under that revision and serves it only while the current
revision in Redis equals it. Why no interleaving of writers, readers, crashes and
Redis restarts serves old data: docs/architecture.md, "Edge reads".

Keys (``<service>`` is the owner's upstream name, ``<user>`` the user id):

    edge:<service>:rev:<user>             the current revision (expires; missing = unknown)
    edge:<service>:copy:<user>:<target>   a copy of the answer to GET <target> (path and query)
"""

from __future__ import annotations

import time

import redis

from common.revocation import client_for

PREFIX = "edge"
# Set by the owner on a per-user GET answer the gateway may keep: the revision its data was read at.
REVISION_HEADER = "X-Edge-Revision"
# Set by the gateway on the request it forwards for an edge route: the current revision it read
# ("none" when Redis had none). The owner re-establishes a missing or lower one (``revision_needs_raise``).
KNOWN_REVISION_HEADER = "X-Internal-Edge-Revision"
UNKNOWN = "none"

# Raises each key to its value unless it is already at or above it, and (re)sets its expiry.
# KEYS: revision keys; ARGV: the expiry in seconds, then one revision per key.
_RAISE_SCRIPT = """
for i, key in ipairs(KEYS) do
  local wanted = tonumber(ARGV[i + 1])
  local current = tonumber(redis.call('GET', key) or '-1')
  if current < wanted then
    redis.call('SET', key, ARGV[i + 1], 'EX', ARGV[1])
  else
    redis.call('EXPIRE', key, ARGV[1])
  end
end
return #KEYS
"""


class EdgeUnavailable(Exception):
    """Redis did not take a revision: the change must not commit."""


def revision_key(service: str, user_id: int | str) -> str:
    return f"{PREFIX}:{service}:rev:{user_id}"


def copy_key(service: str, user_id: int | str, target: str) -> str:
    return f"{PREFIX}:{service}:copy:{user_id}:{target}"


def next_revision(previous: int = 0) -> int:
    """A revision after ``previous``, and after every revision handed out earlier (microseconds since the epoch).

    Time-based, so a user id deleted and used again never meets a revision (and a
    copy) of its former owner.
    """
    return max(previous + 1, time.time_ns() // 1000)


def revisions_raise(redis_url: str, service: str, revisions: dict[int, int], ttl: int) -> None:
    """Raise each user's current revision to at least the given one, in one round trip; ``EdgeUnavailable`` if not.

    Call it inside the transaction that writes those revisions, after taking their
    rows' locks and before the commit.
    """
    if not revisions:
        return
    client = client_for(redis_url)
    keys = [revision_key(service, user_id) for user_id in revisions]
    try:
        client.eval(_RAISE_SCRIPT, len(keys), *keys, ttl, *revisions.values())
    except redis.RedisError as exc:
        raise EdgeUnavailable(str(exc)) from exc


def revision_needs_raise(known: str | None, revision: int) -> bool:
    """Whether the current revision the gateway read (``KNOWN_REVISION_HEADER``) is missing or behind ``revision``.

    No header: the gateway keeps no copy of this answer (edge reads off), so nothing needs raising.
    """
    if known is None:
        return False
    return not known.isdigit() or int(known) < revision
