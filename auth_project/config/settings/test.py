"""Settings for the test suite."""

from common.env import var_dir
from common.jwt_keys import local_key_pair
from common.settings.helpers import signer_public_keys

from .base import *  # noqa: F403
from .base import JWT_PRIVATE_KEY, SIMPLE_JWT_SHARED

SECRET_KEY = "test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# Cheap Argon2 so the suite stays fast; the bcrypt hasher and the production
# Argon2 parameters are exercised for real in credentials/tests/test_hashers.py.
PASSWORD_HASHERS = [
    "credentials.tests.hashers.FastArgon2PasswordHasher",
    "credentials.hashers.LegacyBcryptPasswordHasher",
]

JWT_PRIVATE_KEY = JWT_PRIVATE_KEY or local_key_pair(var_dir() / "keys")[0]
# The signing key only, whatever the environment says; tests that rotate set their own.
JWT_PUBLIC_KEYS = signer_public_keys(JWT_PRIVATE_KEY, "")
SIMPLE_JWT = {**SIMPLE_JWT_SHARED, "SIGNING_KEY": JWT_PRIVATE_KEY, "VERIFYING_KEY": JWT_PUBLIC_KEYS[0]}
