"""Settings for the test suite."""

import tempfile
from pathlib import Path

from common.jwt_keys import local_key_pair
from common.settings.helpers import simple_jwt

from .base import *  # noqa: F403
from .base import SIMPLE_JWT_SHARED

SECRET_KEY = "test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

# A key pair made for this run (never the developer's var/keys): the tests sign
# tokens with the private half, the gateway knows only the public one.
_JWT_KEYS_DIR = tempfile.TemporaryDirectory(prefix="gateway-test-jwt-")
JWT_TEST_PRIVATE_KEY, _public_key = local_key_pair(Path(_JWT_KEYS_DIR.name))
JWT_PUBLIC_KEYS = [_public_key]
SIMPLE_JWT = simple_jwt(SIMPLE_JWT_SHARED, JWT_PUBLIC_KEYS)

CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

# No routes file unless a test names one: a developer's var/ never changes the table under test.
GATEWAY_ROUTES_FILE = ""
