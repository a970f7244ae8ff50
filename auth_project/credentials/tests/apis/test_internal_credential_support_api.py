"""The users service's admin at the auth service: a user's sign-in state, unlocking, ending every session."""

from datetime import timedelta

import pytest
from django.utils import timezone

from credentials.models import Credential, RefreshTokenRecord
from credentials.sessions import token_pair_issue
from credentials.tests.data import PASSWORD, legacy_hash
from credentials.tests.revocations import token_revoked as revoked

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])


def url(user_id: int, action: str) -> str:
    return f"/internal/credentials/{user_id}/{action}"


def test_the_state_says_how_the_user_signs_in_and_never_carries_the_hash(users_service_client, make_credential):
    last_login = timezone.now() - timedelta(days=2)
    credential = make_credential(failed_login_count=2, last_login_at=last_login)

    response = users_service_client.get(url(credential.user_id, "state"))

    assert response.status_code == 200
    assert response.json() == {
        "user_id": credential.user_id,
        "is_active": True,
        "locked": False,
        "locked_until": None,
        "failed_login_count": 2,
        "password": "current",
        "password_changed_at": None,
        "last_login_at": last_login.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    assert credential.password.split("$")[-1] not in response.content.decode()


@pytest.mark.parametrize(
    ("stored", "kind"),
    [(legacy_hash(PASSWORD), "legacy"), ("!unusable-imported", "unusable"), ("not-a-django-hash", "unusable")],
)
def test_the_state_tells_a_monolith_hash_and_an_unusable_one(users_service_client, make_credential, stored, kind):
    credential = make_credential(password_hash=stored)

    response = users_service_client.get(url(credential.user_id, "state"))

    assert response.json()["password"] == kind
    assert "bcrypt" not in response.content.decode()


def test_the_state_of_a_locked_account(users_service_client, make_credential):
    until = timezone.now() + timedelta(minutes=10)
    expired = make_credential(email="old@example.com", locked_until=timezone.now() - timedelta(seconds=1))
    locked = make_credential(locked_until=until)

    assert users_service_client.get(url(locked.user_id, "state")).json()["locked"] is True
    assert users_service_client.get(url(expired.user_id, "state")).json()["locked"] is False


def test_unlock_lets_a_locked_out_user_log_in_at_once(users_service_client, gateway_client, make_credential):
    credential = make_credential(failed_login_count=3, locked_until=timezone.now() + timedelta(minutes=10))
    login = {"email": credential.email, "password": PASSWORD}
    assert gateway_client.post("/api/login", login, format="json").status_code == 401

    response = users_service_client.post(url(credential.user_id, "unlock"))

    assert response.status_code == 200
    assert (response.json()["locked"], response.json()["failed_login_count"]) == (False, 0)
    credential.refresh_from_db()
    assert (credential.locked_until, credential.failed_login_count) == (None, 0)
    assert gateway_client.post("/api/login", login, format="json").status_code == 200


def test_ending_every_session_revokes_every_token_and_keeps_the_password(
    users_service_client, gateway_client, make_credential, revocations, family
):
    credential = make_credential()
    tokens = token_pair_issue(credential=credential, family=family)

    response = users_service_client.post(url(credential.user_id, "end-sessions"))

    assert response.status_code == 200
    credential.refresh_from_db()
    assert credential.token_version == 1
    assert revoked(revocations, tokens.access)
    assert not RefreshTokenRecord.objects.filter(credential=credential, revoked_at__isnull=True).exists()
    refresh = gateway_client.post("/api/token/refresh", {"refresh": tokens.refresh}, format="json")
    assert refresh.status_code == 401
    login = gateway_client.post("/api/login", {"email": credential.email, "password": PASSWORD}, format="json")
    assert login.status_code == 200
    assert not revoked(revocations, login.json()["token"])


def test_ending_sessions_with_redis_down_is_a_503_and_changes_nothing(
    users_service_client, make_credential, redis_down, family
):
    credential = make_credential()
    token_pair_issue(credential=credential, family=family)

    response = users_service_client.post(url(credential.user_id, "end-sessions"))

    assert (response.status_code, response.json()) == (503, {"error": "Service unavailable"})
    credential.refresh_from_db()
    assert credential.token_version == 0
    assert RefreshTokenRecord.objects.filter(credential=credential, revoked_at__isnull=True).exists()


@pytest.mark.parametrize(("method", "action"), [("get", "state"), ("post", "unlock"), ("post", "end-sessions")])
def test_a_user_without_a_credential_is_a_404(users_service_client, new_user_id, revocations, method, action):
    response = getattr(users_service_client, method)(url(new_user_id, action))

    assert (response.status_code, response.json()) == (404, {"error": "User not found"})


@pytest.mark.parametrize(("method", "action"), [("get", "state"), ("post", "unlock"), ("post", "end-sessions")])
def test_callers_other_than_the_users_service_get_a_403(gateway_client, make_credential, method, action):
    credential = make_credential(locked_until=timezone.now() + timedelta(minutes=10))

    response = getattr(gateway_client, method)(url(credential.user_id, action))

    assert (response.status_code, response.json()) == (403, {"error": "Permission denied"})
    assert Credential.objects.get(pk=credential.user_id).locked_until is not None
