"""Settings every service shares. A project's ``settings/base.py`` starts from these.

Each project then names its service, its apps, its databases and its routes;
what is here is the same for all three and lives once.
"""

from common.env import env, internal_auth_key_variable, redis_url, var_dir

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

# DJANGO APPS
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
]

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    "common.middleware.RequestIdMiddleware",
    "common.metrics.MetricsMiddleware",
    "common.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

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
LOCAL_INTERNAL_AUTH_KEYS = {
    caller: f"local-only-{caller}-internal-auth-key-not-secret" for caller in INTERNAL_AUTH_CALLER_NAMES
}
INTERNAL_AUTH_KEYS = {
    caller: env.str(internal_auth_key_variable(caller), default=LOCAL_INTERNAL_AUTH_KEYS[caller])
    for caller in INTERNAL_AUTH_CALLER_NAMES
}
# Path prefix -> the callers that may call it (the longest prefix wins; a path no
# prefix matches has no caller). Each service sets its own.
INTERNAL_AUTH_CALLERS: dict[str, tuple[str, ...]] = {}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# PASSWORDS (staff accounts in ``default``)
# ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

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


def redis_cache(service: str) -> dict:
    """``CACHES`` for a service: django-redis on ``REDIS_URL``, keys prefixed by service."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": service,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }


# CELERY: at-least-once delivery on Redis
# ------------------------------------------------------------------------------
# Acknowledge after the task ran, give a task back to the queue when its worker
# dies, one visibility timeout for every transport, JSON only so no pickled
# object crosses a service boundary. Each project sets its broker and queue.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# A task not acknowledged within the visibility timeout (its worker vanished
# without handing it back) is delivered again. Connecting gives up after 2 s, so
# a request publishing an event while the broker is unreachable is not held up:
# the outbox keeps the event and the relay sends it later (common.events). A key
# prefix keeps the queues of systems sharing one Redis apart (the test runs).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "global_keyprefix": env.str("CELERY_BROKER_KEY_PREFIX", default=""),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# kombu's Redis transport, without a crash of the worker when the broker goes away
# mid-task (common/broker_transport.py).
CELERY_BROKER_TRANSPORT = "common.broker_transport:Transport"
# A worker never gives up on its broker, and tries again at least every few seconds
# (common.broker_transport.Consumer): a backlog is consumed soon after an outage.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CONSUMER = "common.broker_transport:Consumer"
CELERY_BROKER_RECONNECT_MAX_INTERVAL = env.float("CELERY_BROKER_RECONNECT_MAX_INTERVAL", default=2.0)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Leave stdout/stderr alone: the JSON log handler already owns the output.
CELERY_WORKER_REDIRECT_STDOUTS = False
CELERY_TIMEZONE = "UTC"
# Celery's Django fixup closes a worker's database connections around every task
# unless this is set, and then only every this many tasks: CONN_MAX_AGE and
# Django's health rules decide instead, around each task (common.celery).
CELERY_DB_REUSE_MAX = 10_000
# A worker whose queue has had messages waiting this many seconds while it held
# and received none restarts itself in place (common.worker_watchdog: Celery's
# Redis consumer can stall after a broker reconnect). 0 turns that off.
CELERY_WORKER_STALL_TIMEOUT = env.float("CELERY_WORKER_STALL_TIMEOUT", default=60.0)


# TOKENS (SimpleJWT): the auth service signs, the gateway verifies
# ------------------------------------------------------------------------------
def simple_jwt_settings(*, signing_key: str, verifying_key: str) -> dict:
    """``SIMPLE_JWT`` for both sides. Claims as the legacy tokens had them (``userId``, ``email``).

    ``verifying_key`` is the first of the project's ``JWT_PUBLIC_KEYS``: SimpleJWT
    holds one key, but tokens are verified by ``common.token_backend``, which
    takes every accepted key and picks the one a token names.
    """
    from datetime import timedelta

    return {
        "ALGORITHM": "RS256",
        "SIGNING_KEY": signing_key,
        "VERIFYING_KEY": verifying_key,
        # The legacy frontend only knows the access token: it must live at least
        # as long as the monolith's (24 h) so nobody is logged out sooner.
        "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TOKEN_LIFETIME", default=24 * 3600)),
        "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_TOKEN_LIFETIME", default=30 * 24 * 3600)),
        "USER_ID_FIELD": "user_id",
        "USER_ID_CLAIM": "userId",
        "TOKEN_TYPE_CLAIM": "token_type",
        "JTI_CLAIM": "jti",
        "AUTH_HEADER_TYPES": ("Bearer",),
        "UPDATE_LAST_LOGIN": False,
        "LEEWAY": 0,
    }


# EVENTS: the system's event contract (the events app, common.events, docs/events.md)
# ------------------------------------------------------------------------------
# The app's tunables (EVENTS_RELAY_INTERVAL, EVENTS_MAX_RETRIES, ...) have their
# defaults, read from the environment, in common/events/settings.py; a project
# sets EVENTS_<NAME> only to differ. What follows is shared by every service.
#
# Which services consume each event type: the relay sends an event to the queue
# of each (``<service>.events.consume``). The contract of every type, its
# publisher and its payload, is in docs/events.md.
EVENTS_SUBSCRIBERS = {
    "user.registered": ["auth"],
    "user.profile.updated": ["auth"],
    "user.deactivated": ["auth"],
    "user.reactivated": ["auth"],
    "user.deleted": ["auth"],
    "auth.login.success": ["users"],
    "auth.login.failed": ["users"],
    "auth.logout": ["users"],
    "auth.password.changed": ["users"],
}
# Types whose payload is the aggregate's whole state: a consumer applies only a
# version newer than the last one it applied, so reordering changes nothing.
# Every other type is a fact, applied once whatever the order.
EVENTS_STATE_TYPES = [
    "user.registered",
    "user.profile.updated",
    "user.deactivated",
    "user.reactivated",
    "user.deleted",
]
# Types not sent after their commit but by the relay's next run, many to a
# message: the sign-in facts of the activity read model, one per login, which no
# one waits for. Consumed in batches, a login costs the users worker one event
# in a transaction, not a message and a transaction of its own; the auth
# service's request skips the send.
EVENTS_BATCHED_TYPES = [
    "auth.login.success",
    "auth.login.failed",
    "auth.logout",
    "auth.password.changed",
]
# The beat entries of a service's event machinery, for its CELERY_BEAT_SCHEDULE.
from common.events.schedule import events_beat_schedule  # noqa: E402, F401
