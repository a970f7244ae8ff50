"""Settings every process of every project takes, the gateway's included.

General behaviour, JSON errors at every layer, Redis, the cutover's route file,
the internal-auth keys and security headers, logs and metrics.
"""

from common.env import env, redis_url, var_dir
from common.settings.helpers import internal_auth_keys_from_env, local_internal_auth_keys

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Legacy paths have no trailing slash, and a redirect would lose a POST body.
APPEND_SLASH = False

STATIC_URL = "/static/"
# The largest request body (bytes) any layer reads: a larger one is a 413 before it is read
# (common.middleware.BodySizeLimitMiddleware). The API's bodies are a few hundred bytes.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("REQUEST_BODY_MAX_BYTES", default=64 * 1024)
WSGI_APPLICATION = "config.wsgi.application"
ROOT_URLCONF = "config.urls"

# ERRORS: JSON at every layer
# ------------------------------------------------------------------------------
CSRF_FAILURE_VIEW = "common.errors.csrf_failure"
REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "common.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["common.json_body.StrictJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

# REDIS
# ------------------------------------------------------------------------------
REDIS_URL = redis_url()

# THE CUTOVER (common.cutover, docs/migration.md)
# ------------------------------------------------------------------------------
# The route table's changes during the cutover (routes moved off the monolith,
# frozen routes, final catch-ups): the gateway re-reads it within a second of a
# change; its `manage.py routes` and the imports' --final write it. Every gateway
# and the import must see the same file. Empty: no file, the settings' table only.
GATEWAY_ROUTES_FILE = env.str("GATEWAY_ROUTES_FILE", default=str(var_dir() / "cutover" / "routes.json"))
# Seconds after a freeze before a final catch-up reads users.db: every gateway worker
# has re-read the table (1 s) and writes already forwarded to the monolith have been
# answered (GATEWAY_READ_TIMEOUT, 10 s).
CUTOVER_FREEZE_SETTLE_SECONDS = env.float("CUTOVER_FREEZE_SETTLE_SECONDS", default=12.0)

# SECURITY
# ------------------------------------------------------------------------------
# Each caller signs its X-Internal-Auth assertions with a key of its own
# (common.internal_auth): INTERNAL_AUTH_GATEWAY_KEY, INTERNAL_AUTH_USERS_KEY,
# INTERNAL_AUTH_AUTH_KEY. Local and test runs use these fixed values; production
# settings hold only the keys a service needs, and refuse these, short ones and
# one key shared by two callers.
INTERNAL_AUTH_CALLER_NAMES = ("gateway", "users", "auth")
LOCAL_INTERNAL_AUTH_KEYS = local_internal_auth_keys(INTERNAL_AUTH_CALLER_NAMES)
INTERNAL_AUTH_KEYS = internal_auth_keys_from_env(LOCAL_INTERNAL_AUTH_KEYS)
# Path prefix -> the callers that may call it (the longest prefix wins; a path no
# prefix matches has no caller). Each service sets its own.
INTERNAL_AUTH_CALLERS: dict[str, tuple[str, ...]] = {}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")

# METRICS: Prometheus, GET /metrics (common.metrics)
# ------------------------------------------------------------------------------
# "host:port" gunicorn also listens on (common/gunicorn_conf.py); when set, /metrics
# answers only there. Unset, a service answers /metrics on its one address.
METRICS_BIND = env.str("METRICS_BIND", default="")
# On: /metrics answers on METRICS_BIND only, and nowhere without it (the gateway's
# main address is public).
METRICS_ONLY_ON_METRICS_BIND = False
# Collectors computed when scraped (dotted paths of classes), besides the request metrics.
METRICS_SCRAPE_COLLECTORS: list[str] = []
