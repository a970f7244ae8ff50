"""The users service's ``user.*`` events, applied by the auth service's consumer to the credentials."""

import uuid
from datetime import datetime, timezone

import pytest

from common.errors import ApiError
from common.legacy_import.models import Status
from common.events.envelope import envelope_build
from common.events.inbox import events_consume
from common.events.models import InboxEvent, ParkedMessage
from credentials.models import Credential, RefreshTokenRecord
from credentials.logins import credential_login
from credentials.sessions import token_pair_issue
from credentials.tests.data import PASSWORD
from legacy_import.models import LegacyRowState

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def user_event(event_type, credential, version, *, email=None, name="Ada Lovelace", is_active=True, **extra):
    payload = {"user_id": credential.user_id}
    if event_type != "user.deleted":
        payload.update(email=email or credential.email, name=name, is_active=is_active, **extra)
    return envelope_build(
        id=uuid.uuid4(),
        type=event_type,
        source="users",
        aggregate_id=str(credential.user_id),
        version=version,
        occurred_at=T0,
        request_id=None,
        payload=payload,
    )


def consume(*envelopes, attempt=0):
    return events_consume(envelopes=list(envelopes), attempt=attempt)


def login_status(email: str) -> int:
    try:
        credential_login(email=email, password=PASSWORD)
    except ApiError as error:
        return error.status
    return 200


def test_an_email_change_moves_the_login_to_the_new_email(make_credential, revocations):
    credential = make_credential(email="ada@example.com")

    result = consume(user_event("user.profile.updated", credential, 2, email="Ada.New@Example.com", changed=["email"]))

    assert result.applied == 1
    credential.refresh_from_db()
    assert (credential.email, credential.email_canonical) == ("Ada.New@Example.com", "ada.new@example.com")
    assert login_status("ada.new@example.com") == 200
    assert login_status("ada@example.com") == 401


def test_a_name_change_is_copied_for_the_login_answer(make_credential, revocations):
    credential = make_credential(name="Ada")
    consume(user_event("user.profile.updated", credential, 2, name="Ada L.", changed=["name"]))
    credential.refresh_from_db()
    assert credential.name == "Ada L."


def test_two_quick_email_changes_arriving_out_of_order_end_with_the_last(make_credential, revocations):
    credential = make_credential(email="ada@example.com")
    first = user_event("user.profile.updated", credential, 2, email="first@example.com")
    second = user_event("user.profile.updated", credential, 3, email="second@example.com")

    consume(second)
    late = consume(first)

    assert late.stale == 1
    credential.refresh_from_db()
    assert credential.email == "second@example.com"
    assert [login_status(email) for email in ("second@example.com", "first@example.com")] == [200, 401]


def test_the_same_event_twice_is_applied_once(make_credential, revocations):
    credential = make_credential()
    deactivated = user_event("user.deactivated", credential, 2, is_active=False)

    consume(deactivated)
    again = consume(deactivated)

    assert again.duplicate == 1
    credential.refresh_from_db()
    assert credential.token_version == 1  # bumped once, not twice


def test_registration_is_a_state_like_any_other(make_credential, revocations):
    credential = make_credential(email="ada@example.com", name="Ada")
    result = consume(user_event("user.registered", credential, 1, name="Ada", created_at="2026-03-01T00:00:00.000Z"))
    assert result.applied == 1
    credential.refresh_from_db()
    assert (credential.email, credential.name, credential.is_active) == ("ada@example.com", "Ada", True)


def test_deactivation_refuses_logins_and_revokes_every_token(make_credential, revocations, family):
    credential = make_credential()
    tokens = token_pair_issue(credential=credential, family=family)

    consume(user_event("user.deactivated", credential, 2, is_active=False))

    credential.refresh_from_db()
    assert (credential.is_active, credential.token_version) == (False, 1)
    assert revocations.get(f"revocation:user:{credential.user_id}") == "1"
    assert RefreshTokenRecord.objects.get(jti=tokens.refresh_jti).revoked_at is not None
    assert login_status(credential.email) == 401


def test_reactivation_allows_logins_again_and_keeps_old_tokens_revoked(make_credential, revocations):
    credential = make_credential()
    consume(user_event("user.deactivated", credential, 2, is_active=False))

    consume(user_event("user.reactivated", credential, 3, is_active=True))

    credential.refresh_from_db()
    assert (credential.is_active, credential.token_version) == (True, 1)
    assert revocations.get(f"revocation:user:{credential.user_id}") == "1"
    assert login_status(credential.email) == 200


def test_a_late_deactivation_after_the_reactivation_changes_nothing(make_credential, revocations):
    credential = make_credential()
    deactivated = user_event("user.deactivated", credential, 2, is_active=False)
    reactivated = user_event("user.reactivated", credential, 3, is_active=True)

    consume(reactivated)
    consume(deactivated)

    credential.refresh_from_db()
    assert (credential.is_active, credential.token_version) == (True, 0)


def test_deletion_erases_the_credential_and_revokes_every_token(make_credential, revocations, family):
    credential = make_credential(token_version=4)
    token_pair_issue(credential=credential, family=family)

    consume(user_event("user.deleted", credential, 7))

    assert not Credential.objects.filter(pk=credential.pk).exists()
    assert not RefreshTokenRecord.objects.exists()
    assert revocations.get(f"revocation:user:{credential.user_id}") == "5"


def test_an_event_arriving_after_the_deletion_is_stale(make_credential, revocations):
    credential = make_credential()
    consume(user_event("user.deleted", credential, 3))

    late = consume(user_event("user.profile.updated", credential, 2, email="late@example.com"))

    assert late.stale == 1
    assert not Credential.objects.exists()


def test_an_event_about_a_user_without_a_credential_is_skipped(make_credential, revocations, new_user_id):
    ghost = Credential(user_id=new_user_id, email="ghost@example.com")
    result = consume(user_event("user.profile.updated", ghost, 2))
    assert result.applied == 1
    assert not Credential.objects.exists()


def test_an_email_another_credential_still_holds_is_retried_until_it_is_freed(make_credential, revocations, settings):
    settings.EVENTS_MAX_RETRIES = 5
    leaving = make_credential(email="taken@example.com")
    credential = make_credential(email="ada@example.com")
    change = user_event("user.profile.updated", credential, 2, email="Taken@example.com")

    assert consume(change).retry == [change]  # the deletion of the other user has not arrived yet
    consume(user_event("user.deleted", leaving, 5))
    assert consume(change, attempt=1).applied == 1

    credential.refresh_from_db()
    assert credential.email == "Taken@example.com"


def test_redis_down_undoes_the_deactivation_and_retries_it(make_credential, redis_down, settings):
    settings.EVENTS_MAX_RETRIES = 0
    credential = make_credential()
    deactivated = user_event("user.deactivated", credential, 2, is_active=False)

    result = consume(deactivated, attempt=10)

    assert (result.retry, result.parked) == ([deactivated], 0)
    assert "RevocationUnavailable" in result.error
    credential.refresh_from_db()
    assert (credential.is_active, credential.token_version) == (True, 0)
    assert not InboxEvent.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"user_id": "x", "email": "a@example.com", "name": None, "is_active": True},
        {"user_id": "__other__", "email": "a@example.com", "name": None, "is_active": True},
        {"user_id": "__own__", "email": "not an email", "name": None, "is_active": True},
        {"user_id": "__own__", "email": "a@example.com", "name": None, "is_active": "yes"},
        {"user_id": "__own__"},
    ],
)
def test_a_malformed_user_event_is_parked_after_its_retries(make_credential, revocations, settings, payload):
    settings.EVENTS_MAX_RETRIES = 0
    credential = make_credential(email="ada@example.com")
    broken = user_event("user.profile.updated", credential, 2)
    ids = {"__own__": credential.user_id, "__other__": credential.user_id + 1}
    broken["payload"] = {**payload, "user_id": ids.get(payload["user_id"], payload["user_id"])}

    assert consume(broken).parked == 1

    credential.refresh_from_db()
    assert credential.email == "ada@example.com"
    assert ParkedMessage.objects.get().event_type == "user.profile.updated"


def test_deletion_erases_the_address_the_legacy_import_kept(make_credential, revocations):
    credential = make_credential()
    LegacyRowState.objects.create(
        pk=credential.user_id, status=Status.IMPORTED, email="ada@example.com", detail="ada@example.com: not bcrypt"
    )
    consume(user_event("user.deleted", credential, 3))
    assert LegacyRowState.objects.filter(pk=credential.user_id).values_list("email", "detail").get() == ("", "")
