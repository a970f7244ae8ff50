import logging
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connections
from django.utils import timezone

from common.errors import ApiError
from common.events.models import OutboxEvent
from common.revocation import user_disable
from credentials.models import Credential, RefreshTokenRecord
from credentials.logins import credential_login
from credentials.tests.hashers import FastArgon2PasswordHasher
from credentials.tests.data import LONG_PASSWORD, PASSWORD, legacy_hash

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])


def refused(email: str, password: str) -> ApiError:
    with pytest.raises(ApiError) as raised:
        credential_login(email=email, password=password)
    return raised.value


@pytest.fixture
def hasher_verifications(monkeypatch) -> list[str]:
    """The hashes the password hasher verified a password against, in order."""
    verified = []
    original = FastArgon2PasswordHasher.verify

    def verify(self, password, encoded):
        verified.append(encoded)
        return original(self, password, encoded)

    monkeypatch.setattr(FastArgon2PasswordHasher, "verify", verify)
    return verified


def test_a_right_password_starts_a_session(make_credential):
    credential = make_credential(email="ada@example.com", failed_login_count=2)

    result = credential_login(email="ada@example.com", password=PASSWORD)

    assert result.credential == credential
    assert result.tokens.access and result.tokens.refresh
    credential.refresh_from_db()
    assert credential.failed_login_count == 0
    assert credential.last_login_at is not None
    assert credential.refresh_tokens.count() == 1


def test_the_address_is_found_however_it_is_typed(make_credential):
    credential = make_credential(email="firstlast@gmail.com")

    assert credential_login(email="First.Last+x@Gmail.com", password=PASSWORD).credential == credential


def test_a_legacy_bcrypt_hash_is_replaced_by_argon2_on_login(make_credential):
    credential = make_credential(password_hash=legacy_hash(LONG_PASSWORD))

    credential_login(email=credential.email, password=LONG_PASSWORD)

    credential.refresh_from_db()
    assert credential.password.startswith("argon2$argon2id$")
    assert check_password(LONG_PASSWORD, credential.password)


def test_a_wrong_password_leaves_a_legacy_hash_alone(make_credential):
    encoded = legacy_hash("hunter2hunter2")
    credential = make_credential(password_hash=encoded)

    refused(credential.email, "hunter3hunter3")

    credential.refresh_from_db()
    assert credential.password == encoded


@pytest.mark.parametrize(
    "case",
    ["unknown email", "wrong password", "inactive", "disabled at the users service", "locked"],
)
def test_every_refusal_is_the_same_401_after_the_same_hashing_work(
    make_credential, hasher_verifications, revocations, case
):
    email, password = "ada@example.com", PASSWORD
    if case == "unknown email":
        email = "nobody@example.com"
    elif case == "wrong password":
        password = "not the password"
    elif case == "inactive":
        make_credential(email=email, is_active=False)
    elif case == "disabled at the users service":
        # Deactivated there, the event not applied here yet: the credential is still active.
        user_disable(revocations, make_credential(email=email).user_id)
    elif case == "locked":
        make_credential(email=email, locked_until=timezone.now() + timedelta(minutes=5))
    if case in ("unknown email", "wrong password"):
        make_credential(email="ada@example.com")

    error = refused(email, password)

    assert (error.status, error.message) == (401, "Invalid credentials")
    # The password went through the hasher exactly once, as for a real check.
    assert len(hasher_verifications) == 1
    assert hasher_verifications[0].startswith("argon2$")


def test_with_redis_down_a_login_goes_on_without_the_users_services_word(make_credential, redis_down, caplog):
    credential = make_credential()

    assert credential_login(email=credential.email, password=PASSWORD).tokens.access
    assert "deactivations not readable: login checked without them" in caplog.messages


def test_consecutive_wrong_passwords_lock_the_account(make_credential, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    credential = make_credential()

    for _ in range(2):
        refused(credential.email, "wrong")
    credential.refresh_from_db()
    assert (credential.failed_login_count, credential.locked_until) == (2, None)

    refused(credential.email, "wrong")
    credential.refresh_from_db()
    assert credential.locked_until is not None
    assert timedelta(seconds=590) < credential.locked_until - timezone.now() <= timedelta(seconds=600)

    # Even the right password is refused while the lock holds.
    assert refused(credential.email, PASSWORD).message == "Invalid credentials"


def test_the_account_opens_again_when_the_lock_expires(make_credential):
    credential = make_credential(locked_until=timezone.now() - timedelta(seconds=1))

    credential_login(email=credential.email, password=PASSWORD)

    credential.refresh_from_db()
    assert (credential.failed_login_count, credential.locked_until) == (0, None)


def test_a_success_resets_the_count(make_credential, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 3
    credential = make_credential()

    for _ in range(2):
        refused(credential.email, "wrong")
    credential_login(email=credential.email, password=PASSWORD)
    for _ in range(2):
        refused(credential.email, "wrong")

    credential.refresh_from_db()
    assert (credential.failed_login_count, credential.locked_until) == (2, None)


def test_logins_are_logged_by_user_id_without_the_password(make_credential, caplog):
    credential = make_credential()
    caplog.set_level(logging.INFO, logger="credentials")

    credential_login(email=credential.email, password=PASSWORD)
    refused(credential.email, "wrong password!")
    refused("nobody@example.com", "wrong password!")

    events = [(r.event, r.user_id, getattr(r, "reason", None)) for r in caplog.records if hasattr(r, "event")]
    assert events == [
        ("auth.login.success", credential.user_id, None),
        ("auth.login.failed", credential.user_id, "wrong_password"),
        ("auth.login.failed", None, "unknown_email"),
    ]
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert PASSWORD not in logged
    assert "wrong password!" not in logged
    assert Credential.objects.get().password not in logged


def test_a_credential_deleted_while_its_password_was_checked_is_refused_and_nothing_is_written(
    make_credential, monkeypatch
):
    credential = make_credential()
    read_before = Credential.objects.get(pk=credential.pk)
    Credential.objects.filter(pk=credential.pk).delete()
    monkeypatch.setattr("credentials.logins.credential_get_by_email", lambda email: read_before)

    assert refused(credential.email, PASSWORD).status == 401

    assert not RefreshTokenRecord.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_attempts_in_flight_count_before_their_hash_so_none_past_the_threshold_is_checked(
    make_credential, hasher_verifications, settings
):
    settings.LOGIN_LOCKOUT_THRESHOLD = 3
    # Three attempts are being hashed right now: counted, the lock not decided yet.
    credential = make_credential(failed_login_count=3)

    # A fourth, even with the right password, is not checked against the account's hash.
    assert refused(credential.email, PASSWORD).message == "Invalid credentials"
    assert credential.password not in hasher_verifications
    credential.refresh_from_db()
    assert credential.failed_login_count == 3


def test_the_attempt_reaching_the_threshold_locks_whatever_the_others_did(make_credential, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 3
    credential = make_credential(failed_login_count=2)

    refused(credential.email, "wrong")

    credential.refresh_from_db()
    assert credential.failed_login_count == 0 and credential.locked_until is not None


def test_a_success_clears_the_count_and_lock_and_numbers_its_event_in_one_go(make_credential):
    # The success's UPDATE also bumps the credential's event counter and numbers the event with it.
    credential = make_credential(failed_login_count=2, locked_until=timezone.now() - timedelta(minutes=1))
    Credential.objects.filter(pk=credential.pk).update(event_version=4)

    result = credential_login(email=credential.email, password=PASSWORD)

    stored = Credential.objects.get(pk=credential.pk)
    assert (stored.failed_login_count, stored.locked_until, stored.event_version) == (0, None, 5)
    assert stored.last_login_at == stored.updated_at == result.credential.last_login_at
    assert (result.credential.failed_login_count, result.credential.event_version) == (0, 5)
    assert stored.password == credential.password
    event = OutboxEvent.objects.get()
    assert (event.type, event.aggregate_id, event.version, event.payload) == (
        "auth.login.success", str(credential.user_id), 5, {"user_id": credential.user_id}
    )


def test_the_attempt_is_counted_and_committed_before_its_hash(make_credential, monkeypatch):
    # No transaction of the login's is open while the hash runs (the test's own is): the count is written, the row free.
    credential = make_credential(failed_login_count=1)
    connection = connections["credentials"]
    test_transactions = len(connection.atomic_blocks)
    seen = []
    original = FastArgon2PasswordHasher.verify

    def verify(self, password, encoded):
        count = Credential.objects.get(pk=credential.pk).failed_login_count
        seen.append((count, len(connection.atomic_blocks) - test_transactions))
        return original(self, password, encoded)

    monkeypatch.setattr(FastArgon2PasswordHasher, "verify", verify)

    credential_login(email=credential.email, password=PASSWORD)

    assert seen == [(2, 0)]
