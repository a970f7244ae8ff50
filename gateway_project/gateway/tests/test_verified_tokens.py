"""A token's signature is checked once per process; its expiry and its revocation on every request."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from gateway import authentication

from .tokens import access_token, bearer

ROUTES = {"/api/profile": {"upstream": "users", "auth": "token"}}


@pytest.fixture
def upstream(start_upstream):
    upstream = start_upstream()
    with override_settings(GATEWAY_UPSTREAMS={"users": upstream.url}, GATEWAY_ROUTES=ROUTES):
        yield upstream


@pytest.fixture
def verifications(monkeypatch):
    """How many times a token's signature was checked."""
    counted = []
    original = authentication._verify
    monkeypatch.setattr(authentication, "_verify", lambda raw: counted.append(raw) or original(raw))
    monkeypatch.setattr(authentication, "_verified", {})
    return counted


def test_a_token_sent_again_is_not_verified_again(client, upstream, verifications):
    token = access_token()
    statuses = [client.get("/api/profile", headers=bearer(token)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert verifications == [token]


def test_a_kept_token_past_its_expiry_is_verified_again_and_refused(client, upstream, verifications, monkeypatch):
    token = access_token(exp=int(time.time()) + 60)
    assert client.get("/api/profile", headers=bearer(token)).status_code == 200

    later = time.time() + 120
    monkeypatch.setattr(authentication.time, "time", lambda: later)
    monkeypatch.setattr("jwt.api_jwt.datetime", _FrozenDatetime(later), raising=False)
    response = client.get("/api/profile", headers=bearer(token))

    assert (response.status_code, response.json()) == (403, {"error": "Invalid or expired token"})
    assert verifications == [token, token]


def test_a_refused_token_is_not_kept(client, upstream, verifications):
    forged = access_token()[:-4] + "AAAA"
    for _ in range(2):
        assert client.get("/api/profile", headers=bearer(forged)).status_code == 403
    assert verifications == [forged, forged]
    assert authentication._verified == {}


def test_the_kept_tokens_are_bounded_oldest_first(client, upstream, verifications, monkeypatch):
    monkeypatch.setattr(authentication, "VERIFIED_TOKENS_MAX", 2)
    tokens = [access_token() for _ in range(3)]
    for token in tokens:
        client.get("/api/profile", headers=bearer(token))
    assert list(authentication._verified) == tokens[1:]


def test_changing_the_accepted_keys_forgets_every_kept_token(client, upstream, verifications, settings):
    token = access_token()
    client.get("/api/profile", headers=bearer(token))
    settings.JWT_PUBLIC_KEYS = [*settings.JWT_PUBLIC_KEYS]
    assert authentication._verified == {}


class _FrozenDatetime:
    """``datetime`` as PyJWT uses it, with ``now`` at a given epoch second."""

    def __init__(self, epoch: float):
        import datetime

        self._datetime = datetime.datetime
        self._epoch = epoch

    def now(self, tz=None):
        return self._datetime.fromtimestamp(self._epoch, tz)

    def __getattr__(self, name):
        return getattr(self._datetime, name)
