"""Production settings: every secret and address comes from the environment, with no default.

Start-up fails with one message naming every variable that is missing
(``common.settings_production.require_environment``).
"""

from .base import *  # noqa: F403
from .base import DATABASES, INTERNAL_AUTH_CALLERS, SERVICE_NAME

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
        "AUTH_SERVICE_URL",
    ],
)
SECRET_KEY = _required["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = allowed_hosts(_required["DJANGO_ALLOWED_HOSTS"])
INTERNAL_AUTH_KEYS = internal_auth_keys(_required, _internal_auth_key_owners)
refuse_sqlite(SERVICE_NAME, DATABASES)

# STAFF SIGN-IN: a password alone never opens the admin in production
# ------------------------------------------------------------------------------
STAFF_OTP_REQUIRED = True
