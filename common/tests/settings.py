"""A minimal project for testing ``common`` on its own: two databases, the shared settings."""

from common.settings.celery import *  # noqa: F403
from common.settings.core import *  # noqa: F403
from common.settings.core import INTERNAL_AUTH_KEYS
from common.settings.events import *  # noqa: F403
from common.settings.service import *  # noqa: F403
from common.settings.service import ADMIN_APPS, DJANGO_APPS, MIDDLEWARE

SERVICE_NAME = "common-tests"
# This pretend service signs its calls to peers (common.service_client) with a key of its own.
INTERNAL_AUTH_KEYS = {**INTERNAL_AUTH_KEYS, SERVICE_NAME: "common-tests-internal-auth-key-not-secret"}
SECRET_KEY = "test-only-not-a-secret"
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = DJANGO_APPS + ADMIN_APPS + ["rest_framework", "common", "common.events"]
# The services' middleware without the internal-auth check: each test of common.internal_auth sets its own.
MIDDLEWARE = [name for name in MIDDLEWARE if name != "common.internal_auth.InternalAuthMiddleware"]
# The services' collector reads the event tables; this project's tests scrape only the request metrics.
METRICS_SCRAPE_COLLECTORS = []
ROOT_URLCONF = "common.tests.urls"
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
    "service": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Events of a pretend service, applied by common/tests/event_handlers.py. Each test
# that publishes names its own subscribers (a queue nobody else uses).
EVENTS_SUBSCRIBERS = {"test.fact": [], "test.state": [], "test.poison": [], "test.outage": []}
EVENTS_STATE_TYPES = ["test.state"]
EVENTS_HANDLERS = {
    "test.fact": "common.tests.event_handlers.group_create",
    "test.state": "common.tests.event_handlers.group_rename",
    "test.poison": "common.tests.event_handlers.always_fail",
    "test.outage": "common.tests.event_handlers.database_outage",
}
