"""The hashers for real: bcrypt as the monolith's bcryptjs stored it, Argon2 with the production parameters."""

import threading

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, get_hasher, identify_hasher, make_password
from django.test import override_settings

from config.settings.base import PASSWORD_HASHERS as PRODUCTION_HASHERS
from credentials import hashers
from credentials.tests.data import LONG_PASSWORD, legacy_hash


@pytest.mark.parametrize("prefix", ["$2a$", "$2b$"])
def test_a_legacy_bcrypt_hash_verifies(prefix):
    encoded = legacy_hash("hunter2hunter2", prefix)
    assert encoded.startswith(f"bcrypt${prefix}10$")

    assert identify_hasher(encoded).algorithm == "bcrypt"
    assert check_password("hunter2hunter2", encoded)
    assert not check_password("hunter2hunter3", encoded)


def test_a_password_over_72_bytes_verifies_as_bcryptjs_truncated_it():
    assert len(LONG_PASSWORD.encode()) > 72
    encoded = legacy_hash(LONG_PASSWORD)

    assert check_password(LONG_PASSWORD, encoded)
    # Whatever followed the 72nd byte never counted.
    first_72_bytes_and_more = LONG_PASSWORD[:70]
    assert len(first_72_bytes_and_more.encode()) > 72
    assert check_password(first_72_bytes_and_more + "something else entirely", encoded)
    assert not check_password("X" + LONG_PASSWORD[1:], encoded)


def test_a_multibyte_character_cut_at_the_72nd_byte_still_verifies():
    password = "a" * 71 + "é and more"  # é's two bytes straddle the limit
    encoded = legacy_hash(password)

    assert check_password(password, encoded)


def test_new_hashes_are_argon2id_with_the_production_parameters():
    with override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS):
        encoded = make_password(LONG_PASSWORD)

        assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
        assert check_password(LONG_PASSWORD, encoded)
        assert not check_password(LONG_PASSWORD + "!", encoded)


def test_argon2_hashes_with_other_parameters_are_due_for_a_rehash():
    cheap = make_password("hunter2hunter2")  # the test settings' parameters

    with override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS):
        assert get_hasher().must_update(cheap)
        assert check_password("hunter2hunter2", cheap)


@pytest.fixture
def two_hashing_threads(settings):
    settings.PASSWORD_HASH_THREADS = 2
    hashers._hashing_threads.cache_clear()
    yield
    hashers._hashing_threads.cache_clear()


def test_hashes_run_on_at_most_password_hash_threads_of_the_process_whoever_asks(two_hashing_threads, monkeypatch):
    ran_on = []
    verify = Argon2PasswordHasher.verify

    def recording_verify(self, password, encoded):
        ran_on.append(threading.current_thread().name)
        return verify(self, password, encoded)

    monkeypatch.setattr(Argon2PasswordHasher, "verify", recording_verify)
    encoded = make_password("hunter2hunter2")
    askers = [threading.Thread(target=check_password, args=("hunter2hunter2", encoded)) for _ in range(8)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    assert check_password("hunter2hunter2", legacy_hash("hunter2hunter2"))  # bcrypt's verify calls its encode

    assert len(ran_on) == 8
    assert all(name.startswith("password-hash") for name in ran_on)
    assert len(set(ran_on)) <= 2
