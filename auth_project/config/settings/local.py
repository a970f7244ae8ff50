"""Settings for a developer's machine and ``make run``: embedded defaults, nothing secret."""

from common.env import var_dir
from common.settings.helpers import local_private_key_pem, signer_public_keys, simple_jwt

from .base import *  # noqa: F403
from .base import JWT_PRIVATE_KEY, JWT_PUBLIC_KEY, SIMPLE_JWT_SHARED

from common.settings.local import *  # noqa: E402, F403, I001

# Unset, the local pair; the gateway's local settings read the public half from the same directory.
JWT_PRIVATE_KEY = local_private_key_pem(JWT_PRIVATE_KEY, var_dir() / "keys")
JWT_PUBLIC_KEYS = signer_public_keys(JWT_PRIVATE_KEY, JWT_PUBLIC_KEY)
SIMPLE_JWT = simple_jwt(SIMPLE_JWT_SHARED, JWT_PUBLIC_KEYS, JWT_PRIVATE_KEY)
