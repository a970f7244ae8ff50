"""Production settings: every secret and address comes from the environment, with no default.

Start-up fails with one message naming every variable that is missing
(``common.settings_production.require_environment``).
"""

from .base import *  # noqa: F403
from .base import DATABASES, SERVICE_NAME

# After base, so HTTPS, HSTS and secure cookies override it.
from common.settings_production import *  # noqa: E402, F403, I001
from common.settings_production import allowed_hosts, database_url_variables, refuse_sqlite, require_environment

# REQUIRED
# ------------------------------------------------------------------------------
_required = require_environment(
    SERVICE_NAME,
    [
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "INTERNAL_AUTH_KEY",
        *database_url_variables(SERVICE_NAME, DATABASES),
        "REDIS_URL",
        "AUTH_SERVICE_URL",
    ],
)
SECRET_KEY = _required["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = allowed_hosts(_required["DJANGO_ALLOWED_HOSTS"])
INTERNAL_AUTH_KEY = _required["INTERNAL_AUTH_KEY"]
refuse_sqlite(SERVICE_NAME, DATABASES)

# STAFF SIGN-IN: a password alone never opens the admin in production
# ------------------------------------------------------------------------------
STAFF_OTP_REQUIRED = True
