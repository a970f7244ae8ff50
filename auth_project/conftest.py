"""Fixtures of the auth service's tests: signed callers, credentials, the revocation store."""

from __future__ import annotations

import itertools
import random
import uuid

import jwt
import pytest
import redis
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient

from common.emails import canonical_email
from common.jwt_keys import local_key_pair, new_private_key_pem, public_pem_from_private
from common.internal_auth import sign_internal
from common.testing import InternalAuthClientMixin
from credentials.models import Credential
from credentials.tests.data import PASSWORD, USER_CREATED_AT

# User ids start at a random point so that revocation keys left in a shared
# Redis by an earlier run never meet this run's users.
_user_ids = itertools.count(random.randint(10**6, 10**9))


class SignedAPIClient(InternalAuthClientMixin, APIClient):
    """A DRF test client whose every request carries ``X-Internal-Auth`` for the auth service, made for it."""


def signed_client(**claims) -> APIClient:
    """A client whose requests carry ``X-Internal-Auth`` for the auth service with these ``claims`` (issuer, user)."""
    return SignedAPIClient(signer=lambda method, path: sign_internal("auth", method=method, path=path, **claims))


@pytest.fixture
def gateway_client() -> APIClient:
    """Requests the gateway forwards for an anonymous caller (login, refresh)."""
    return signed_client(issuer="gateway")


@pytest.fixture
def end_user_client():
    """``make(access_token)``: requests the gateway forwards for the holder of that access token."""

    def make(access_token: str) -> APIClient:
        claims = jwt.decode(access_token, options={"verify_signature": False})
        return signed_client(
            issuer="gateway",
            user_id=claims["userId"],
            email=claims["email"],
            jti=claims["jti"],
            token_exp=claims["exp"],
        )

    return make


@pytest.fixture
def users_service_client() -> APIClient:
    """Requests from the users service itself (the internal endpoints)."""
    return signed_client(issuer="users")


@pytest.fixture
def revocations(redis_url, settings) -> redis.Redis:
    """The service pointed at a real Redis; a client to read what it wrote."""
    settings.REDIS_URL = redis_url
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture
def redis_down(unreachable_redis_url, settings) -> None:
    """The service pointed at a Redis nobody answers."""
    settings.REDIS_URL = unreachable_redis_url


@pytest.fixture
def make_credential():
    """``make(email=..., password=... | password_hash=..., **fields)``: a stored credential, new user id.

    Tests using it declare ``pytest.mark.django_db(databases=["default", "credentials"])``.
    """

    def make(*, email: str = "ada@example.com", password: str = PASSWORD, password_hash: str | None = None, **fields):
        return Credential.objects.create(
            user_id=fields.pop("user_id", next(_user_ids)),
            email=email,
            email_canonical=canonical_email(email),
            password=password_hash or make_password(password),
            name=fields.pop("name", "Ada Lovelace"),
            user_created_at=fields.pop("user_created_at", USER_CREATED_AT),
            **fields,
        )

    return make


@pytest.fixture
def new_user_id() -> int:
    """A user id no credential has yet."""
    return next(_user_ids)


@pytest.fixture
def family() -> str:
    """A login session (refresh-token family) id of this test only: Redis keys outlive tests."""
    return str(uuid.uuid4())


@pytest.fixture(scope="session")
def new_signing_key(tmp_path_factory) -> tuple[str, str]:
    """(private PEM, public PEM) of a key rotated in."""
    return local_key_pair(tmp_path_factory.mktemp("new-signing-key"))


@pytest.fixture(scope="session")
def rsa_signing_key() -> tuple[str, str]:
    """(private PEM, public PEM) of an RSA key, as the auth service signed with (RS256) before ES256."""
    private = new_private_key_pem("RS256")
    return private, public_pem_from_private(private)


@pytest.fixture(params=["rsa-to-ec", "ec-to-ec"])
def rotation(request, settings, new_signing_key, rsa_signing_key):
    """Steps of a signing-key rotation, applied to this test's settings (restored afterwards).

    Twice: from an RSA key (the rotation every deployment signing RS256 makes to
    ES256), and from the test settings' EC key. Before ``switch()`` the old key
    signs; ``switch()``: sign with the new key (EC), the old one still accepted;
    ``retire()``: the old key no longer accepted. ``old`` and ``new`` are the
    public keys.
    """
    if request.param == "rsa-to-ec":
        settings.JWT_PRIVATE_KEY, old_public = rsa_signing_key
        settings.JWT_PUBLIC_KEYS = [old_public]
    old_public = settings.JWT_PUBLIC_KEYS[0]
    new_private, new_public = new_signing_key

    class Rotation:
        old, new = old_public, new_public

        @staticmethod
        def switch() -> None:
            settings.JWT_PRIVATE_KEY = new_private
            settings.JWT_PUBLIC_KEYS = [new_public, old_public]

        @staticmethod
        def retire() -> None:
            settings.JWT_PUBLIC_KEYS = [new_public]

    return Rotation
