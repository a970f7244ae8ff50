"""Production settings: every secret and address comes from the environment, with no default.

Start-up fails with one message naming every variable that is missing
(``common.settings_production.require_environment``).
"""

from common.settings_base import simple_jwt_settings

from .base import *  # noqa: F403
from .base import LEGACY_JWT_SECRET, SERVICE_NAME

# After base, so HTTPS, HSTS and secure cookies override it.
from common.settings_production import *  # noqa: E402, F403, I001
from common.settings_production import allowed_hosts, refuse_short_secret, require_environment, rsa_public_keys_pem

# REQUIRED
# ------------------------------------------------------------------------------
# The gateway has no database; it needs to know where the services answer.
_required = require_environment(
    SERVICE_NAME,
    [
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "INTERNAL_AUTH_KEY",
        "REDIS_URL",
        "USERS_SERVICE_URL",
        "AUTH_SERVICE_URL",
        "JWT_PUBLIC_KEY",
    ],
)
SECRET_KEY = _required["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = allowed_hosts(_required["DJANGO_ALLOWED_HOSTS"])
INTERNAL_AUTH_KEY = _required["INTERNAL_AUTH_KEY"]

# TOKENS: the gateway verifies users' tokens and never signs one, so it has no private key
# ------------------------------------------------------------------------------
# One PEM, or several one after another while the signing key is rotated.
JWT_PUBLIC_KEYS = rsa_public_keys_pem("JWT_PUBLIC_KEY", _required["JWT_PUBLIC_KEY"])
SIMPLE_JWT = simple_jwt_settings(signing_key="", verifying_key=JWT_PUBLIC_KEYS[0])
# The monolith's secret, while its tokens are honoured: a short one could be guessed
# offline from any one of its tokens, and then every user's token forged.
refuse_short_secret("LEGACY_JWT_SECRET", LEGACY_JWT_SECRET)

# CHECKS
# ------------------------------------------------------------------------------
# The gateway holds no session and takes no form, so it has no CSRF middleware:
# CSRF is checked by the service that owns the form (the users service's admin).
SILENCED_SYSTEM_CHECKS = ["security.W003"]
