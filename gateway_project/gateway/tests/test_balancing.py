"""Several addresses per upstream: round robin, skipping one that refuses connections, and what is sent again."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY

from gateway import proxy
from gateway.balancing import Balancer
from gateway.routing import upstreams_in_use

from .conftest import json_answer


class Clock:
    """A monotonic clock a test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def first_choices(balancer: Balancer, count: int) -> list[str]:
    return [balancer.attempt_order()[0].url for _ in range(count)]


def urls(addresses) -> list[str]:
    return [address.url for address in addresses]


ERROR_KINDS = ("connect", "busy", "timeout", "protocol", "5xx")


def error_series(url: str, kind: str, upstream: str = "users") -> float | None:
    """The counter's value, or None while the series does not exist."""
    return REGISTRY.get_sample_value("gateway_upstream_errors_total", {"upstream": upstream, "url": url, "kind": kind})


def upstream_errors(url: str, kind: str, upstream: str = "users") -> float:
    # The registry lives as long as the process, and a free port may be one an earlier test used:
    # tests compare with the count before, never with an absolute number.
    return error_series(url, kind, upstream) or 0.0


def spread_over(*upstream_urls: str, **extra):
    """Settings sending every ``/api`` path to an upstream "users" served at ``upstream_urls``."""
    return override_settings(
        GATEWAY_UPSTREAMS={"users": ",".join(upstream_urls)}, GATEWAY_ROUTES={"/api": "users"}, **extra
    )


def assert_json_error(response, status: int, message: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": message}


# THE BALANCER
# ------------------------------------------------------------------------------


def test_round_robin_starts_each_request_at_the_next_address_and_offers_every_one():
    balancer = Balancer("users", ("http://a", "http://b", "http://c"), cooldown=5.0)

    orders = [urls(balancer.attempt_order()) for _ in range(4)]

    assert orders == [
        ["http://a", "http://b", "http://c"],
        ["http://b", "http://c", "http://a"],
        ["http://c", "http://a", "http://b"],
        ["http://a", "http://b", "http://c"],
    ]


def test_an_address_that_failed_to_connect_is_skipped_until_its_cooldown_ends_then_tried_first_once():
    clock = Clock()
    balancer = Balancer("users", ("http://a", "http://b", "http://c"), cooldown=5.0, clock=clock)
    a, b, c = balancer.addresses

    balancer.connect_failed(b, ConnectionRefusedError())
    clock.now += 4.9
    assert all(b not in balancer.attempt_order() for _ in range(6))

    clock.now += 0.1
    trial = balancer.attempt_order()
    assert trial[0] is b and set(trial) == {a, b, c}
    # While the trial is under way, no other request tries it.
    assert all(b not in balancer.attempt_order() for _ in range(6))

    balancer.connected(b)
    assert sorted(first_choices(balancer, 6)) == ["http://a", "http://a", "http://b", "http://b", "http://c", "http://c"]


def test_a_failed_trial_skips_the_address_for_another_cooldown():
    clock = Clock()
    balancer = Balancer("users", ("http://a", "http://b"), cooldown=5.0, clock=clock)
    a, b = balancer.addresses
    balancer.connect_failed(b, ConnectionRefusedError())
    clock.now += 5.0
    assert balancer.attempt_order()[0] is b

    balancer.connect_failed(b, ConnectionRefusedError())
    clock.now += 4.0
    assert all(balancer.attempt_order() == (a,) for _ in range(4))
    clock.now += 1.0
    assert balancer.attempt_order()[0] is b


def test_with_every_address_skipped_a_request_still_tries_the_one_back_soonest():
    clock = Clock()
    balancer = Balancer("users", ("http://a", "http://b"), cooldown=5.0, clock=clock)
    a, b = balancer.addresses
    balancer.connect_failed(b, ConnectionRefusedError())
    clock.now += 1.0
    balancer.connect_failed(a, ConnectionRefusedError())

    assert balancer.attempt_order() == (b,)
    assert balancer.attempt_order() == (b,)


def test_a_single_address_is_always_tried():
    balancer = Balancer("users", ("http://a",), cooldown=5.0)
    [a] = balancer.addresses
    balancer.connect_failed(a, ConnectionRefusedError())

    assert balancer.attempt_order() == (a,)
    assert a.skipped_until == 0.0


# THROUGH THE PROXY
# ------------------------------------------------------------------------------


def test_requests_alternate_between_the_addresses(client, start_upstream):
    first, second = start_upstream(), start_upstream()
    with spread_over(first.url, second.url):
        statuses = [client.get(f"/api/profile?n={n}").status_code for n in range(6)]

    assert statuses == [200] * 6
    assert [r.target for r in first.received] == ["/api/profile?n=0", "/api/profile?n=2", "/api/profile?n=4"]
    assert [r.target for r in second.received] == ["/api/profile?n=1", "/api/profile?n=3", "/api/profile?n=5"]


def test_a_refused_address_is_skipped_and_every_request_even_a_post_reaches_the_other_once(
    client, closed_url, echo_upstream
):
    connect_errors = upstream_errors(closed_url, "connect")
    with spread_over(closed_url, echo_upstream.url):
        responses = [client.post("/api/register", data={"n": n}, content_type="application/json") for n in range(4)]

    assert [response.status_code for response in responses] == [200] * 4
    assert [json.loads(r.body) for r in echo_upstream.received] == [{"n": n} for n in range(4)]
    # Tried once, then skipped for the cooldown (5 s by default).
    assert upstream_errors(closed_url, "connect") == connect_errors + 1


def test_an_address_that_comes_back_is_used_again(client, start_upstream):
    steady, restarting = start_upstream(), start_upstream()
    port = restarting.port
    with spread_over(steady.url, restarting.url, GATEWAY_UPSTREAM_COOLDOWN=0.0):
        assert client.get("/api/profile?before").status_code == 200
        restarting.stop()
        while_down = [client.get(f"/api/profile?down={n}").status_code for n in range(4)]
        while_down.append(client.put("/api/profile", data={}, content_type="application/json").status_code)
        served_while_down = len(steady.received)
        back = start_upstream(port=port)
        after = [client.get(f"/api/profile?after={n}").status_code for n in range(4)]

    assert while_down == [200] * 5
    assert served_while_down == 1 + 5
    assert after == [200] * 4
    # The first request after its return tries it (its cooldown is 0 here); from then on it is in turn again.
    assert back.received[0].target == "/api/profile?after=0"
    assert len(back.received) >= 2


def test_a_get_whose_connection_was_lost_goes_to_the_next_address(client, start_upstream):
    dropping, echo = start_upstream(kind="drop"), start_upstream()
    before = upstream_errors(dropping.url, "protocol")
    with spread_over(dropping.url, echo.url):
        response = client.get("/api/profile")

    assert response.status_code == 200
    assert dropping.dropped == 1
    assert [r.method for r in echo.received] == ["GET"]
    assert upstream_errors(dropping.url, "protocol") == before + 1


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_request_that_may_have_arrived_is_never_sent_again(client, start_upstream, method):
    dropping, echo = start_upstream(kind="drop"), start_upstream()
    with spread_over(dropping.url, echo.url):
        response = client.generic(method, "/api/profile", data=b"{}", content_type="application/json")

    assert_json_error(response, 502, "Bad gateway")
    assert dropping.dropped == 1
    assert echo.received == []


def test_a_timeout_is_not_tried_again_at_the_next_address(client, start_upstream):
    hanging, echo = start_upstream(kind="hang"), start_upstream()
    before = upstream_errors(hanging.url, "timeout")
    with spread_over(hanging.url, echo.url, GATEWAY_READ_TIMEOUT=0.3):
        response = client.get("/api/profile")

    assert_json_error(response, 504, "Upstream timed out")
    assert echo.received == []
    assert upstream_errors(hanging.url, "timeout") == before + 1


def test_every_address_refusing_is_a_503_and_each_is_counted(client, closed_url):
    other_closed = closed_url.rsplit(":", 1)[0] + ":1"  # port 1: nothing listens there either
    before = [upstream_errors(url, "connect") for url in (closed_url, other_closed)]
    with spread_over(closed_url, other_closed):
        response = client.post("/api/register", data={}, content_type="application/json")

    assert_json_error(response, 503, "Service unavailable")
    assert [upstream_errors(url, "connect") for url in (closed_url, other_closed)] == [n + 1 for n in before]


def test_a_5xx_answer_is_relayed_counted_and_not_sent_elsewhere(client, start_upstream):
    failing = start_upstream(lambda received: json_answer(500, {"error": "Internal server error"}))
    other = start_upstream()
    before = upstream_errors(failing.url, "5xx")
    with spread_over(failing.url, other.url):
        response = client.get("/api/profile")

    assert_json_error(response, 500, "Internal server error")
    assert other.received == []
    assert upstream_errors(failing.url, "5xx") == before + 1


def test_every_error_series_of_every_address_is_there_from_the_first_request(client, start_upstream):
    first, second = start_upstream(), start_upstream()
    before = {(url, kind): error_series(url, kind) for url in (first.url, second.url) for kind in ERROR_KINDS}
    with spread_over(first.url, second.url):
        assert client.get("/api/profile").status_code == 200

    # A series an earlier test made for the same port keeps its count; a new one starts at 0.
    assert {key: error_series(*key) for key in before} == {key: value or 0.0 for key, value in before.items()}


def test_the_api_document_is_asked_of_the_next_address_when_one_refuses(client, closed_url, start_upstream):
    document = {"openapi": "3.0.3", "info": {"title": "Users", "version": "1"}, "paths": {"/api/profile": {}}}
    users = start_upstream(lambda received: json_answer(200, document))
    with override_settings(
        GATEWAY_UPSTREAMS={"users": f"{closed_url},{users.url}"},
        GATEWAY_ROUTES={"/api/profile": "users"},
        GATEWAY_SCHEMA_SOURCES={"users": "/api/schema/users"},
    ):
        response = client.get("/api/schema/")

    assert response.status_code == 200
    assert "/api/profile" in response.json()["paths"]
    assert [r.target for r in users.received] == ["/api/schema/users"]


def test_an_address_whose_connections_are_all_in_use_is_passed_over_not_skipped_and_alone_is_a_503(
    client, start_upstream
):
    busy, other = start_upstream(), start_upstream()
    before = {kind: upstream_errors(busy.url, kind) for kind in ("busy", "connect")}

    def all_in_use():
        """The busy address's only connection, taken as a request in progress would hold it."""
        connections, _ = proxy.upstream_pool(busy.url, "users")
        return connections, connections._take()

    with spread_over(busy.url, other.url, GATEWAY_POOL_SIZE=1, GATEWAY_CONNECT_TIMEOUT=0.2):
        connections, held = all_in_use()
        try:
            statuses = [client.get(f"/api/profile?n={n}").status_code for n in range(2)]
            skipped = [address.skipped_until for address in upstreams_in_use()["users"].addresses]
        finally:
            connections._discard(held)
    with spread_over(busy.url, GATEWAY_POOL_SIZE=1, GATEWAY_CONNECT_TIMEOUT=0.2):
        connections, held = all_in_use()
        try:
            alone = client.get("/api/profile?alone")
        finally:
            connections._discard(held)

    assert statuses == [200, 200]
    assert [r.target for r in other.received] == ["/api/profile?n=0", "/api/profile?n=1"]
    assert busy.received == []
    # Busy is not gone: the address stays in turn.
    assert skipped == [0.0, 0.0]
    # Counted as busy, not as a failed connect: an alert on connect failures means a replica in trouble.
    assert upstream_errors(busy.url, "busy") == before["busy"] + 2
    assert upstream_errors(busy.url, "connect") == before["connect"]
    assert_json_error(alone, 503, "Service unavailable")
