"""Production settings of the auth service: the only holder of the private key that signs users' tokens."""

from common.settings.helpers import private_key_pem, signer_public_keys, simple_jwt
from common.settings.requirements import production_requirements

from .base import *  # noqa: F403
from .base import DATABASES, INTERNAL_AUTH_CALLERS, JWT_PUBLIC_KEY, SERVICE_NAME, SIMPLE_JWT_SHARED

# After base, so HTTPS, HSTS and secure cookies override it.
from common.settings.production import *  # noqa: E402, F403, I001

# REQUIRED, with no default (common.settings.requirements.production_requirements)
# ------------------------------------------------------------------------------
_required = production_requirements(SERVICE_NAME, INTERNAL_AUTH_CALLERS, DATABASES, ["REDIS_URL", "JWT_PRIVATE_KEY"])
INTERNAL_AUTH_KEYS = _required.internal_auth_keys
SECRET_KEY = _required.secret_key
ALLOWED_HOSTS = _required.allowed_hosts

# TOKENS: the gateway gets the public half as JWT_PUBLIC_KEY
# ------------------------------------------------------------------------------
JWT_PRIVATE_KEY = private_key_pem("JWT_PRIVATE_KEY", _required.values["JWT_PRIVATE_KEY"])
# Optional: while a key is rotated, the gateway's JWT_PUBLIC_KEY value (old and new keys).
JWT_PUBLIC_KEYS = signer_public_keys(JWT_PRIVATE_KEY, JWT_PUBLIC_KEY)
SIMPLE_JWT = simple_jwt(SIMPLE_JWT_SHARED, JWT_PUBLIC_KEYS, JWT_PRIVATE_KEY)
