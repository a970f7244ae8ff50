import jwt
import pytest
from django.contrib.auth.hashers import check_password

from common.errors import ApiError, LegacyValidationError
from credentials.models import RefreshTokenRecord
from credentials.services import credential_change_password
from credentials.sessions import refresh_token_rotate, token_pair_issue
from credentials.tests.data import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

NEW_PASSWORD = "a brand new passphrase"


def test_the_password_changes_and_every_earlier_token_is_revoked(make_credential, revocations, family):
    credential = make_credential(token_version=4, failed_login_count=3)
    before = token_pair_issue(credential=credential, family=family)

    tokens = credential_change_password(
        user_id=credential.user_id, current_password=PASSWORD, new_password=NEW_PASSWORD
    )

    credential.refresh_from_db()
    assert check_password(NEW_PASSWORD, credential.password)
    assert credential.password.startswith("argon2$")
    assert credential.token_version == 5
    assert credential.password_changed_at is not None
    assert credential.failed_login_count == 0
    assert revocations.get(f"revocation:user:{credential.user_id}") == "5"
    assert RefreshTokenRecord.objects.get(jti=before.refresh_jti).revoked_at is not None
    # The caller stays signed in with a new session at the new version.
    claims = jwt.decode(tokens.access, options={"verify_signature": False})
    assert claims["ver"] == 5
    assert claims["fam"] != family
    assert refresh_token_rotate(refresh=tokens.refresh).access
    with pytest.raises(ApiError):
        refresh_token_rotate(refresh=before.refresh)


def test_a_wrong_current_password_is_a_401(make_credential):
    credential = make_credential()

    with pytest.raises(ApiError) as raised:
        credential_change_password(user_id=credential.user_id, current_password="wrong", new_password=NEW_PASSWORD)

    assert (raised.value.status, raised.value.message) == (401, "Current password is incorrect")
    credential.refresh_from_db()
    assert check_password(PASSWORD, credential.password)


@pytest.mark.parametrize(
    "new_password",
    ["short1", "password123", "12345678901234", "ada.lovelace@example.com"],
    ids=["too short", "common", "all digits", "like the email"],
)
def test_a_weak_new_password_is_refused_before_the_current_one_is_checked(make_credential, new_password):
    credential = make_credential(email="ada.lovelace@example.com")

    with pytest.raises(LegacyValidationError) as raised:
        credential_change_password(user_id=credential.user_id, current_password="wrong", new_password=new_password)

    errors = raised.value.errors
    assert errors and all(error["path"] == "newPassword" and "value" not in error for error in errors)
    assert all(new_password not in error["msg"] for error in errors)


def test_an_unknown_or_deactivated_user_is_a_404(make_credential, new_user_id):
    inactive = make_credential(is_active=False)

    for user_id in (new_user_id, inactive.user_id):
        with pytest.raises(ApiError) as raised:
            credential_change_password(user_id=user_id, current_password=PASSWORD, new_password=NEW_PASSWORD)
        assert (raised.value.status, raised.value.message) == (404, "User not found")


def test_redis_down_is_a_503_and_nothing_changes(make_credential, redis_down):
    credential = make_credential()

    with pytest.raises(ApiError) as raised:
        credential_change_password(user_id=credential.user_id, current_password=PASSWORD, new_password=NEW_PASSWORD)

    assert raised.value.status == 503
    credential.refresh_from_db()
    assert check_password(PASSWORD, credential.password)
    assert credential.token_version == 0


def test_a_wrong_current_password_counts_as_a_failed_sign_in_and_locks_at_the_threshold(make_credential, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 2
    credential = make_credential()

    for _ in range(2):
        with pytest.raises(ApiError) as raised:
            credential_change_password(user_id=credential.user_id, current_password="guess", new_password=NEW_PASSWORD)
        assert (raised.value.status, raised.value.message) == (401, "Current password is incorrect")

    credential.refresh_from_db()
    assert credential.locked_until is not None
    # While locked, not even the right current password is checked: the same 401, the password unchanged.
    with pytest.raises(ApiError) as raised:
        credential_change_password(user_id=credential.user_id, current_password=PASSWORD, new_password=NEW_PASSWORD)
    assert raised.value.status == 401
    credential.refresh_from_db()
    assert check_password(PASSWORD, credential.password)
