"""Authentication at the edge: every token attack refused in the monolith's shapes, the user named to the services."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from jwt.algorithms import get_default_algorithms

from common import revocation
from common.internal_auth import InternalAuthError, verify_internal
from common.jwt_keys import key_algorithm, key_id, local_key_pair, new_private_key_pem, public_pem_from_private

from .tokens import LEGACY_SECRET, access_claims, access_token, bearer, legacy_token, new_user_id, sign

ROUTES = {
    "/api/profile": {"upstream": "users", "auth": "token"},
    "/api/logout": {"upstream": "auth", "auth": "token"},
    "/api/login": "auth",
    "/api/old": "legacy",
    "/api/old-protected": {"upstream": "legacy", "auth": "token"},
}
REQUIRED = {"error": "Access token required"}
INVALID = {"error": "Invalid or expired token"}


@pytest.fixture
def upstreams(start_upstream):
    """users, auth and legacy upstreams that echo, with the routes above pointing at them."""
    users, auth, legacy = start_upstream(), start_upstream(), start_upstream()
    with override_settings(
        GATEWAY_UPSTREAMS={"users": users.url, "auth": auth.url, "legacy": legacy.url}, GATEWAY_ROUTES=ROUTES
    ):
        yield {"users": users, "auth": auth, "legacy": legacy}


@pytest.fixture
def revoke(gateway_redis):
    """Writes revocation state the way the auth service does; forgets the users' minimum versions afterwards."""
    client = revocation.client_for(gateway_redis)
    users = []

    class Revoke:
        @staticmethod
        def token(jti: str) -> None:
            revocation.revoke_token(client, jti, int(time.time()) + 600)

        @staticmethod
        def family(family: str) -> None:
            revocation.revoke_family(client, family, int(time.time()) + 600)

        @staticmethod
        def below_version(user_id: int, version: int) -> None:
            users.append(user_id)
            revocation.set_minimum_version(client, user_id, version)

        @staticmethod
        def disabled(user_id: int) -> None:
            users.append(user_id)
            revocation.user_disable(client, user_id)

        @staticmethod
        def reactivated(user_id: int, at: int) -> None:
            users.append(user_id)
            revocation.user_enable(client, user_id, at=at)

    yield Revoke
    for user_id in users:
        client.delete(f"{revocation.PREFIX}:user:{user_id}", f"{revocation.PREFIX}:disabled:{user_id}")


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned_token(claims: dict) -> str:
    """``alg: none``: no signature at all."""
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def hs256_with_public_key(claims: dict) -> str:
    """The key-confusion attack: HMAC keyed with the public key the gateway verifies with."""
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(claims)}"
    signature = hmac.new(settings.JWT_PUBLIC_KEYS[0].encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def forged(token: str) -> str:
    """A real token whose payload was changed to name another user; the signature is the original's."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["userId"] = 1
    return f"{header}.{b64(claims)}.{signature}"


def assert_refused(response, status: int, body: dict, *upstreams) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == body
    for upstream in upstreams:
        assert upstream.received == []


def internal_claims(received, audience: str) -> dict:
    """The gateway's assertion on a forwarded request, checked as the service checks it: made for that request."""
    [value] = received.header_values("X-Internal-Auth")
    return verify_internal(value, audience, method=received.method, path=received.target.partition("?")[0])


# NO TOKEN: 401
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "bearer    "])
def test_no_token_is_401_access_token_required(client, upstreams, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/api/profile", headers=headers)

    assert_refused(response, 401, REQUIRED, upstreams["users"])


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
def test_every_method_of_a_protected_route_needs_the_token(client, upstreams, method):
    response = client.generic(method, "/api/profile/preferences", data=b"{}", content_type="application/json")

    assert_refused(response, 401, REQUIRED, upstreams["users"])


# INVALID TOKENS: 403, and nothing reaches the service
# ------------------------------------------------------------------------------


def _other_key_token(tmp_path: Path) -> str:
    other_private, _ = local_key_pair(tmp_path / "other-keys")
    return sign(access_claims(), key=other_private)


ATTACKS = {
    "garbage": lambda tmp: "garbage",
    "three-garbage-parts": lambda tmp: "a.b.c",
    "alg-none": lambda tmp: unsigned_token(access_claims()),
    "alg-none-with-a-real-signature": lambda tmp: unsigned_token(access_claims())
    + access_token().rsplit(".", 1)[1],
    "forged-payload": lambda tmp: forged(access_token()),
    "signed-by-another-key": _other_key_token,
    "hs256-keyed-with-the-public-key": lambda tmp: hs256_with_public_key(access_claims()),
    "expired": lambda tmp: access_token(exp=int(time.time()) - 1, iat=int(time.time()) - 3600),
    "no-exp": lambda tmp: access_token(exp=None),
    "refresh-token-as-access": lambda tmp: access_token(token_type="refresh"),
    "no-token-type": lambda tmp: access_token(token_type=None),
    "no-jti": lambda tmp: access_token(jti=None),
    "user-id-not-a-number": lambda tmp: access_token(userId="abc"),
    "user-id-a-list": lambda tmp: access_token(userId=[1]),
    "version-not-a-number": lambda tmp: access_token(ver="9"),
    "legacy-token-without-the-legacy-secret": lambda tmp: legacy_token(),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_invalid_token_is_403_invalid_or_expired(client, upstreams, tmp_path, attack):
    token = ATTACKS[attack](tmp_path)
    response = client.get("/api/profile", headers=bearer(token))

    assert_refused(response, 403, INVALID, upstreams["users"])


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Token {token}", "Bearer {token} extra", "{token}"],
    ids=["basic", "other-scheme", "extra-words", "no-scheme"],
)
def test_a_token_not_presented_as_bearer_is_refused(client, upstreams, authorization):
    response = client.get("/api/profile", headers={"Authorization": authorization.format(token=access_token())})

    assert response.status_code in (401, 403)
    assert response.json() in (REQUIRED, INVALID)
    assert upstreams["users"].received == []


# A VALID TOKEN: forwarded, the user named in X-Internal-Auth
# ------------------------------------------------------------------------------


def test_a_valid_token_reaches_the_service_with_the_user_in_the_internal_credential(client, upstreams):
    claims = access_claims(email="ada@example.com")
    token = sign(claims)
    response = client.put(
        "/api/profile",
        data={"name": "Ada"},
        content_type="application/json",
        headers={**bearer(token), "X-Request-ID": "req-42"},
    )

    assert response.status_code == 200
    [received] = upstreams["users"].received
    assert (received.method, received.target, json.loads(received.body)) == ("PUT", "/api/profile", {"name": "Ada"})
    internal = internal_claims(received, "users")
    assert internal["iss"] == "gateway"
    assert internal["rid"] == "req-42"
    assert (internal["sub"], internal["email"], internal["jti"], internal["token_exp"]) == (
        str(claims["userId"]),
        "ada@example.com",
        claims["jti"],
        claims["exp"],
    )
    assert internal["exp"] - internal["iat"] <= 30
    assert (internal["method"], internal["path"]) == ("PUT", "/api/profile")


def test_the_credential_is_made_for_the_forwarded_request_and_no_other(client, upstreams):
    client.get("/api/profile/preferences?lang=en", headers=bearer(access_token()))

    [received] = upstreams["users"].received
    [value] = received.header_values("X-Internal-Auth")
    assert verify_internal(value, "users", method="GET", path="/api/profile/preferences")
    for method, path in [("PUT", "/api/profile/preferences"), ("GET", "/api/profile")]:
        with pytest.raises(InternalAuthError):
            verify_internal(value, "users", method=method, path=path)


def test_the_credential_is_for_the_service_the_route_goes_to(client, upstreams):
    response = client.post("/api/logout", data={}, content_type="application/json", headers=bearer(access_token()))

    assert response.status_code == 200
    [received] = upstreams["auth"].received
    assert internal_claims(received, "auth")["sub"]
    with pytest.raises(Exception):
        internal_claims(received, "users")


def test_a_user_id_given_as_digits_is_that_number(client, upstreams):
    response = client.get("/api/profile", headers=bearer(access_token(userId="42")))

    assert response.status_code == 200
    assert internal_claims(upstreams["users"].received[0], "users")["sub"] == "42"


def test_a_public_route_gets_an_anonymous_credential(client, upstreams):
    response = client.post("/api/login", data={"email": "a@b.c"}, content_type="application/json")

    assert response.status_code == 200
    internal = internal_claims(upstreams["auth"].received[0], "auth")
    assert internal["iss"] == "gateway"
    assert "sub" not in internal and "email" not in internal


def test_a_token_on_a_public_route_is_not_checked_and_names_nobody(client, upstreams):
    response = client.post("/api/login", data={}, content_type="application/json", headers=bearer("garbage"))

    assert response.status_code == 200
    assert "sub" not in internal_claims(upstreams["auth"].received[0], "auth")


SPOOFED = {
    "X-Internal-Auth": "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
    "X-User-Id": "1",
    "X-User-Email": "admin@example.com",
    "X-Internal-Role": "admin",
    "X-Internal-Service": "auth",
}


@pytest.mark.parametrize("path, upstream", [("/api/profile", "users"), ("/api/login", "auth")])
def test_identity_headers_a_client_sends_never_reach_a_service(client, upstreams, path, upstream):
    user_id = new_user_id()
    response = client.post(
        path, data={}, content_type="application/json", headers={**SPOOFED, **bearer(access_token(user_id))}
    )

    assert response.status_code == 200
    [received] = upstreams[upstream].received
    assert {name for name in received.header_names if name.startswith(("x-internal-", "x-user-"))} == {
        "x-internal-auth"
    }
    internal = internal_claims(received, upstream)  # the gateway's own, not the client's
    assert internal.get("sub") in (None, str(user_id))


@pytest.mark.parametrize("path", ["/api/old", "/api/old-protected"])
def test_the_legacy_upstream_never_gets_an_internal_credential(client, upstreams, path):
    token = access_token()
    response = client.get(path, headers={**SPOOFED, **bearer(token)})

    assert response.status_code == 200
    [received] = upstreams["legacy"].received
    assert not {name for name in received.header_names if name.startswith(("x-internal-", "x-user-"))}
    assert received.header("Authorization") == f"Bearer {token}"


# REVOCATION: checked on every protected request
# ------------------------------------------------------------------------------


def test_a_revoked_token_is_403_at_once(client, upstreams, revoke):
    claims = access_claims()
    token = sign(claims)
    assert client.get("/api/profile", headers=bearer(token)).status_code == 200

    revoke.token(claims["jti"])

    assert_refused(client.get("/api/profile", headers=bearer(token)), 403, INVALID)
    assert len(upstreams["users"].received) == 1
    # Another token of the same user and session is still good.
    same_session = access_token(claims["userId"], fam=claims["fam"])
    assert client.get("/api/profile", headers=bearer(same_session)).status_code == 200


def test_a_revoked_family_kills_every_token_of_the_session(client, upstreams, revoke):
    user_id, family = new_user_id(), "family-" + access_claims()["jti"]
    first, second = access_token(user_id, fam=family), access_token(user_id, fam=family)
    other_session = access_token(user_id)

    revoke.family(family)

    assert_refused(client.get("/api/profile", headers=bearer(first)), 403, INVALID)
    assert_refused(client.get("/api/profile", headers=bearer(second)), 403, INVALID)
    assert client.get("/api/profile", headers=bearer(other_session)).status_code == 200


def test_tokens_below_the_users_minimum_version_are_revoked(client, upstreams, revoke):
    user_id = new_user_id()
    old, current = access_token(user_id, ver=2), access_token(user_id, ver=3)

    revoke.below_version(user_id, 3)

    assert_refused(client.get("/api/profile", headers=bearer(old)), 403, INVALID)
    assert client.get("/api/profile", headers=bearer(current)).status_code == 200
    # Another user's tokens are untouched.
    assert client.get("/api/profile", headers=bearer(access_token(ver=0))).status_code == 200


def test_redis_unreachable_fails_closed_for_protected_routes_only(client, upstreams, unreachable_redis_url):
    from .conftest import ratelimit_cache

    with override_settings(
        REDIS_URL=unreachable_redis_url,
        CACHES=ratelimit_cache(unreachable_redis_url, "unreachable"),
        GATEWAY_RATE_LIMIT_GLOBAL="1/d",
    ):
        protected = client.get("/api/profile", headers=bearer(access_token()))
        public = [client.post("/api/login", data={}, content_type="application/json") for _ in range(3)]

    assert_refused(protected, 503, {"error": "Service unavailable"}, upstreams["users"])
    # Rate limiting cannot count either, and lets requests through (fail open).
    assert [response.status_code for response in public] == [200, 200, 200]
    assert len(upstreams["auth"].received) == 3


# LEGACY TOKENS: honoured only with LEGACY_JWT_SECRET, under the same revocation rules
# ------------------------------------------------------------------------------


def test_a_legacy_token_is_honoured_while_the_legacy_secret_is_set(client, upstreams):
    user_id = new_user_id()
    token = legacy_token(user_id, email="old@example.com")
    with override_settings(LEGACY_JWT_SECRET=LEGACY_SECRET):
        response = client.get("/api/profile", headers=bearer(token))

    assert response.status_code == 200
    internal = internal_claims(upstreams["users"].received[0], "users")
    assert (internal["sub"], internal["email"]) == (str(user_id), "old@example.com")
    # No jti of its own: one derived from the token, so logout can revoke it.
    assert internal["jti"] == revocation.legacy_token_id(token)
    assert internal["token_exp"] > time.time() + 23 * 3600


def test_without_the_legacy_secret_a_legacy_token_is_refused(client, upstreams):
    with override_settings(LEGACY_JWT_SECRET=""):
        response = client.get("/api/profile", headers=bearer(legacy_token()))

    assert_refused(response, 403, INVALID, upstreams["users"])


@pytest.mark.parametrize(
    "make",
    [
        lambda: legacy_token(secret="some-other-secret-of-at-least-32-bytes"),
        lambda: legacy_token(exp=int(time.time()) - 1, iat=int(time.time()) - 24 * 3600),
        lambda: legacy_token(exp=None),
        lambda: legacy_token(userId=None),
        lambda: unsigned_token({"userId": 1, "email": "x@y.z", "exp": int(time.time()) + 60}),
        lambda: legacy_token(iat=None),
        lambda: legacy_token(iat="yesterday"),
        lambda: legacy_token(iat=int(time.time()) + 600, exp=int(time.time()) + 3600),
        # Longer than the monolith ever signed for: made with its secret, but not by it.
        lambda: legacy_token(exp=int(time.time()) + 24 * 3600 + 60),
    ],
    ids=["other-secret", "expired", "no-exp", "no-user-id", "alg-none", "no-iat", "iat-not-a-time", "iat-ahead",
         "lives-too-long"],
)
def test_an_invalid_legacy_token_is_refused_even_with_the_secret(client, upstreams, make):
    with override_settings(LEGACY_JWT_SECRET=LEGACY_SECRET):
        response = client.get("/api/profile", headers=bearer(make()))

    assert_refused(response, 403, INVALID, upstreams["users"])


def test_a_legacy_token_follows_the_revocation_rules(client, upstreams, revoke):
    logged_out_user, password_changed_user = new_user_id(), new_user_id()
    logged_out, password_changed = legacy_token(logged_out_user), legacy_token(password_changed_user)
    with override_settings(LEGACY_JWT_SECRET=LEGACY_SECRET):
        assert client.get("/api/profile", headers=bearer(logged_out)).status_code == 200
        revoke.token(revocation.legacy_token_id(logged_out))  # logout
        revoke.below_version(password_changed_user, 1)  # password change: every version-0 token dies

        assert_refused(client.get("/api/profile", headers=bearer(logged_out)), 403, INVALID)
        assert_refused(client.get("/api/profile", headers=bearer(password_changed)), 403, INVALID)


def test_a_legacy_token_older_than_the_legacy_lifetime_is_refused(client, upstreams):
    now = int(time.time())
    token = legacy_token(iat=now - 3600, exp=now + 3600)
    with override_settings(LEGACY_JWT_SECRET=LEGACY_SECRET, LEGACY_JWT_MAX_LIFETIME=7200):
        assert client.get("/api/profile", headers=bearer(token)).status_code == 200
    with override_settings(LEGACY_JWT_SECRET=LEGACY_SECRET, LEGACY_JWT_MAX_LIFETIME=3000):
        assert_refused(client.get("/api/profile", headers=bearer(token)), 403, INVALID)


def test_a_legacy_token_issued_at_or_after_the_cutover_is_refused(client, upstreams):
    cutover = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    moment = int(cutover.timestamp())
    before = legacy_token(iat=moment - 1, exp=moment + 7200)
    at, after = legacy_token(iat=moment, exp=moment + 7200), legacy_token()
    with override_settings(LEGACY_JWT_SECRET=LEGACY_SECRET, LEGACY_JWT_ISSUED_BEFORE=cutover):
        assert client.get("/api/profile", headers=bearer(before)).status_code == 200
        assert_refused(client.get("/api/profile", headers=bearer(at)), 403, INVALID)
        assert_refused(client.get("/api/profile", headers=bearer(after)), 403, INVALID)
    assert len(upstreams["users"].received) == 1


def test_a_revoked_legacy_token_is_refused_in_every_spelling(client, upstreams, revoke):
    token = legacy_token()
    padded = token + "="  # the same signature bytes: PyJWT verifies it
    with override_settings(LEGACY_JWT_SECRET=LEGACY_SECRET):
        assert client.get("/api/profile", headers=bearer(padded)).status_code == 200
        revoke.token(revocation.legacy_token_id(token))  # logout with the usual spelling

        assert_refused(client.get("/api/profile", headers=bearer(padded)), 403, INVALID)
        assert_refused(client.get("/api/profile", headers=bearer(token)), 403, INVALID)


def test_every_token_of_a_disabled_user_is_refused_whatever_its_version(client, upstreams, revoke):
    user_id, other_user = new_user_id(), new_user_id()
    tokens = [access_token(user_id), access_token(user_id, ver=7), legacy_token(user_id)]
    revoke.disabled(user_id)  # deactivated or deleted at the users service

    with override_settings(LEGACY_JWT_SECRET=LEGACY_SECRET):
        for token in tokens:
            assert_refused(client.get("/api/profile", headers=bearer(token)), 403, INVALID)
        assert client.get("/api/profile", headers=bearer(access_token(other_user))).status_code == 200
    assert len(upstreams["users"].received) == 1


def test_after_a_reactivation_only_tokens_issued_since_pass(client, upstreams, revoke):
    user_id, now = new_user_id(), int(time.time())
    before, since = access_token(user_id, iat=now - 60), access_token(user_id, iat=now)
    legacy_before = legacy_token(user_id, iat=now - 60, exp=now + 3600)
    revoke.reactivated(user_id, at=now)

    with override_settings(LEGACY_JWT_SECRET=LEGACY_SECRET):
        assert_refused(client.get("/api/profile", headers=bearer(before)), 403, INVALID)
        assert_refused(client.get("/api/profile", headers=bearer(legacy_before)), 403, INVALID)
        assert client.get("/api/profile", headers=bearer(since)).status_code == 200


# SEVERAL KEYS: while the signing key is rotated, each token is checked with the key its kid names, in that
# key's algorithm: while an RSA key (RS256) is rotated out for an EC key (ES256), both kinds pass
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    private: str
    public: str

    @property
    def kid(self) -> str:
        return key_id(self.public)

    def sign(self, claims: dict, kid="own", alg: str | None = None) -> str:
        """``claims`` signed with this key in ``alg`` (its own algorithm by default), the header naming ``kid``.

        ``kid``: this key's own by default, none if ``None``. Signed by hand, so the header may hold what
        PyJWT would refuse to write (a ``kid`` that is not a string).
        """
        header = {"alg": alg or key_algorithm(self.public), "typ": "JWT"}
        if kid is not None:
            header["kid"] = self.kid if kid == "own" else kid
        signing_input = f"{b64(header)}.{b64(claims)}"
        algorithm = get_default_algorithms()[header["alg"]]
        return f"{signing_input}.{b64(algorithm.sign(signing_input.encode(), algorithm.prepare_key(self.private)))}"


@pytest.fixture(scope="module")
def key_pairs(tmp_path_factory) -> tuple[KeyPair, KeyPair, KeyPair]:
    """The old key (RSA, as tokens were signed before ES256), the new one (the test settings' own, EC P-256),
    and a key no setting ever lists (EC)."""
    old_private = new_private_key_pem("RS256")
    stranger = KeyPair(*local_key_pair(tmp_path_factory.mktemp("rotation-keys")))
    new = KeyPair(settings.JWT_TEST_PRIVATE_KEY, settings.JWT_PUBLIC_KEYS[0])
    return KeyPair(old_private, public_pem_from_private(old_private)), new, stranger


def test_the_rotation_is_from_an_rsa_key_to_an_ec_key(key_pairs):
    old, new, _ = key_pairs

    assert (key_algorithm(old.public), key_algorithm(new.public)) == ("RS256", "ES256")


@pytest.fixture
def rotating(key_pairs):
    """The gateway accepts the old key (RSA) and the new one (EC)."""
    old, new, _ = key_pairs
    with override_settings(JWT_PUBLIC_KEYS=[old.public, new.public]):
        yield


def test_while_rotating_a_token_of_either_key_passes_with_its_kid(client, upstreams, key_pairs, rotating):
    old, new, _ = key_pairs
    for key in (old, new):
        claims = access_claims()
        response = client.get("/api/profile", headers=bearer(key.sign(claims)))

        assert response.status_code == 200, key_algorithm(key.public)
        assert internal_claims(upstreams["users"].received[-1], "users")["sub"] == str(claims["userId"])


def _rotation_attacks(old: KeyPair, new: KeyPair, stranger: KeyPair) -> dict[str, str]:
    claims = access_claims()
    now = int(time.time())

    def key_confusion(key: KeyPair) -> str:
        """HS256 keyed with ``key``'s public PEM, the header naming ``key``."""
        signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}.{b64(claims)}"
        return f"{signing_input}.{b64(hmac.new(key.public.encode(), signing_input.encode(), hashlib.sha256).digest())}"

    return {
        # A valid signature is not enough without saying whose: a token may not choose its key.
        "no-kid-while-several-keys": old.sign(claims, kid=None),
        "kid-of-an-unknown-key": stranger.sign(claims),
        "unknown-key-claiming-a-known-kid": stranger.sign(claims, kid=old.kid),
        "new-key-claiming-the-old-kid": new.sign(claims, kid=old.kid),
        "kid-not-a-string": old.sign(claims, kid=[old.kid]),
        "kid-a-number": old.sign(claims, kid=7),
        "empty-kid": old.sign(claims, kid=""),
        "alg-none-with-a-known-kid": f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': old.kid})}.{b64(claims)}.",
        "hs256-keyed-with-the-rsa-public-key-and-its-kid": key_confusion(old),
        "hs256-keyed-with-the-ec-public-key-and-its-kid": key_confusion(new),
        # A header naming a key in an algorithm other than that key's.
        "rs256-naming-the-ec-key": old.sign(claims, kid=new.kid),
        "the-rsa-key-itself-in-rs512": old.sign(claims, alg="RS512"),
        "the-rsa-key-itself-in-ps256": old.sign(claims, alg="PS256"),
        "expired-with-a-known-kid": new.sign({**claims, "iat": now - 7200, "exp": now - 1}),
        "refresh-token-with-a-known-kid": new.sign({**claims, "token_type": "refresh"}),
        "header-not-an-object": f"{b64(b'[1]')}.{b64(claims)}.{new.sign(claims).rsplit('.', 1)[1]}",
    }


ROTATION_ATTACKS = [
    "no-kid-while-several-keys", "kid-of-an-unknown-key", "unknown-key-claiming-a-known-kid",
    "new-key-claiming-the-old-kid", "kid-not-a-string", "kid-a-number", "empty-kid", "alg-none-with-a-known-kid",
    "hs256-keyed-with-the-rsa-public-key-and-its-kid", "hs256-keyed-with-the-ec-public-key-and-its-kid",
    "rs256-naming-the-ec-key", "the-rsa-key-itself-in-rs512", "the-rsa-key-itself-in-ps256",
    "expired-with-a-known-kid", "refresh-token-with-a-known-kid", "header-not-an-object",
]


@pytest.mark.parametrize("attack", ROTATION_ATTACKS)
def test_while_rotating_a_token_without_a_known_kid_or_valid_signature_is_403(
    client, upstreams, key_pairs, rotating, attack
):
    token = _rotation_attacks(*key_pairs)[attack]

    assert_refused(client.get("/api/profile", headers=bearer(token)), 403, INVALID, upstreams["users"])


def test_with_one_key_a_token_without_kid_passes_and_one_naming_another_key_is_403(client, upstreams, key_pairs):
    old, own, stranger = key_pairs

    assert client.get("/api/profile", headers=bearer(own.sign(access_claims(), kid=None))).status_code == 200
    assert_refused(
        client.get("/api/profile", headers=bearer(own.sign(access_claims(), kid=stranger.kid))), 403, INVALID
    )
    with override_settings(JWT_PUBLIC_KEYS=[old.public]):
        assert client.get("/api/profile", headers=bearer(old.sign(access_claims(), kid=None))).status_code == 200
        # The one key's own token, but in another algorithm than the key's.
        assert_refused(client.get("/api/profile", headers=bearer(old.sign(access_claims(), alg="RS512"))), 403, INVALID)


def test_once_the_old_key_is_retired_its_tokens_are_403(client, upstreams, key_pairs):
    old, new, _ = key_pairs
    old_token, new_token = old.sign(access_claims()), new.sign(access_claims())

    with override_settings(JWT_PUBLIC_KEYS=[new.public]):
        assert_refused(client.get("/api/profile", headers=bearer(old_token)), 403, INVALID)
        assert client.get("/api/profile", headers=bearer(new_token)).status_code == 200
    assert len(upstreams["users"].received) == 1


def test_while_rotating_a_legacy_token_still_passes_with_the_legacy_secret(client, upstreams, rotating):
    with override_settings(LEGACY_JWT_SECRET=LEGACY_SECRET):
        assert client.get("/api/profile", headers=bearer(legacy_token())).status_code == 200
    with override_settings(LEGACY_JWT_SECRET=""):
        assert_refused(client.get("/api/profile", headers=bearer(legacy_token())), 403, INVALID)
