"""The platform's Argon2id hasher (common.hashers): Django's answers, some of them remembered."""

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher

from common.hashers import Argon2idPasswordHasher


class _Cheap(Argon2idPasswordHasher):
    time_cost = 1
    memory_cost = 8


def _hash(hasher_class, salt="saltsaltsaltsaltsalt12"):
    return hasher_class().encode("a password", salt)


@pytest.fixture
def hashes() -> dict:
    current = _hash(Argon2idPasswordHasher)
    algorithm, variety, version, params, salt, digest = current.split("$")
    return {
        "current": current,
        "cheaper": _hash(_Cheap),
        "short-salt": _hash(Argon2idPasswordHasher, salt="shortsalt"),
        "longer-digest": "$".join([algorithm, variety, version, params, salt, digest + "AAAA"]),
        "argon2i": "$".join([algorithm, "argon2i", version, params, salt, digest]),
        "not-base64": "$".join([algorithm, variety, version, params, salt[:-1] + "!", digest]),
        "five-segments": "$".join([algorithm, variety, params, salt, digest]),
    }


@pytest.mark.parametrize(
    "name", ["current", "cheaper", "short-salt", "longer-digest", "argon2i", "not-base64", "five-segments"]
)
@pytest.mark.parametrize("hasher_class", [Argon2idPasswordHasher, _Cheap])
def test_must_update_answers_as_django_each_time(hashes, name, hasher_class):
    def answer(must_update):
        try:
            return must_update(hasher_class(), hashes[name])
        except Exception as exc:  # noqa: BLE001  (a refusal must be the same too)
            return type(exc)

    expected = answer(Argon2PasswordHasher.must_update)

    assert [answer(hasher_class.must_update) for _ in range(2)] == [expected, expected]
    if name == "current":
        assert expected is (hasher_class is _Cheap)
