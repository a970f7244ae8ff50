"""Logins, failed logins, logouts and password changes publish ``auth.*`` events, numbered per user."""

import jwt
import pytest

from common.errors import ApiError
from common.internal_auth import EndUser
from common.events.models import OutboxEvent
from credentials.logins import credential_login
from credentials.services import credential_change_password
from credentials.sessions import session_logout
from credentials.tests.data import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

NEW_PASSWORD = "another horse battery staple"


def published():
    return list(OutboxEvent.objects.order_by("version").values_list("type", "aggregate_id", "version", "payload"))


def end_user_of(access_token: str) -> EndUser:
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return EndUser(id=claims["userId"], email=claims["email"], jti=claims["jti"], token_exp=claims["exp"])


def test_a_login_publishes_auth_login_success(make_credential):
    credential = make_credential()
    credential_login(email=credential.email, password=PASSWORD)
    assert published() == [("auth.login.success", str(credential.user_id), 1, {"user_id": credential.user_id})]


def test_failed_logins_publish_their_reason(make_credential, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 2
    credential = make_credential()
    inactive = make_credential(email="gone@example.com", is_active=False)

    for email, password in ((credential.email, "wrong"), (credential.email, "wrong"), (credential.email, PASSWORD)):
        with pytest.raises(ApiError):
            credential_login(email=email, password=password)
    with pytest.raises(ApiError):
        credential_login(email=inactive.email, password=PASSWORD)
    with pytest.raises(ApiError):
        credential_login(email="nobody@example.com", password=PASSWORD)

    mine = [(version, payload) for _, user, version, payload in published() if user == str(credential.user_id)]
    assert mine == [
        (1, {"user_id": credential.user_id, "reason": "wrong_password", "locked": False}),
        (2, {"user_id": credential.user_id, "reason": "wrong_password", "locked": True}),
        (3, {"user_id": credential.user_id, "reason": "locked", "locked": False}),
    ]
    refused_inactive = {"user_id": inactive.user_id, "reason": "inactive", "locked": False}
    assert ("auth.login.failed", str(inactive.user_id), 1, refused_inactive) in published()
    assert len(published()) == 4  # an unknown email is no one's activity


def test_logout_and_password_change_publish_their_events(make_credential, revocations):
    credential = make_credential()
    session = credential_login(email=credential.email, password=PASSWORD)

    session_logout(end_user=end_user_of(session.tokens.access), refresh=session.tokens.refresh)
    credential_change_password(user_id=credential.user_id, current_password=PASSWORD, new_password=NEW_PASSWORD)

    assert [(event_type, version, payload) for event_type, _, version, payload in published()] == [
        ("auth.login.success", 1, {"user_id": credential.user_id}),
        ("auth.logout", 2, {"user_id": credential.user_id, "session_ended": True}),
        ("auth.password.changed", 3, {"user_id": credential.user_id}),
    ]


def test_a_logout_that_could_not_revoke_publishes_nothing(make_credential, redis_down):
    credential = make_credential()
    session = credential_login(email=credential.email, password=PASSWORD)

    with pytest.raises(ApiError, match="Service unavailable"):
        session_logout(end_user=end_user_of(session.tokens.access), refresh=None)

    assert [event_type for event_type, _, _, _ in published()] == ["auth.login.success"]
