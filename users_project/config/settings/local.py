"""Settings for a developer's machine and ``make run``: embedded defaults, nothing secret."""

from .base import *  # noqa: F403
from .base import STORAGES, env

from common.settings.local import *  # noqa: E402, F403, I001

# STAFF ADMIN behind the gateway
# ------------------------------------------------------------------------------
# The admin's static files straight from the apps: nothing to collect on a fresh clone.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# The browser posts the admin's forms to the gateway's origin, not this service's:
# CSRF trusts the gateway of this machine (GATEWAY_PORT, as manage_all.py starts it).
_gateway_port = env.int("GATEWAY_PORT", default=8000)
CSRF_TRUSTED_ORIGINS = env.list(
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    default=[f"http://{host}:{_gateway_port}" for host in ("127.0.0.1", "localhost", "[::1]")],
)
