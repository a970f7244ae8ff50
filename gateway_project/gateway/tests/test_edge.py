"""Edge reads at the gateway: a current copy served, anything else forwarded, the copy kept when the service allows."""

from __future__ import annotations

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY

from common import edge, revocation
from gateway.routing import validate_routes

from .conftest import json_answer
from .tokens import access_token, bearer, new_user_id

ROUTES = {
    "/api/profile": {"upstream": "users", "auth": "token", "edge": True},
    "/api/other": {"upstream": "users", "auth": "token"},
}


class Owner:
    """A users service stand-in: answers with the user's data at its revision, marked keepable."""

    def __init__(self):
        self.revision = 1000
        self.name = "Ada"
        self.keepable = True
        self.status = 200

    def respond(self, received):
        headers = [(edge.REVISION_HEADER, str(self.revision))] if self.keepable else []
        return json_answer(self.status, {"user": {"name": self.name}, "target": received.target}, headers)


@pytest.fixture
def owner(start_upstream):
    owner = Owner()
    owner.upstream = start_upstream(owner.respond)
    with override_settings(GATEWAY_UPSTREAMS={"users": owner.upstream.url}, GATEWAY_ROUTES=ROUTES):
        yield owner


@pytest.fixture
def user(gateway_redis):
    """(user id, auth headers, ``current(revision)``: what a users service's change does to Redis)."""
    user_id = new_user_id()

    def current(revision: int) -> None:
        edge.revisions_raise(gateway_redis, "users", {user_id: revision}, ttl=60)

    return user_id, bearer(access_token(user_id)), current


def get(client, headers, path="/api/profile", **extra):
    return client.get(path, headers=headers, **extra)


def test_a_current_copy_is_served_without_asking_the_service(client, owner, user):
    _, headers, current = user
    current(owner.revision)

    first, second = get(client, headers), get(client, headers)

    assert len(owner.upstream.received) == 1
    assert second.status_code == 200 and second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert second["Content-Type"] == "application/json"
    assert first["Content-Length"] == second["Content-Length"] == str(len(second.content))
    assert edge.REVISION_HEADER not in first and edge.REVISION_HEADER not in second


def test_the_service_is_told_the_current_revision_the_gateway_read(client, owner, user):
    _, headers, current = user
    get(client, headers)
    current(owner.revision + 1)
    get(client, headers)

    told = [received.header(edge.KNOWN_REVISION_HEADER) for received in owner.upstream.received]
    assert told == [edge.UNKNOWN, str(owner.revision + 1)]


def test_a_client_cannot_tell_the_service_a_revision(client, owner, user):
    _, headers, _ = user
    get(client, {**headers, "X-Internal-Edge-Revision": "999"})
    get(client, {**headers, "X-Internal-Edge-Revision": "none"})
    assert {received.header(edge.KNOWN_REVISION_HEADER) for received in owner.upstream.received} == {edge.UNKNOWN}


def test_a_copy_older_than_the_current_revision_is_never_served(client, owner, user):
    _, headers, current = user
    current(owner.revision)
    get(client, headers)
    owner.revision, owner.name = owner.revision + 1, "Changed"
    current(owner.revision)  # what the users service does before its change commits

    assert get(client, headers).json()["user"]["name"] == "Changed"
    assert get(client, headers).json()["user"]["name"] == "Changed"
    assert len(owner.upstream.received) == 2


def test_without_a_current_revision_every_read_is_forwarded(client, owner, user):
    _, headers, _ = user
    for _ in range(3):
        get(client, headers)
    assert len(owner.upstream.received) == 3


def test_a_copy_is_kept_per_user(client, owner, user):
    _, headers, current = user
    current(owner.revision)
    get(client, headers)
    other_id = new_user_id()
    edge.revisions_raise(revocation_url(), "users", {other_id: owner.revision}, ttl=60)

    get(client, bearer(access_token(other_id)))

    assert len(owner.upstream.received) == 2


def test_a_copy_is_kept_per_path_and_query(client, owner, user):
    _, headers, current = user
    current(owner.revision)
    for path in ["/api/profile", "/api/profile/preferences", "/api/profile?x=1", "/api/profile", "/api/profile?x=1"]:
        assert get(client, headers, path).json()["target"] == path
    assert [received.target for received in owner.upstream.received] == [
        "/api/profile",
        "/api/profile/preferences",
        "/api/profile?x=1",
    ]


def test_a_revoked_token_is_refused_even_with_a_current_copy(client, owner, user):
    user_id, headers, current = user
    current(owner.revision)
    get(client, headers)
    revocation.set_minimum_version(revocation.client_for(revocation_url()), user_id, 5)
    try:
        response = get(client, headers)
    finally:
        revocation.client_for(revocation_url()).delete(f"{revocation.PREFIX}:user:{user_id}")

    assert (response.status_code, response.json()) == (403, {"error": "Invalid or expired token"})


def test_a_disabled_users_token_is_refused_even_with_a_current_copy(client, owner, user):
    """Deactivated or deleted at the users service: the copy is never served, whatever the token's version."""
    user_id, headers, current = user
    current(owner.revision)
    get(client, headers)
    revocation.user_disable(revocation.client_for(revocation_url()), user_id)
    try:
        response = get(client, headers)
    finally:
        revocation.client_for(revocation_url()).delete(f"{revocation.PREFIX}:disabled:{user_id}")

    assert (response.status_code, response.json()) == (403, {"error": "Invalid or expired token"})
    assert len(owner.upstream.received) == 1


@pytest.mark.parametrize("why", ["not marked", "an error"])
def test_an_answer_the_service_did_not_mark_or_an_error_is_not_kept(client, owner, user, why):
    _, headers, current = user
    current(owner.revision)
    if why == "not marked":
        owner.keepable = False
    else:
        owner.status = 404
    get(client, headers)
    get(client, headers)
    assert len(owner.upstream.received) == 2


def test_if_none_match_gets_a_304_from_the_copy_and_from_a_forwarded_answer(client, owner, user):
    _, headers, current = user
    etag = get(client, headers)["ETag"]  # forwarded, no current revision yet
    forwarded = get(client, headers, HTTP_IF_NONE_MATCH=etag)
    current(owner.revision)
    get(client, headers)
    served = get(client, headers, HTTP_IF_NONE_MATCH=f'"other", W/{etag}')

    for response in (forwarded, served):
        assert (response.status_code, response.content, response["ETag"]) == (304, b"", etag)
        assert not response.has_header("Content-Length")
    assert len(owner.upstream.received) == 2  # the copy the second request kept served the last two


def test_each_outcome_is_counted(client, owner, user):
    _, headers, current = user
    current(owner.revision)

    def counts():
        return [
            REGISTRY.get_sample_value("gateway_edge_reads_total", {"route": "/api/profile", "outcome": outcome}) or 0.0
            for outcome in ("miss", "hit", "not_modified")
        ]

    before = counts()
    etag = get(client, headers)["ETag"]  # forwarded, kept
    get(client, headers)
    get(client, headers)
    get(client, headers, HTTP_IF_NONE_MATCH=etag)

    assert [after - earlier for after, earlier in zip(counts(), before)] == [1, 2, 1]


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "HEAD"])
def test_other_methods_are_always_forwarded(client, owner, user, method):
    _, headers, current = user
    current(owner.revision)
    get(client, headers)
    client.generic(method, "/api/profile", data=b"{}", content_type="application/json", headers=headers)
    assert [received.method for received in owner.upstream.received] == ["GET", method]


def test_a_route_without_edge_reads_is_forwarded_every_time_without_etag(client, owner, user):
    _, headers, current = user
    current(owner.revision)
    responses = [get(client, headers, "/api/other") for _ in range(2)]
    assert len(owner.upstream.received) == 2
    assert all("ETag" not in response for response in responses)
    assert all(received.header(edge.KNOWN_REVISION_HEADER) is None for received in owner.upstream.received)


def test_edge_reads_switched_off_forward_everything_as_before(client, owner, user):
    _, headers, current = user
    current(owner.revision)
    with override_settings(GATEWAY_EDGE_READS=False):
        responses = [get(client, headers) for _ in range(2)]
    assert len(owner.upstream.received) == 2
    assert all("ETag" not in response and edge.REVISION_HEADER not in response for response in responses)


def test_a_copy_that_is_not_one_is_ignored(client, owner, user, gateway_redis):
    user_id, headers, current = user
    current(owner.revision)
    revocation.client_for(gateway_redis).set(edge.copy_key("users", user_id, "/api/profile"), b"garbage")
    assert get(client, headers).json()["user"]["name"] == "Ada"
    assert len(owner.upstream.received) == 1


def test_edge_reads_need_a_token_route():
    problems = validate_routes({"/api/x": {"upstream": "users", "edge": True}}, {"users": "http://127.0.0.1:1"})
    assert problems == ["route '/api/x' has edge reads without a token: copies are kept per user"]


def revocation_url() -> str:
    from django.conf import settings

    return settings.REDIS_URL
