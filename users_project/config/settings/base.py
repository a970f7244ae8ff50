"""Settings of the users service: profiles and preferences; owns the user id and email; the staff admin."""

from datetime import timedelta
from pathlib import Path

from common.env import DATABASE_ALIASES, env, service_databases, state_dir
from common.log import logging_config
from common.settings.celery import *  # noqa: F403
from common.settings.core import *  # noqa: F403
from common.settings.core import LOG_LEVEL, REDIS_URL
from common.settings.events import *  # noqa: F403
from common.events.schedule import events_beat_schedule
from common.settings.helpers import redis_cache
from common.settings.service import *  # noqa: F403
from common.settings.service import (
    ADMIN_PAGE_MIDDLEWARE,
    ADMIN_SESSION_MIDDLEWARE,
    DJANGO_APPS,
    SILENCED_SYSTEM_CHECKS,
    SPECTACULAR_SETTINGS,
)

SERVICE_NAME = "users"
BASE_DIR = Path(__file__).resolve().parents[2]

# APPS
# ------------------------------------------------------------------------------
# The admin's site is the support app's (two-factor sign-in): Django's admin app with that default site.
ADMIN_APPS = ["support.apps.StaffAdminConfig"]
THIRD_PARTY_APPS = ["rest_framework", "drf_spectacular", "axes", "django_otp", "django_otp.plugins.otp_totp"]
SHARED_APPS = ["common", "common.events"]
LOCAL_APPS = ["users", "legacy_import", "support"]
INSTALLED_APPS = DJANGO_APPS + ADMIN_APPS + THIRD_PARTY_APPS + SHARED_APPS + LOCAL_APPS

# MIDDLEWARE: the services' (common.settings.service), the staff admin's with its own
# ------------------------------------------------------------------------------
# The staff admin's, in this order, run by common.staff_admin.StaffAdminMiddleware for every path but the
# public API's (STAFF_ADMIN_SKIPPED_PATHS: /api/).
STAFF_ADMIN_MIDDLEWARE = [
    # The staff admin's CSS and JavaScript, served by the service itself (the gateway routes /static/ here).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *ADMIN_SESSION_MIDDLEWARE,
    # Which staff member passed the second factor (django-otp).
    "django_otp.middleware.OTPMiddleware",
    *ADMIN_PAGE_MIDDLEWARE,
    # The staff sign-in's lockout (django-axes), last.
    "axes.middleware.AxesMiddleware",
]
# Axes' check looks in MIDDLEWARE alone too: common.staff_admin checks it in the chain.
SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "axes.W002"]
# Who may call what (common.internal_auth): the public API is the gateway's to forward.
INTERNAL_AUTH_CALLERS = {"/api/": ("gateway",)}

# DATABASES: Django's own tables in "default", the service's data in "users"
# ------------------------------------------------------------------------------
DATABASES = service_databases(SERVICE_NAME, DATABASE_ALIASES[SERVICE_NAME])
DATABASE_ROUTERS = ["config.routers.UsersRouter"]

# STAFF ADMIN: support staff's tool (support app), through the gateway at /admin/
# ------------------------------------------------------------------------------
# Collected at image build time (compose/production/django/Dockerfile), hashed
# and compressed; local and test settings serve them from the apps instead.
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Staff cookies go with admin requests only, never with the API calls the gateway
# forwards from the same browser. A staff session lasts a working day.
SESSION_COOKIE_PATH = "/admin/"
CSRF_COOKIE_PATH = "/admin/"
SESSION_COOKIE_AGE = 8 * 3600

# STAFF SIGN-IN: throttled and locked (django-axes), two-factor (django-otp), Argon2, recorded (support)
# ------------------------------------------------------------------------------
# Axes first: a locked-out client or username is refused before any password is hashed.
AUTHENTICATION_BACKENDS = ["support.sign_in.StaffLockoutBackend", "django.contrib.auth.backends.ModelBackend"]
# Failures within the cool-off that lock, separately per client address and per username tried.
AXES_FAILURE_LIMIT = env.int("STAFF_SIGN_IN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("STAFF_SIGN_IN_LOCKOUT_SECONDS", default=15 * 60))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
# The client's address as the gateway saw it (support.sign_in.client_ip).
AXES_CLIENT_IP_CALLABLE = "support.sign_in.client_ip"
# A locked-out sign-in gets the form and message of any failed one (support.sign_in.lockout_response).
AXES_LOCKOUT_CALLABLE = "support.sign_in.lockout_response"
# The staff sign-in trail (support.StaffSignIn) records every sign-in; axes keeps only its counters.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# Two-factor (TOTP) for every staff sign-in; production settings always require it.
STAFF_OTP_REQUIRED = env.bool("STAFF_OTP_REQUIRED", default=False)
OTP_TOTP_ISSUER = env.str("STAFF_OTP_ISSUER", default="Accounts support")
# Staff passwords hashed like customers' (common.hashers); older hashes are upgraded at the next sign-in.
PASSWORD_HASHERS = [
    "common.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]

# API SCHEMA: the gateway merges each service's document into the public one
# ------------------------------------------------------------------------------
SPECTACULAR_SETTINGS = {
    **SPECTACULAR_SETTINGS,
    "TITLE": "Users service",
    "DESCRIPTION": "Registration, profiles and preferences, as the gateway serves them under /api/.",
}

# AUTH SERVICE: where registration stores the credentials (users.services)
# ------------------------------------------------------------------------------
AUTH_SERVICE_URL = env.str("AUTH_SERVICE_URL", default="http://127.0.0.1:8002")
# Seconds. A registration waits at most about connect + read on the auth service.
USERS_AUTH_CONNECT_TIMEOUT = env.float("USERS_AUTH_CONNECT_TIMEOUT", default=1.0)
USERS_AUTH_READ_TIMEOUT = env.float("USERS_AUTH_READ_TIMEOUT", default=5.0)
# Seconds after which an unfinished registration is undone by the cleanup task. Far
# above the timeouts above, so it never races a registration still in progress.
USERS_PENDING_REGISTRATION_MAX_AGE = env.int("USERS_PENDING_REGISTRATION_MAX_AGE", default=300)

# CACHE, CELERY, LOGGING
# ------------------------------------------------------------------------------
CACHES = redis_cache(SERVICE_NAME, REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = SERVICE_NAME
CELERY_BEAT_SCHEDULE_FILENAME = str(state_dir(SERVICE_NAME) / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "users-registration-cleanup": {"task": "users.tasks.registration_cleanup", "schedule": 60.0},
    **events_beat_schedule(SERVICE_NAME),
}
LOGGING = logging_config(SERVICE_NAME, LOG_LEVEL)

# EVENTS THIS SERVICE CONSUMES: type -> the service function applying it (common.events)
# ------------------------------------------------------------------------------
# The auth service's sign-in facts feed the activity support staff read, all recorded alike.
EVENTS_HANDLERS = dict.fromkeys(
    ["auth.login.success", "auth.login.failed", "auth.logout", "auth.password.changed"],
    "users.services.user_activity_record",
)

# EDGE READS: the gateway serves users' own GETs from copies while their revision is current
# ------------------------------------------------------------------------------
# Seconds a user's current revision stays in Redis after its last change or use
# (common.edge); once it expires, the next read through the gateway sets it again.
USERS_EDGE_REVISION_TTL = env.int("USERS_EDGE_REVISION_TTL", default=86400)

# EMAIL CHANGES: "Email already in use" tells whether an address has an account
# ------------------------------------------------------------------------------
# A user hears it at most this many times per window (seconds); then every change of
# their email is a 429 until the window ends (users.services.user_profile_update_own).
USERS_EMAIL_IN_USE_LIMIT = env.int("USERS_EMAIL_IN_USE_LIMIT", default=5)
USERS_EMAIL_IN_USE_WINDOW = env.int("USERS_EMAIL_IN_USE_WINDOW", default=3600)
