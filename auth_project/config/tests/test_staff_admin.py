"""The staff admin's middleware: the admin's paths go through all of it; the API's and the internal endpoints'
answers stay what it made them."""

import jwt
import pytest
from django.conf import settings
from django.test import Client, override_settings

from common.internal_auth import sign_internal
from common.staff_admin import staff_admin_middleware_check
from common.testing import (
    InternalAuthClientMixin,
    answer_compared,
    assert_the_admins_paths_go_through_its_middleware,
    every_middleware_for_every_path,
    staff_admin_misconfigurations,
)
from credentials.tests.data import PASSWORD

pytestmark = pytest.mark.django_db(databases="__all__")

EVERY_MIDDLEWARE_FOR_EVERY_PATH = every_middleware_for_every_path(settings)


class _Client(InternalAuthClientMixin, Client):
    pass


def _client(issuer, **claims):
    return _Client(
        signer=lambda method, path: sign_internal("auth", issuer=issuer, method=method, path=path, **claims),
        raise_request_exception=False,
    )


def _end_user(access_token):
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return {"user_id": claims["userId"], "email": claims["email"], "jti": claims["jti"], "token_exp": claims["exp"]}


LOGIN = '{"email": "ada@example.com", "password": "%s"}' % PASSWORD
# (caller, method, path, body, extra); "{id}" is the credential's user id, "{refresh}" a refresh token of it.
REQUESTS = [
    ("gateway", "post", "/api/login", LOGIN, {}),
    ("gateway", "post", "/api/login", '{"email": "ada@example.com", "password": "wrong"}', {}),
    ("gateway", "post", "/api/login", '{"email": 5}', {}),
    ("gateway", "post", "/api/login", '{"email', {}),
    ("gateway", "post", "/api/login", LOGIN, {"HTTP_ACCEPT": "text/html"}),
    ("gateway", "post", "/api/login", LOGIN, {"QUERY_STRING": "format=api"}),
    ("gateway", "get", "/api/login", None, {}),
    ("gateway", "options", "/api/login", None, {}),
    ("gateway", "post", "/api/token/refresh", '{"refresh": "{refresh}"}', {}),
    ("gateway", "post", "/api/token/refresh", '{"refresh": "x"}', {}),
    ("gateway", "post", "/api/logout", "{}", {}),
    ("end_user", "post", "/api/logout", "{}", {}),
    ("end_user", "put", "/api/change-password", '{"currentPassword": "wrong", "newPassword": "x"}', {}),
    ("gateway", "get", "/api/.well-known/jwks.json", None, {}),
    ("gateway", "head", "/api/.well-known/jwks.json", None, {}),
    ("gateway", "get", "/api/nothing-here", None, {}),
    ("gateway", "get", "/api/schema/auth", None, {}),
    ("users", "post", "/internal/credentials", '{"user_id": 5}', {}),
    ("users", "get", "/internal/credentials/{id}/state", None, {}),
    ("users", "post", "/internal/credentials/{id}/unlock", None, {}),
    ("users", "post", "/internal/credentials/{id}/end-sessions", None, {}),
    ("users", "delete", "/internal/credentials/{id}0", None, {}),
    ("users", "get", "/internal/nothing-here", None, {}),
    ("gateway", "get", "/internal/credentials/{id}/state", None, {}),
    (None, "post", "/api/login", LOGIN, {}),
]


@pytest.mark.parametrize("caller, method, path, body, extra", REQUESTS)
def test_an_api_answer_is_the_one_every_middleware_made(
    make_credential, revocations, caller, method, path, body, extra
):
    credential = make_credential(email="ada@example.com")
    path = path.replace("{id}", str(credential.user_id))
    kwargs = {"content_type": "application/json"} if body is not None else {}

    def ask():
        # A new session each time (a refresh token works once, a logout ends its access token), when asked for.
        tokens = {}
        if caller == "end_user" or "{refresh}" in (body or ""):
            tokens = _client("gateway").post("/api/login", LOGIN, content_type="application/json").json()
        if caller is None:
            client = Client()
        elif caller == "end_user":
            client = _client("gateway", **_end_user(tokens["token"]))
        else:
            client = _client(caller)
        data = body if "refresh" not in tokens else body.replace("{refresh}", tokens["refresh"])
        return answer_compared(getattr(client, method)(path, data, **kwargs, **extra))

    answer = ask()
    with override_settings(MIDDLEWARE=EVERY_MIDDLEWARE_FOR_EVERY_PATH):
        assert ask() == answer


def test_an_api_failure_is_answered_as_every_middleware_answered_it(make_credential, revocations, monkeypatch):
    make_credential(email="ada@example.com")

    def fail(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("credentials.logins.credential_login", fail)

    def ask():
        return answer_compared(_client("gateway").post("/api/login", LOGIN, content_type="application/json"))

    answer = ask()
    with override_settings(MIDDLEWARE=EVERY_MIDDLEWARE_FOR_EVERY_PATH):
        assert ask() == answer
    assert answer[0] == 500
    assert ("X-Frame-Options", "DENY") in answer[1]


@pytest.mark.parametrize("path", ["/api/.well-known/jwks.json", "/internal/nothing-here"])
def test_the_api_and_the_internal_endpoints_ignore_the_admins_cookies(path):
    client = _client("users" if path.startswith("/internal/") else "gateway")
    client.cookies.load({settings.SESSION_COOKIE_NAME: "abc", settings.CSRF_COOKIE_NAME: "x"})

    response = client.get(path)

    assert response.status_code in (200, 404)
    assert not response.cookies
    assert not response.has_header("Vary")


def test_the_admins_paths_go_through_its_middleware():
    assert_the_admins_paths_go_through_its_middleware(settings, Client(enforce_csrf_checks=True))


def test_a_staff_member_signs_in_to_the_admin_with_its_session_and_csrf_token(django_user_model):
    django_user_model.objects.create_superuser("staff", "staff@example.com", "a long staff passphrase")
    client = Client(enforce_csrf_checks=True)
    client.get("/admin/login/")

    signed_in = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": "staff",
            "password": "a long staff passphrase",
            "csrfmiddlewaretoken": client.cookies[settings.CSRF_COOKIE_NAME].value,
        },
    )
    index = client.get("/admin/")

    assert signed_in.status_code == 302 and signed_in["Location"] == "/admin/"
    assert settings.SESSION_COOKIE_NAME in signed_in.cookies
    assert index.status_code == 200 and b"staff" in index.content


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
