"""Settings of the auth service: credentials, login, tokens, revocation."""

import os

from common.env import DATABASE_ALIASES, env, gunicorn_workers, service_databases, state_dir
from common.log import logging_config
from common.settings.celery import *  # noqa: F403
from common.settings.core import *  # noqa: F403
from common.settings.core import LOG_LEVEL, REDIS_URL
from common.settings.events import *  # noqa: F403
from common.events.schedule import events_beat_schedule
from common.settings.helpers import redis_cache
from common.settings.jwt import *  # noqa: F403
from common.settings.service import *  # noqa: F403
from common.settings.service import ADMIN_APPS, DJANGO_APPS, SPECTACULAR_SETTINGS

SERVICE_NAME = "auth"

# APPS
# ------------------------------------------------------------------------------
THIRD_PARTY_APPS = ["rest_framework", "drf_spectacular"]
SHARED_APPS = ["common", "common.events"]
LOCAL_APPS = ["credentials", "legacy_import"]
INSTALLED_APPS = DJANGO_APPS + ADMIN_APPS + THIRD_PARTY_APPS + SHARED_APPS + LOCAL_APPS

# MIDDLEWARE: the services' (common.settings.service): every /api/ and /internal/
# request must carry the gateway's (or a peer's) assertion
# ------------------------------------------------------------------------------
# Who may call what (common.internal_auth): the public API is the gateway's to forward,
# the internal endpoints (credentials at registration, the staff admin's tools) the users service's.
INTERNAL_AUTH_CALLERS = {"/api/": ("gateway",), "/internal/": ("users",)}
# The staff admin's middleware (sessions, CSRF, messages, framing) skips both: the users service calls
# /internal/ with its signed assertion, never with a staff member's cookies, and its views (DRF's, with no
# session authentication) read no session, user or message and need no CSRF token.
STAFF_ADMIN_SKIPPED_PATHS = ["/api/", "/internal/"]

# DATABASES: Django's own tables in "default", the service's data in "credentials"
# ------------------------------------------------------------------------------
DATABASES = service_databases(SERVICE_NAME, DATABASE_ALIASES[SERVICE_NAME])
DATABASE_ROUTERS = ["config.routers.CredentialsRouter"]

# CACHE, CELERY, LOGGING
# ------------------------------------------------------------------------------
CACHES = redis_cache(SERVICE_NAME, REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = SERVICE_NAME
CELERY_BEAT_SCHEDULE_FILENAME = str(state_dir(SERVICE_NAME) / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = events_beat_schedule(SERVICE_NAME)
LOGGING = logging_config(SERVICE_NAME, LOG_LEVEL)

# EVENTS THIS SERVICE CONSUMES: type -> the service function applying it (common.events)
# ------------------------------------------------------------------------------
# The users service owns the user: its email, name and whether it may log in. One
# function applies each of its user's states.
EVENTS_HANDLERS = dict.fromkeys(
    ["user.registered", "user.profile.updated", "user.deactivated", "user.reactivated", "user.deleted"],
    "credentials.services.credential_apply_user_event",
)
# Retried for as long as it lasts, never parked: Redis refusing the revocation writes.
EVENTS_INFRASTRUCTURE_ERRORS = ["common.revocation.RevocationUnavailable"]

# PASSWORDS: Argon2 for every new hash; the monolith's bcryptjs hashes verify and are rehashed on login
# ------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "credentials.hashers.ServiceArgon2PasswordHasher",
    "credentials.hashers.LegacyBcryptPasswordHasher",
]
# Hashes at once per process (credentials/hashers.py): its share of the cores, as
# gunicorn runs GUNICORN_WORKERS processes (one by default: common.env.gunicorn_workers).
PASSWORD_HASH_THREADS = env.int(
    "PASSWORD_HASH_THREADS", default=max(1, (os.cpu_count() or 1) // gunicorn_workers(SERVICE_NAME))
)
# Consecutive wrong passwords that lock an account, and for how long (seconds).
LOGIN_LOCKOUT_THRESHOLD = env.int("LOGIN_LOCKOUT_THRESHOLD", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)

# API SCHEMA: the gateway merges each service's document into the public one
# ------------------------------------------------------------------------------
SPECTACULAR_SETTINGS = {
    **SPECTACULAR_SETTINGS,
    "TITLE": "Auth service",
    "DESCRIPTION": "Login, tokens, logout and password changes of the accounts platform.",
}

# TOKENS: the private key signs; each settings module below says where it comes from
# ------------------------------------------------------------------------------
# A PEM in the environment may keep its line breaks or write them as "\n".
JWT_PRIVATE_KEY = env.str("JWT_PRIVATE_KEY", default="", multiline=True)
# Each settings module sets JWT_PUBLIC_KEYS: the keys refresh tokens are verified
# with and /api/.well-known/jwks.json lists. The signing key's public half, and
# while a key is rotated the others of JWT_PUBLIC_KEY (the gateway's value).
JWT_PUBLIC_KEY = env.str("JWT_PUBLIC_KEY", default="")
