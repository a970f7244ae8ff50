"""Token revocation state in Redis: written by the auth service, read by the gateway on every request.

Three kinds of entry, each as cheap to check as a ``GET``:

    revocation:jti:<jti>          one token, until it would have expired (logout)
    revocation:family:<family>    every token of a login session, until its refresh expired
                                  (logout with the refresh token, refresh-token reuse)
    revocation:user:<id>          the user's minimum token version (password change,
                                  deactivation, "end all sessions"): tokens whose "ver"
                                  claim is lower are revoked; no expiry
    revocation:disabled:<id>      "never": the user is deactivated or deleted, every token of
                                  theirs is refused, whatever its version; after a
                                  reactivation, its instant (epoch seconds): tokens issued
                                  ("iat") before it stay refused. Written by the users
                                  service in the transaction of the change, so it holds
                                  from the commit on, before the auth service hears of
                                  it (whose token version then revokes the same tokens
                                  for good); no expiry

The auth service keeps each user's version in its database too
(``Credential.token_version``), so the Redis copy can be rebuilt; the users
service's ``Profile`` says who is disabled. Every call
raises ``RevocationUnavailable`` when Redis cannot be reached: the gateway then
refuses token-protected requests (fail closed). The reads made on every request or login go through
``common.redis_calls`` (a kept connection, few Python calls).
"""

from __future__ import annotations

import hashlib
import time

import redis
from jwt.utils import base64url_decode

from common import redis_calls

PREFIX = "revocation"
SOCKET_TIMEOUT = 0.5


class RevocationUnavailable(Exception):
    """Redis did not answer: revocation state unknown."""


_clients: dict[str, redis.Redis] = {}


def client_for(url: str) -> redis.Redis:
    """One client (and connection pool) per Redis URL per process."""
    client = _clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT)
        _clients[url] = client
    return client


def legacy_token_id(raw_token: str) -> str:
    """A stable id for a token that has no ``jti`` (the monolith's): a hash of what was signed, not of its spelling.

    base64url spells the same bytes in more than one way (the unused low bits of a
    last character, padding), and a verifier decodes before it checks; so the id is
    made from the decoded header, payload and signature, each length-prefixed, and
    every spelling of one token shares its revocation.
    """
    digest = hashlib.sha256()
    for segment in raw_token.split("."):
        part = base64url_decode(segment.encode())
        digest.update(len(part).to_bytes(8, "big") + part)
    return "legacy-" + digest.hexdigest()[:32]


def _ttl(expires_at: int) -> int:
    return max(int(expires_at - time.time()), 1)


def revoke_token(client: redis.Redis, jti: str, expires_at: int) -> None:
    """Revoke one token until it would have expired anyway."""
    try:
        client.set(f"{PREFIX}:jti:{jti}", 1, ex=_ttl(expires_at))
    except redis.RedisError as exc:
        raise RevocationUnavailable(str(exc)) from exc


def revoke_family(client: redis.Redis, family: str, expires_at: int) -> None:
    """Revoke every token issued under one login session (refresh-token family)."""
    try:
        client.set(f"{PREFIX}:family:{family}", 1, ex=_ttl(expires_at))
    except redis.RedisError as exc:
        raise RevocationUnavailable(str(exc)) from exc


def set_minimum_version(client: redis.Redis, user_id: int, version: int) -> None:
    """Revoke every token of ``user_id`` whose version is below ``version``."""
    try:
        client.set(f"{PREFIX}:user:{user_id}", version)
    except redis.RedisError as exc:
        raise RevocationUnavailable(str(exc)) from exc


def _disabled_key(user_id: int) -> str:
    return f"{PREFIX}:disabled:{user_id}"


NEVER = "never"


def user_disable(client: redis.Redis, user_id: int) -> None:
    """Refuse every token of ``user_id`` from now on (deactivated or deleted), until ``user_enable``."""
    try:
        client.set(_disabled_key(user_id), NEVER)
    except redis.RedisError as exc:
        raise RevocationUnavailable(str(exc)) from exc


def user_enable(client: redis.Redis, user_id: int, *, at: int) -> None:
    """Accept ``user_id``'s tokens issued from ``at`` (epoch seconds) on: a reactivation.

    Tokens issued before stay refused: a deactivation ended them, even before the
    auth service revokes them by version.
    """
    try:
        client.set(_disabled_key(user_id), at)
    except redis.RedisError as exc:
        raise RevocationUnavailable(str(exc)) from exc


def _refused_by_status(value, issued_at: float) -> bool:
    """Whether the value of ``revocation:disabled:<id>`` refuses a token issued at ``issued_at``."""
    if value is None:
        return False
    text = value.decode() if isinstance(value, bytes) else str(value)
    return not text.isdigit() or issued_at < int(text)


def user_tokens_refused(client: redis.Redis, user_id: int, *, issued_at: float) -> bool:
    """Whether the users service refuses ``user_id``'s tokens issued at ``issued_at`` (``user_disable``). One round trip.

    A token about to be issued (a login): ``issued_at`` now.
    """
    try:
        return _refused_by_status(redis_calls.execute(client, "GET", _disabled_key(user_id)), issued_at)
    except redis.RedisError as exc:
        raise RevocationUnavailable(str(exc)) from exc


def revocation_keys(*, user_id: int, jti: str, family: str | None) -> list[str]:
    """The keys that say whether a token with these claims was revoked, in the order ``revoked`` reads them."""
    keys = [f"{PREFIX}:jti:{jti}", f"{PREFIX}:user:{user_id}", _disabled_key(user_id)]
    if family:
        keys.append(f"{PREFIX}:family:{family}")
    return keys


def revoked(values: list, *, version: int, issued_at: float) -> bool:
    """Whether the values of ``revocation_keys`` revoke a token of ``version`` issued at ``issued_at``."""
    token_revoked, minimum_version, status, *family_revoked = values
    if token_revoked is not None or any(value is not None for value in family_revoked):
        return True
    if _refused_by_status(status, issued_at):
        return True
    return minimum_version is not None and version < int(minimum_version)


def is_revoked(
    client: redis.Redis, *, user_id: int, jti: str, version: int, family: str | None, issued_at: float
) -> bool:
    """Whether a token with these claims was revoked. One round trip."""
    try:
        values = redis_calls.execute(client, "MGET", *revocation_keys(user_id=user_id, jti=jti, family=family))
    except redis.RedisError as exc:
        raise RevocationUnavailable(str(exc)) from exc
    return revoked(values, version=version, issued_at=issued_at)
