"""Settings for the test suite."""

import tempfile
from pathlib import Path

from common.jwt_keys import local_key_pair
from common.settings.helpers import signer_public_keys, simple_jwt

from .base import *  # noqa: F403
from .base import SIMPLE_JWT_SHARED

SECRET_KEY = "test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
# Cheap Argon2 so the suite stays fast; the bcrypt hasher and the production
# Argon2 parameters are exercised for real in credentials/tests/test_hashers.py.
PASSWORD_HASHERS = [
    "credentials.tests.hashers.FastArgon2PasswordHasher",
    "credentials.hashers.LegacyBcryptPasswordHasher",
]

# A key pair made for this run, as a new local pair is (EC P-256), whatever the environment or a
# developer's var/keys holds; the signing key only. Tests that rotate set their own.
_JWT_KEYS_DIR = tempfile.TemporaryDirectory(prefix="auth-test-jwt-")
JWT_PRIVATE_KEY = local_key_pair(Path(_JWT_KEYS_DIR.name))[0]
JWT_PUBLIC_KEYS = signer_public_keys(JWT_PRIVATE_KEY, "")
SIMPLE_JWT = simple_jwt(SIMPLE_JWT_SHARED, JWT_PUBLIC_KEYS, JWT_PRIVATE_KEY)
