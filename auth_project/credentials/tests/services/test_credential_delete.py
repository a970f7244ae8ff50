import pytest

from common.errors import ApiError
from credentials.models import Credential, RefreshTokenRecord
from credentials.services import credential_delete
from credentials.sessions import token_pair_issue

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])


def test_the_credential_and_its_sessions_go_and_every_token_is_revoked(make_credential, revocations, family):
    credential = make_credential(token_version=2)
    token_pair_issue(credential=credential, family=family)

    credential_delete(user_id=credential.user_id)

    assert not Credential.objects.filter(pk=credential.user_id).exists()
    assert not RefreshTokenRecord.objects.exists()
    assert revocations.get(f"revocation:user:{credential.user_id}") == "3"


def test_deleting_what_is_not_there_does_nothing(new_user_id, revocations):
    credential_delete(user_id=new_user_id)

    assert revocations.get(f"revocation:user:{new_user_id}") is None


def test_redis_down_is_a_503_and_nothing_is_deleted(make_credential, redis_down):
    credential = make_credential()

    with pytest.raises(ApiError) as raised:
        credential_delete(user_id=credential.user_id)

    assert raised.value.status == 503
    assert Credential.objects.filter(pk=credential.user_id).exists()
