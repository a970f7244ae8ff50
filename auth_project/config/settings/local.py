"""Settings for a developer's machine and ``make run``: embedded defaults, nothing secret."""

from common.env import var_dir
from common.jwt_keys import local_key_pair
from common.settings.helpers import signer_public_keys

from .base import *  # noqa: F403
from .base import JWT_PRIVATE_KEY, JWT_PUBLIC_KEY, SIMPLE_JWT_SHARED

from common.settings.local import *  # noqa: E402, F403, I001

# The gateway's local settings read the public half from the same directory.
JWT_PRIVATE_KEY = JWT_PRIVATE_KEY or local_key_pair(var_dir() / "keys")[0]
JWT_PUBLIC_KEYS = signer_public_keys(JWT_PRIVATE_KEY, JWT_PUBLIC_KEY)
SIMPLE_JWT = {**SIMPLE_JWT_SHARED, "SIGNING_KEY": JWT_PRIVATE_KEY, "VERIFYING_KEY": JWT_PUBLIC_KEYS[0]}
