"""The staff admin's middleware: the admin's paths go through all of it, the API's answers stay what it made them."""

import pytest
from django.conf import settings
from django.test import Client, override_settings

from common.staff_admin import staff_admin_middleware_check
from common.testing import (
    answer_compared,
    assert_the_admins_paths_go_through_its_middleware,
    every_middleware_for_every_path,
    staff_admin_misconfigurations,
)
from users.tests.gateway_client import GatewayClient, gateway_signer

pytestmark = pytest.mark.django_db(databases="__all__")

EVERY_MIDDLEWARE_FOR_EVERY_PATH = every_middleware_for_every_path(settings)


def _client(user_id, **kwargs):
    return GatewayClient(signer=gateway_signer(user_id, "x@example.com"), raise_request_exception=False, **kwargs)


API_REQUESTS = [
    ("get", "/api/profile", None, {}),
    ("get", "/api/profile", None, {"HTTP_X_INTERNAL_EDGE_REVISION": "none"}),
    ("head", "/api/profile", None, {}),
    ("options", "/api/profile", None, {}),
    ("delete", "/api/profile", None, {}),
    ("get", "/api/profile", None, {"HTTP_ACCEPT": "text/html"}),
    ("get", "/api/profile", None, {"QUERY_STRING": "format=api"}),
    ("put", "/api/profile", '{"name": "Ada"}', {}),
    ("put", "/api/profile", '{"name": 5}', {}),
    ("put", "/api/profile", '{"name": "x', {}),
    ("get", "/api/profile/preferences", None, {}),
    ("get", "/api/nothing-here", None, {}),
    ("get", "/api/schema/users", None, {}),
]


@pytest.mark.parametrize("method, path, body, extra", API_REQUESTS)
@pytest.mark.parametrize("signed_in", [True, False])
def test_an_api_answer_is_the_one_every_middleware_made(make_profile, method, path, body, extra, signed_in):
    profile = make_profile("ada@example.com", name="Ada")
    user_id = profile.pk if signed_in else None
    kwargs = {"content_type": "application/json"} if body is not None else {}

    def ask():
        return answer_compared(getattr(_client(user_id), method)(path, body, **kwargs, **extra))

    answer = ask()
    with override_settings(MIDDLEWARE=EVERY_MIDDLEWARE_FOR_EVERY_PATH):
        assert ask() == answer


def test_an_api_failure_is_answered_as_every_middleware_answered_it(make_profile, monkeypatch):
    profile = make_profile("ada@example.com", name="Ada")

    def fail(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("users.apis.user_profile_get", fail)
    answer = answer_compared(_client(profile.pk).get("/api/profile"))
    with override_settings(MIDDLEWARE=EVERY_MIDDLEWARE_FOR_EVERY_PATH):
        assert answer_compared(_client(profile.pk).get("/api/profile")) == answer
    assert answer[0] == 500
    assert ("X-Frame-Options", "DENY") in answer[1]


def test_the_api_ignores_the_admins_cookies(make_profile):
    # A browser sends them to /admin/ only (their path); a client that sends them to /api/ gets no admin cookie back.
    profile = make_profile("ada@example.com", name="Ada")
    client = _client(profile.pk)
    client.cookies.load({settings.SESSION_COOKIE_NAME: "abc", settings.CSRF_COOKIE_NAME: "x"})

    response = client.get("/api/profile")

    assert response.status_code == 200
    assert not response.cookies
    assert not response.has_header("Vary")


def test_the_admins_paths_go_through_its_middleware():
    assert_the_admins_paths_go_through_its_middleware(settings, Client(enforce_csrf_checks=True))


def test_the_checks_find_the_admins_middleware_in_its_own_chain():
    assert staff_admin_middleware_check() == []


@pytest.mark.parametrize("change", staff_admin_misconfigurations(settings))
def test_the_checks_find_a_missing_admin_middleware_or_an_admin_path_skipped(change):
    with override_settings(**change):
        errors = staff_admin_middleware_check()
    assert errors and {error.id for error in errors} <= {"staff_admin.E001", "staff_admin.E002"}


def test_every_middleware_in_one_list_passes_the_checks_too():
    with override_settings(MIDDLEWARE=EVERY_MIDDLEWARE_FOR_EVERY_PATH):
        assert staff_admin_middleware_check() == []
