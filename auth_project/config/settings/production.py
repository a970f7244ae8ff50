"""Production settings: every secret and address comes from the environment, with no default.

Start-up fails with one message naming every variable that is missing
(``common.settings_production.require_environment``).
"""

from common.jwt_keys import accepted_public_keys
from common.settings_base import simple_jwt_settings

from .base import *  # noqa: F403
from .base import DATABASES, INTERNAL_AUTH_CALLERS, JWT_PUBLIC_KEY, SERVICE_NAME

# After base, so HTTPS, HSTS and secure cookies override it.
from common.settings_production import *  # noqa: E402, F403, I001
from common.settings_production import (
    allowed_hosts,
    database_url_variables,
    internal_auth_key_owners,
    internal_auth_key_variables,
    internal_auth_keys,
    refuse_sqlite,
    require_environment,
    rsa_private_key_pem,
    rsa_public_keys_pem,
)

# REQUIRED
# ------------------------------------------------------------------------------
# The key this service signs its X-Internal-Auth with, and its callers' (common.internal_auth).
_internal_auth_key_owners = internal_auth_key_owners(SERVICE_NAME, INTERNAL_AUTH_CALLERS)
_required = require_environment(
    SERVICE_NAME,
    [
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        *internal_auth_key_variables(_internal_auth_key_owners),
        *database_url_variables(SERVICE_NAME, DATABASES),
        "REDIS_URL",
        "JWT_PRIVATE_KEY",
    ],
)
SECRET_KEY = _required["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = allowed_hosts(_required["DJANGO_ALLOWED_HOSTS"])
INTERNAL_AUTH_KEYS = internal_auth_keys(_required, _internal_auth_key_owners)
refuse_sqlite(SERVICE_NAME, DATABASES)

# TOKENS: only this service holds the private key; the gateway gets the public half as JWT_PUBLIC_KEY
# ------------------------------------------------------------------------------
JWT_PRIVATE_KEY = rsa_private_key_pem("JWT_PRIVATE_KEY", _required["JWT_PRIVATE_KEY"])
# Optional: while a key is rotated, the gateway's JWT_PUBLIC_KEY value (old and new keys).
JWT_PUBLIC_KEYS = accepted_public_keys(
    JWT_PRIVATE_KEY, rsa_public_keys_pem("JWT_PUBLIC_KEY", JWT_PUBLIC_KEY) if JWT_PUBLIC_KEY.strip() else []
)
SIMPLE_JWT = simple_jwt_settings(signing_key=JWT_PRIVATE_KEY, verifying_key=JWT_PUBLIC_KEYS[0])
