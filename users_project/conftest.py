"""Fixtures of the users service's tests: requests as the gateway sends them, and a fake auth service."""

import pytest
from django.test import Client

from common.emails import canonical_email
from common.testing import free_port
from users.models import Profile
from users.tests.fake_auth import FakeAuthService
from users.tests.gateway_client import GatewayClient, gateway_signer


@pytest.fixture(autouse=True)
def edge_redis(redis_url, settings) -> str:
    """Every test on a real Redis: each change to a user's profile or preferences raises its revision there."""
    settings.REDIS_URL = redis_url
    return redis_url


@pytest.fixture
def make_profile():
    """``make_profile(email, **fields)``: a profile in the users database, active unless told otherwise."""

    def make(email: str = "someone@example.com", **fields) -> Profile:
        fields.setdefault("status", Profile.Status.ACTIVE)
        return Profile.objects.create(email=email, email_canonical=canonical_email(email), **fields)

    return make


@pytest.fixture
def anonymous_client() -> Client:
    """A client whose requests come through the gateway without an end user (register)."""
    return GatewayClient(signer=gateway_signer())


@pytest.fixture
def client_for():
    """``client_for(profile)``: a client whose requests the gateway vouched for as that user."""

    def make(profile) -> Client:
        return GatewayClient(signer=gateway_signer(profile.pk, profile.email))

    return make


@pytest.fixture
def fake_auth(settings):
    """A running fake auth service (registration's and support's endpoints), and ``AUTH_SERVICE_URL`` pointing at it."""
    service = FakeAuthService()
    service.start()
    settings.AUTH_SERVICE_URL = service.url
    yield service
    service.stop()


@pytest.fixture
def absent_auth(settings):
    """``AUTH_SERVICE_URL`` pointing at a port where nothing listens."""
    settings.AUTH_SERVICE_URL = f"http://127.0.0.1:{free_port()}"
