"""Production settings of the users service: every secret and address from the environment, none defaulted.

A missing variable stops start-up, named with every other one missing
(``common.settings.requirements.production_requirements``).
"""

from common.settings.requirements import production_requirements

from .base import *  # noqa: F403
from .base import DATABASES, INTERNAL_AUTH_CALLERS, SERVICE_NAME

# After base, so HTTPS, HSTS and secure cookies override it.
from common.settings.production import *  # noqa: E402, F403, I001

# The service's own internal-auth key and its callers', its databases, Redis, and where the auth service answers.
_required = production_requirements(SERVICE_NAME, INTERNAL_AUTH_CALLERS, DATABASES, ["REDIS_URL", "AUTH_SERVICE_URL"])
SECRET_KEY = _required.secret_key
ALLOWED_HOSTS = _required.allowed_hosts
INTERNAL_AUTH_KEYS = _required.internal_auth_keys

# A password alone never opens the staff admin in production: TOTP as well.
STAFF_OTP_REQUIRED = True
