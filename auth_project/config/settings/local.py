"""Settings for a developer's machine and ``make run``: embedded defaults, nothing secret."""

from common.env import var_dir
from common.jwt_keys import accepted_public_keys, local_key_pair
from common.settings_base import simple_jwt_settings
from common.settings_production import rsa_public_keys_pem

from .base import *  # noqa: F403
from .base import JWT_PRIVATE_KEY, JWT_PUBLIC_KEY, env

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-only-not-a-secret")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# The gateway's local settings read the public half from the same directory.
JWT_PRIVATE_KEY = JWT_PRIVATE_KEY or local_key_pair(var_dir() / "keys")[0]
JWT_PUBLIC_KEYS = accepted_public_keys(
    JWT_PRIVATE_KEY, rsa_public_keys_pem("JWT_PUBLIC_KEY", JWT_PUBLIC_KEY) if JWT_PUBLIC_KEY.strip() else []
)
SIMPLE_JWT = simple_jwt_settings(signing_key=JWT_PRIVATE_KEY, verifying_key=JWT_PUBLIC_KEYS[0])
