"""Settings for a developer's machine and ``make run``: embedded defaults, nothing secret."""

from common.env import var_dir
from common.jwt_keys import local_key_pair
from common.settings_base import simple_jwt_settings
from common.settings_production import rsa_public_keys_pem

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-only-not-a-secret")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# The auth service signs with the private half of the same local pair. JWT_PUBLIC_KEY
# may hold several PEMs, one after another (a key being rotated).
_public_keys = env.str("JWT_PUBLIC_KEY", default="")
JWT_PUBLIC_KEYS = (
    rsa_public_keys_pem("JWT_PUBLIC_KEY", _public_keys) if _public_keys else [local_key_pair(var_dir() / "keys")[1]]
)
SIMPLE_JWT = simple_jwt_settings(signing_key="", verifying_key=JWT_PUBLIC_KEYS[0])

# Any origin may call the API from a developer's browser.
CORS_ALLOW_ALL_ORIGINS = True
