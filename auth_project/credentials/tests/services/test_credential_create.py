import jwt
import pytest
from django.contrib.auth.hashers import check_password

from common.errors import ApiError, LegacyValidationError
from credentials.models import Credential
from credentials.services import credential_create
from credentials.tests.data import PASSWORD, USER_CREATED_AT

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])


def create(user_id: int, email: str = "New.Person+x@Gmail.com", password: str = PASSWORD):
    return credential_create(
        user_id=user_id, email=email, password=password, name="  Ada  ", user_created_at=USER_CREATED_AT
    )


def test_the_credential_is_stored_hashed_and_the_first_session_starts(new_user_id):
    tokens = create(new_user_id)

    credential = Credential.objects.get(pk=new_user_id)
    assert credential.email == "New.Person+x@Gmail.com"
    assert credential.email_canonical == "newperson@gmail.com"
    assert credential.password.startswith("argon2$") and check_password(PASSWORD, credential.password)
    assert (credential.name, credential.user_created_at, credential.token_version) == ("  Ada  ", USER_CREATED_AT, 0)
    claims = jwt.decode(tokens.access, options={"verify_signature": False})
    assert (claims["userId"], claims["email"]) == (new_user_id, "New.Person+x@Gmail.com")
    assert credential.refresh_tokens.get().jti == tokens.refresh_jti


def test_a_retry_of_the_same_registration_issues_fresh_tokens(new_user_id):
    first = create(new_user_id)

    again = create(new_user_id, email="newperson@gmail.com")

    assert again.refresh_jti != first.refresh_jti
    assert Credential.objects.filter(pk=new_user_id).count() == 1
    assert Credential.objects.get(pk=new_user_id).refresh_tokens.count() == 2


@pytest.mark.parametrize(
    "change",
    [{"password": "another passphrase entirely"}, {"email": "someone.else@example.com"}],
    ids=["other password", "other email"],
)
def test_the_same_user_id_with_other_details_is_a_conflict(new_user_id, change):
    create(new_user_id)

    with pytest.raises(ApiError) as raised:
        create(new_user_id, **change)

    assert raised.value.status == 409
    assert raised.value.message == "A different credential already exists for this user id"


def test_an_email_another_user_has_is_a_conflict(new_user_id, make_credential):
    make_credential(email="newperson@gmail.com")

    with pytest.raises(ApiError) as raised:
        create(new_user_id)

    assert (raised.value.status, raised.value.message) == (409, "User already exists")
    assert not Credential.objects.filter(pk=new_user_id).exists()


def test_a_weak_password_is_refused_in_the_legacy_shape(new_user_id):
    with pytest.raises(LegacyValidationError) as raised:
        create(new_user_id, password="1234")

    assert {error["path"] for error in raised.value.errors} == {"password"}
    assert all("value" not in error for error in raised.value.errors)
    assert not Credential.objects.filter(pk=new_user_id).exists()
