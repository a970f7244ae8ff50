"""A user's own GETs tell the gateway it may keep the answer, and under which revision."""

import pytest
import redis

from common import edge
from users.models import Profile

pytestmark = pytest.mark.django_db(databases="__all__")

PATHS = ["/api/profile", "/api/profile/preferences"]


@pytest.fixture
def current(edge_redis):
    """``current(user_id)``: the user's current revision in Redis; none left by earlier tests."""
    client = redis.Redis.from_url(edge_redis)
    forget = lambda: client.delete(*client.keys(f"{edge.PREFIX}:users:rev:*") or ["none"])  # noqa: E731
    forget()
    yield lambda user_id: client.get(edge.revision_key("users", user_id))
    forget()
    client.close()


@pytest.mark.parametrize("path", PATHS)
def test_the_answer_names_the_revision_its_data_was_read_at(make_profile, client_for, path):
    profile = make_profile()

    response = client_for(profile).get(path)

    assert response.status_code == 200
    assert response[edge.REVISION_HEADER] == str(Profile.objects.get(pk=profile.pk).revision)
    assert response["Cache-Control"] == "private, no-cache"


@pytest.mark.parametrize("path", PATHS)
def test_a_missing_current_revision_the_gateway_reports_is_established(make_profile, client_for, current, path):
    profile = make_profile()

    client_for(profile).get(path, headers={edge.KNOWN_REVISION_HEADER: edge.UNKNOWN})

    assert current(profile.pk) == str(profile.revision).encode()


def test_a_request_without_the_gateways_word_establishes_nothing(make_profile, client_for, current):
    profile = make_profile()
    client_for(profile).get("/api/profile")
    assert current(profile.pk) is None


def test_an_error_answer_is_not_keepable(make_profile, client_for):
    profile = make_profile(is_active=False)

    response = client_for(profile).get("/api/profile", headers={edge.KNOWN_REVISION_HEADER: edge.UNKNOWN})

    assert response.status_code == 404
    assert edge.REVISION_HEADER not in response
