"""Settings for a developer's machine and ``make run``: embedded defaults, nothing secret."""

from common.env import var_dir
from common.settings.helpers import simple_jwt, verifier_public_keys

from .base import *  # noqa: F403
from .base import SIMPLE_JWT_SHARED, env

from common.settings.local import *  # noqa: E402, F403, I001

# The auth service signs with the private half of the same local pair. JWT_PUBLIC_KEY
# may hold several PEMs, one after another (a key being rotated).
JWT_PUBLIC_KEYS = verifier_public_keys(env.str("JWT_PUBLIC_KEY", default=""), var_dir() / "keys")
SIMPLE_JWT = simple_jwt(SIMPLE_JWT_SHARED, JWT_PUBLIC_KEYS)

# Any origin may call the API from a developer's browser.
CORS_ALLOW_ALL_ORIGINS = True
