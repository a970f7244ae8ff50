"""Production settings: every secret and address comes from the environment, with no default.

Start-up fails with one message naming every variable that is missing
(``common.settings.requirements.production_requirements``).
"""

from common.settings.requirements import production_requirements

from .base import *  # noqa: F403
from .base import DATABASES, INTERNAL_AUTH_CALLERS, SERVICE_NAME

# After base, so HTTPS, HSTS and secure cookies override it.
from common.settings.production import *  # noqa: E402, F403, I001

# REQUIRED
# ------------------------------------------------------------------------------
# The key this service signs its X-Internal-Auth with, and its callers' (common.internal_auth).
_required = production_requirements(SERVICE_NAME, INTERNAL_AUTH_CALLERS, DATABASES, ["REDIS_URL", "AUTH_SERVICE_URL"])
SECRET_KEY = _required.secret_key
ALLOWED_HOSTS = _required.allowed_hosts
INTERNAL_AUTH_KEYS = _required.internal_auth_keys

# STAFF SIGN-IN: a password alone never opens the admin in production
# ------------------------------------------------------------------------------
STAFF_OTP_REQUIRED = True
