import uuid
from datetime import timedelta

import jwt
import pytest

from common.errors import ApiError, LegacyValidationError
from common.internal_auth import EndUser
from credentials.models import RefreshTokenRecord
from credentials.sessions import session_logout, token_pair_issue
from credentials.tokens import SessionRefreshToken

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])


def end_user_of(access_token: str) -> EndUser:
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return EndUser(id=claims["userId"], email=claims["email"], jti=claims["jti"], token_exp=claims["exp"])


def test_the_presented_access_token_is_revoked_until_it_expires(make_credential, revocations, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)
    user = end_user_of(tokens.access)

    session_logout(end_user=user, refresh=None)

    key = f"revocation:jti:{user.jti}"
    assert revocations.get(key) == "1"
    assert timedelta(hours=23) < timedelta(seconds=revocations.ttl(key)) <= timedelta(hours=24)
    assert revocations.get(f"revocation:family:{family}") is None
    assert not RefreshTokenRecord.objects.filter(revoked_at__isnull=False).exists()


def test_with_the_refresh_token_the_whole_session_ends(make_credential, revocations, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)

    session_logout(end_user=end_user_of(tokens.access), refresh=tokens.refresh)

    assert revocations.get(f"revocation:family:{family}") == "1"
    assert RefreshTokenRecord.objects.get(jti=tokens.refresh_jti).revoked_at is not None


def test_another_users_refresh_token_is_refused_and_nothing_is_revoked(make_credential, revocations, family):
    mine = token_pair_issue(credential=make_credential(email="ada@example.com"), family=family)
    theirs = token_pair_issue(
        credential=make_credential(email="grace@example.com"), family=str(uuid.uuid4())
    )
    user = end_user_of(mine.access)

    with pytest.raises(LegacyValidationError) as raised:
        session_logout(end_user=user, refresh=theirs.refresh)

    assert raised.value.errors == [{"type": "field", "msg": "Invalid value", "path": "refresh", "location": "body"}]
    assert revocations.get(f"revocation:jti:{user.jti}") is None
    assert not RefreshTokenRecord.objects.filter(revoked_at__isnull=False).exists()


def test_an_expired_refresh_token_has_nothing_left_to_end(make_credential, revocations, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)
    user = end_user_of(tokens.access)
    expired = SessionRefreshToken()
    expired["userId"], expired["ver"], expired["fam"] = user.id, 0, family
    expired.set_exp(lifetime=-timedelta(seconds=1))

    session_logout(end_user=user, refresh=str(expired))

    assert revocations.get(f"revocation:jti:{user.jti}") == "1"
    assert revocations.get(f"revocation:family:{family}") is None


def test_redis_down_is_a_503_and_the_session_is_not_ended_here_either(make_credential, redis_down, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)

    with pytest.raises(ApiError) as raised:
        session_logout(end_user=end_user_of(tokens.access), refresh=tokens.refresh)

    assert (raised.value.status, raised.value.message) == (503, "Service unavailable")
    assert RefreshTokenRecord.objects.get(jti=tokens.refresh_jti).revoked_at is None
