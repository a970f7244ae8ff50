"""Production settings: every secret and address comes from the environment, with no default.

Start-up fails with one message naming every variable that is missing
(``common.settings.requirements.production_requirements``).
"""

from common.settings.helpers import simple_jwt, verifier_public_keys
from common.settings.requirements import production_requirements, refuse_short_secret

from .base import *  # noqa: F403
from .base import DATABASES, INTERNAL_AUTH_CALLERS, LEGACY_JWT_SECRET, SERVICE_NAME, SIMPLE_JWT_SHARED

# After base, so HTTPS, HSTS and secure cookies override it.
from common.settings.production import *  # noqa: E402, F403, I001

# REQUIRED
# ------------------------------------------------------------------------------
# The gateway has no database; it needs to know where the services answer, and
# the key it signs its X-Internal-Auth with (no one calls it with one).
_required = production_requirements(
    SERVICE_NAME,
    INTERNAL_AUTH_CALLERS,
    DATABASES,
    ["REDIS_URL", "USERS_SERVICE_URL", "AUTH_SERVICE_URL", "JWT_PUBLIC_KEY"],
)
SECRET_KEY = _required.secret_key
ALLOWED_HOSTS = _required.allowed_hosts
INTERNAL_AUTH_KEYS = _required.internal_auth_keys

# TOKENS: the gateway verifies users' tokens and never signs one, so it has no private key
# ------------------------------------------------------------------------------
# One PEM, or several one after another while the signing key is rotated.
JWT_PUBLIC_KEYS = verifier_public_keys(_required.values["JWT_PUBLIC_KEY"])
SIMPLE_JWT = simple_jwt(SIMPLE_JWT_SHARED, JWT_PUBLIC_KEYS)
# The monolith's secret, while its tokens are honoured: a short one could be guessed
# offline from any one of its tokens, and then every user's token forged.
refuse_short_secret("LEGACY_JWT_SECRET", LEGACY_JWT_SECRET)

# CHECKS
# ------------------------------------------------------------------------------
# The gateway holds no session and takes no form, so it has no CSRF middleware:
# CSRF is checked by the service that owns the form (the users service's admin).
SILENCED_SYSTEM_CHECKS = ["security.W003"]
