"""Rate limits at the edge: per IP everywhere, per IP and per account on login, per IP on registration."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from gateway.client_ip import client_ip
from gateway.ratelimits import login_account

from .conftest import ratelimit_cache
from .tokens import access_token, bearer

# Day-long windows: a count cannot roll over into a new window during a test.
ROUTES = {
    "/api": "users",
    "/api/profile": {"upstream": "users", "auth": "token"},
    "/api/change-password": {"upstream": "users", "auth": "token"},
}


@pytest.fixture
def upstream(start_upstream):
    upstream = start_upstream()
    with override_settings(GATEWAY_UPSTREAMS={"users": upstream.url}, GATEWAY_ROUTES=ROUTES):
        yield upstream


def login(client, email, **extra):
    return client.post("/api/login", data={"email": email, "password": "x"}, content_type="application/json", **extra)


def assert_too_many(response, period_seconds: int) -> None:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Too many requests"}
    assert 1 <= int(response["Retry-After"]) <= period_seconds


# THE GLOBAL CEILING
# ------------------------------------------------------------------------------


@override_settings(GATEWAY_RATE_LIMIT_GLOBAL="3/d")
def test_every_path_counts_against_the_per_ip_ceiling(client, upstream):
    statuses = [
        client.get("/api/register").status_code,
        client.get("/nowhere").status_code,  # a 404 counts too
        client.get("/api/profile", headers=bearer(access_token())).status_code,
    ]
    refused = client.get("/api/register")

    assert statuses == [200, 404, 200]
    assert_too_many(refused, 24 * 3600)
    assert len(upstream.received) == 2
    # The probes of the process itself are never limited.
    assert client.get("/health").status_code == 200


@override_settings(GATEWAY_RATE_LIMIT_GLOBAL="1/d")
def test_each_client_address_has_its_own_count(client, upstream):
    assert client.get("/api/register", REMOTE_ADDR="198.51.100.1").status_code == 200
    assert client.get("/api/register", REMOTE_ADDR="198.51.100.1").status_code == 429
    assert client.get("/api/register", REMOTE_ADDR="198.51.100.2").status_code == 200


@override_settings(GATEWAY_RATE_LIMIT_GLOBAL="1/d", GATEWAY_TRUSTED_PROXY_COUNT=0)
def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_limit(client, upstream):
    assert client.get("/api/register", HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    assert client.get("/api/register", HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 429


@override_settings(GATEWAY_RATE_LIMIT_GLOBAL="1/d", GATEWAY_TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_the_address_it_saw_is_the_client(client, upstream):
    # The proxy appended the address it saw; what the client wrote before it does not matter.
    first = client.get("/api/register", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.1")
    same_client = client.get("/api/register", HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.1")
    other_client = client.get("/api/register", HTTP_X_FORWARDED_FOR="203.0.113.2")

    assert [first.status_code, same_client.status_code, other_client.status_code] == [200, 429, 200]


# LOGIN AND REGISTRATION
# ------------------------------------------------------------------------------


@override_settings(GATEWAY_RATE_LIMIT_LOGIN_IP="2/d")
def test_logins_from_one_address_are_limited_whatever_the_account(client, upstream):
    assert login(client, "a@example.com").status_code == 200
    assert login(client, "b@example.com").status_code == 200
    assert_too_many(login(client, "c@example.com"), 24 * 3600)
    # Other paths and other addresses go on.
    assert client.post("/api/register", data={}, content_type="application/json").status_code == 200
    assert login(client, "d@example.com", REMOTE_ADDR="198.51.100.7").status_code == 200
    assert [received.target for received in upstream.received].count("/api/login") == 3


@override_settings(GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT="2/d")
def test_logins_to_one_account_are_limited_from_any_address_however_it_is_typed(client, upstream):
    assert login(client, "New.Person+x@Gmail.com", REMOTE_ADDR="198.51.100.1").status_code == 200
    assert login(client, "newperson@gmail.com", REMOTE_ADDR="198.51.100.2").status_code == 200
    assert_too_many(login(client, "NEWPERSON@googlemail.com", REMOTE_ADDR="198.51.100.3"), 24 * 3600)
    assert login(client, "someone.else@gmail.com", REMOTE_ADDR="198.51.100.3").status_code == 200


@override_settings(GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT="1/d")
@pytest.mark.parametrize(
    "body", [b"{not json", b'["a@example.com"]', b'{"email": 5}', b'{"password": "x"}', b"\xff\xfe"]
)
def test_a_login_body_naming_no_account_skips_the_account_limit(client, upstream, body):
    responses = [client.post("/api/login", data=body, content_type="application/json") for _ in range(3)]

    # They reach the service, which answers the 400.
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert len(upstream.received) == 3


@override_settings(GATEWAY_RATE_LIMIT_LOGIN_IP="1/d", GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT="1/d")
def test_only_a_post_is_a_login_attempt(client, upstream):
    assert [client.get("/api/login").status_code for _ in range(3)] == [200, 200, 200]


@override_settings(GATEWAY_RATE_LIMIT_REGISTER_IP="2/d")
def test_registrations_from_one_address_are_limited(client, upstream):
    register = lambda email, **extra: client.post(  # noqa: E731
        "/api/register", data={"email": email, "password": "secret1"}, content_type="application/json", **extra
    )
    assert register("a@example.com").status_code == 200
    assert register("b@example.com").status_code == 200
    assert_too_many(register("c@example.com"), 24 * 3600)
    assert register("c@example.com", REMOTE_ADDR="198.51.100.9").status_code == 200
    assert login(client, "a@example.com").status_code == 200


# THE COUNTER STORE DOWN: fail open
# ------------------------------------------------------------------------------


def test_with_the_counter_store_unreachable_nothing_is_limited(client, upstream, unreachable_redis_url, redis_url):
    # Revocation still reads the reachable Redis: only the counters are gone.
    with override_settings(
        CACHES=ratelimit_cache(unreachable_redis_url, "down"),
        GATEWAY_RATE_LIMIT_GLOBAL="1/d",
        GATEWAY_RATE_LIMIT_LOGIN_IP="1/d",
        GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT="1/d",
    ):
        statuses = [login(client, "a@example.com").status_code for _ in range(3)]
        statuses.append(client.get("/api/profile", headers=bearer(access_token())).status_code)

    assert statuses == [200, 200, 200, 200]


# HELPERS
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trusted, forwarded_for, expected",
    [
        (0, None, "192.0.2.10"),
        (0, "203.0.113.5", "192.0.2.10"),
        (1, None, "192.0.2.10"),
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "1.1.1.1, 203.0.113.5", "203.0.113.5"),
        (2, "1.1.1.1, 203.0.113.5, 10.0.0.1", "203.0.113.5"),
        (2, "10.0.0.1", "192.0.2.10"),  # shorter than the proxies we have: not to be trusted
        (1, "not-an-address", "192.0.2.10"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip(trusted, forwarded_for, expected):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.10", **extra)
    with override_settings(GATEWAY_TRUSTED_PROXY_COUNT=trusted):
        assert client_ip(request) == expected


@pytest.mark.parametrize(
    "body, account",
    [
        (b'{"email": "Ada@Example.com", "password": "x"}', "ada@example.com"),
        (b'{"email": "a.d.a+work@gmail.com"}', "ada@gmail.com"),
        (b'{"email": "no-at-sign"}', None),
        (b'{"email": null}', None),
        (b"[]", None),
        (b"", None),
        (b"{oops", None),
        # As the auth service reads it: surrounding whitespace dropped, any letter case.
        (b'{"email": "  \\t ADA@example.COM\\n "}', "ada@example.com"),
        (b'{"email": "\\u00c9lise@Example.com"}', "\u00e9lise@example.com"),
        # Hostile bodies name no account and never raise.
        (b"[" * 100_000, None),
        (b'{"email": "a@example.com", "n": 1' + b"0" * 5000 + b"}", None),
    ],
)
def test_login_account_is_the_canonical_email(body, account):
    request = RequestFactory().post("/api/login", data=body, content_type="application/json")
    assert login_account(request) == account


@pytest.mark.parametrize("charset", ["utf-16", "utf-32", "latin-1", "utf-8"])
def test_login_account_reads_the_body_in_the_charset_it_names(charset):
    body = '{"email": " Ren\u00e9e@Example.com "}'  # the factory encodes it in the charset
    request = RequestFactory().post("/api/login", data=body, content_type=f"application/json; charset={charset}")
    assert login_account(request) == "ren\u00e9e@example.com"


@override_settings(GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT="2/d")
def test_re_spelling_an_address_with_spaces_or_another_charset_is_no_fresh_count(client, upstream):
    assert login(client, "ada@example.com").status_code == 200
    assert login(client, "  ADA@example.com\t").status_code == 200
    utf16 = '{"email": "Ada@Example.com ", "password": "x"}'  # sent in UTF-16
    response = client.post("/api/login", data=utf16, content_type="application/json; charset=utf-16")
    assert_too_many(response, 24 * 3600)


@override_settings(GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT="2/d", GATEWAY_RATE_LIMIT_LOGIN_IP="100/d")
def test_a_change_of_password_counts_against_its_accounts_login_limit(client, upstream):
    token = access_token(email="Ada@Example.com")

    def change():
        body = {"currentPassword": "guess", "newPassword": "Another-Password-1"}
        return client.put("/api/change-password", data=body, content_type="application/json", headers=bearer(token))

    # A forged token naming the account counts against no one's account: it is refused as forged.
    forged = access_token(email="ada@example.com")[:-4] + "AAAA"
    for _ in range(3):
        body = {"currentPassword": "guess", "newPassword": "Another-Password-1"}
        response = client.put("/api/change-password", data=body, content_type="application/json", headers=bearer(forged))
        assert response.status_code == 403

    assert change().status_code == 200
    assert login(client, "ada@example.com").status_code == 200
    assert_too_many(change(), 24 * 3600)
    assert_too_many(login(client, "ADA@example.com"), 24 * 3600)


@override_settings(GATEWAY_RATE_LIMIT_LOGIN_IP="1/d")
def test_a_change_of_password_counts_against_its_addresss_login_limit(client, upstream):
    body = {"currentPassword": "guess", "newPassword": "Another-Password-1"}
    headers = bearer(access_token())
    assert client.put("/api/change-password", data=body, content_type="application/json", headers=headers).status_code == 200
    assert_too_many(client.put("/api/change-password", data=body, content_type="application/json", headers=headers), 86400)


def test_the_process_probe_asks_redis_nothing(client, monkeypatch):
    from gateway import ratelimits

    monkeypatch.setattr(ratelimits, "caches", None)  # any use of the counter store would fail the request
    assert client.get("/health").status_code == 200
