import uuid
from datetime import timedelta

import jwt
import pytest

from common.errors import ApiError
from common.jwt_keys import key_algorithm, key_id
from common.revocation import user_disable, user_enable
from credentials.models import RefreshTokenRecord
from credentials.sessions import refresh_token_rotate, token_pair_issue
from credentials.tokens import SessionRefreshToken

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def refused(refresh: str) -> ApiError:
    with pytest.raises(ApiError) as raised:
        refresh_token_rotate(refresh=refresh)
    assert (raised.value.status, raised.value.message) == (401, "Invalid or expired token")
    return raised.value


def test_a_refresh_token_is_exchanged_once_for_a_new_pair_of_the_same_session(make_credential, revocations, family):
    credential = make_credential()
    first = token_pair_issue(credential=credential, family=family)

    second = refresh_token_rotate(refresh=first.refresh)

    assert claims(second.access)["fam"] == claims(second.refresh)["fam"] == family
    assert claims(second.access)["email"] == credential.email
    used = RefreshTokenRecord.objects.get(jti=first.refresh_jti)
    assert used.used_at is not None
    assert used.replaced_by == second.refresh_jti
    assert RefreshTokenRecord.objects.get(jti=second.refresh_jti).used_at is None


def test_a_reused_refresh_token_ends_its_whole_family(make_credential, revocations, family):
    credential = make_credential()
    first = token_pair_issue(credential=credential, family=family)
    second = refresh_token_rotate(refresh=first.refresh)
    other_session = token_pair_issue(credential=credential, family=str(uuid.uuid4()))

    refused(first.refresh)

    assert not RefreshTokenRecord.objects.filter(family=family, revoked_at__isnull=True).exists()
    assert revocations.get(f"revocation:family:{family}") == "1"
    # Until the family's last token would have expired (its newest refresh token, 30 days).
    assert timedelta(days=29) < timedelta(seconds=revocations.ttl(f"revocation:family:{family}")) <= timedelta(days=30)
    # The token the thief (or the user) rotated to is dead too; another session is not.
    refused(second.refresh)
    assert refresh_token_rotate(refresh=other_session.refresh).access


def test_a_reuse_while_redis_is_down_is_a_503_and_changes_nothing(
    make_credential, revocations, settings, unreachable_redis_url, family
):
    first = token_pair_issue(credential=make_credential(), family=family)
    refresh_token_rotate(refresh=first.refresh)
    settings.REDIS_URL = unreachable_redis_url

    with pytest.raises(ApiError) as raised:
        refresh_token_rotate(refresh=first.refresh)

    assert (raised.value.status, raised.value.message) == (503, "Service unavailable")
    assert not RefreshTokenRecord.objects.filter(revoked_at__isnull=False).exists()


def test_while_redis_is_down_no_refresh_token_rotates(make_credential, redis_down, family):
    """Whether the users service deactivated the user cannot be read: nothing is issued (fail closed)."""
    first = token_pair_issue(credential=make_credential(), family=family)

    with pytest.raises(ApiError) as raised:
        refresh_token_rotate(refresh=first.refresh)

    assert (raised.value.status, raised.value.message) == (503, "Service unavailable")
    assert RefreshTokenRecord.objects.get(jti=first.refresh_jti).used_at is None


def test_a_deactivated_user_cannot_refresh(make_credential, revocations, family):
    credential = make_credential()
    tokens = token_pair_issue(credential=credential, family=family)
    credential.is_active = False
    credential.save()

    refused(tokens.refresh)


def test_a_user_the_users_service_disabled_cannot_refresh_before_the_event_arrives(make_credential, revocations, family):
    credential = make_credential()
    tokens = token_pair_issue(credential=credential, family=family)
    user_disable(revocations, credential.user_id)

    refused(tokens.refresh)
    assert RefreshTokenRecord.objects.get(jti=tokens.refresh_jti).used_at is None

    # Reactivated: a session started from then on refreshes, the one the deactivation ended does not.
    user_enable(revocations, credential.user_id, at=claims(tokens.refresh)["iat"] + 1)
    refused(tokens.refresh)
    user_enable(revocations, credential.user_id, at=claims(tokens.refresh)["iat"])
    assert refresh_token_rotate(refresh=tokens.refresh).access


def test_a_token_older_than_the_users_token_version_is_refused(make_credential, revocations, family):
    credential = make_credential()
    tokens = token_pair_issue(credential=credential, family=family)
    credential.token_version += 1
    credential.save()

    refused(tokens.refresh)


def test_a_revoked_or_unknown_refresh_token_is_refused(make_credential, revocations, family):
    credential = make_credential()
    revoked = token_pair_issue(credential=credential, family=family)
    RefreshTokenRecord.objects.update(revoked_at="2020-01-01T00:00:00Z")
    unknown = SessionRefreshToken()
    unknown["userId"], unknown["ver"], unknown["fam"] = credential.user_id, 0, family

    refused(revoked.refresh)
    refused(str(unknown))


def test_anything_but_a_valid_refresh_token_is_refused(make_credential, family):
    tokens = token_pair_issue(credential=make_credential(), family=family)
    expired = SessionRefreshToken()
    expired.set_exp(lifetime=-timedelta(seconds=1))
    forged = jwt.encode(claims(tokens.refresh), "not the service's key, though long enough", algorithm="HS256")

    refused(tokens.access)  # the wrong token type
    refused(str(expired))
    refused(forged)
    refused("not a token")


def test_a_refresh_token_signed_before_the_switch_still_rotates_into_tokens_of_the_new_key(
    make_credential, revocations, family, rotation
):
    before = token_pair_issue(credential=make_credential(), family=family)
    rotation.switch()

    after = refresh_token_rotate(refresh=before.refresh)

    assert jwt.get_unverified_header(before.refresh)["kid"] == key_id(rotation.old)
    assert jwt.get_unverified_header(before.refresh)["alg"] == key_algorithm(rotation.old)
    for token in (after.access, after.refresh):
        assert jwt.get_unverified_header(token)["kid"] == key_id(rotation.new)
        assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert refresh_token_rotate(refresh=after.refresh).refresh_jti


def test_once_the_old_key_is_retired_its_refresh_tokens_are_refused(make_credential, family, rotation):
    before = token_pair_issue(credential=make_credential(), family=family)
    rotation.switch()
    rotation.retire()

    refused(before.refresh)
    assert RefreshTokenRecord.objects.get(jti=before.refresh_jti).used_at is None
