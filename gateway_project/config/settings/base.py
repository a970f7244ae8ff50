"""Settings of the gateway: the only public entry, holding no data of its own.

The gateway proxies every public path to the service that owns it (or, during
the cutover, to the legacy monolith). It has no database and no Celery tasks:
what it needs to remember (revocations, rate-limit counters) lives in Redis.
"""

from corsheaders.defaults import default_headers

from common.env import env, instant
from common.log import logging_config
from common.settings.core import *  # noqa: F403
from common.settings.core import LOG_LEVEL, REDIS_URL
from common.settings.helpers import redis_cache, routes_with_overrides, with_legacy_upstream
from common.settings.jwt import *  # noqa: F403

SERVICE_NAME = "gateway"

# APPS AND MIDDLEWARE: only what a stateless proxy needs (no service settings:
# no sessions, admin, templates, database or Celery)
# ------------------------------------------------------------------------------
# contenttypes and auth hold no data here (there is no database): SimpleJWT's
# token classes import their models, so they must be installed to be importable.
DJANGO_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
THIRD_PARTY_APPS = ["corsheaders", "django_ratelimit"]
LOCAL_APPS = ["common", "common.events", "gateway"]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS
MIDDLEWARE = [
    # Outermost: every answer the gateway holds whole carries its length, whichever layer made it.
    "gateway.middleware.ContentLengthMiddleware",
    "common.middleware.RequestIdMiddleware",
    # Counts every answer, and answers /metrics (on METRICS_BIND only, below)
    # before the rate limits or the proxy see it.
    "gateway.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outside the rate limits, so a 429 carries CORS headers a browser can read;
    # preflights are answered here and reach nothing behind.
    "corsheaders.middleware.CorsMiddleware",
    # A body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 before the rate limits read a login's.
    "common.middleware.BodySizeLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "gateway.middleware.ApiContentSecurityPolicyMiddleware",
    "gateway.middleware.RateLimitMiddleware",
]
DATABASES = {}

LOGGING = logging_config(SERVICE_NAME, LOG_LEVEL)

# METRICS: the gateway's address is public, so /metrics answers only on the
# internal METRICS_BIND address gunicorn also listens on; without it, nowhere.
METRICS_ONLY_ON_METRICS_BIND = True

# UPSTREAMS AND ROUTES
# ------------------------------------------------------------------------------
# Where each upstream answers: one base URL, or several (comma-separated in the
# environment) that requests are spread over (gateway.balancing). "legacy" is the
# Node.js monolith, reachable only while paths are being moved over to the
# services during the cutover.
LEGACY_UPSTREAM_URL = env.list("LEGACY_UPSTREAM_URL", default=[])
GATEWAY_UPSTREAMS = with_legacy_upstream(
    {
        "users": env.list("USERS_SERVICE_URL", default=["http://127.0.0.1:8001"]),
        "auth": env.list("AUTH_SERVICE_URL", default=["http://127.0.0.1:8002"]),
    },
    LEGACY_UPSTREAM_URL,
)
# The path each upstream's health is read from (GET /api/health): our services'
# /ready (databases, migrations, Redis); the monolith has no /ready and answers
# GET /api/health with {"status": "OK"}. An upstream is up when this path answers
# 200 with a JSON object.
GATEWAY_HEALTH_PATHS = {
    "users": "/ready",
    "auth": "/ready",
    "legacy": env.str("LEGACY_HEALTH_PATH", default="/api/health"),
}
# Upstreams that are our own services: they receive the gateway's signed
# X-Internal-Auth (common.internal_auth). Anything else (the monolith) never does.
GATEWAY_SIGNED_UPSTREAMS = ("users", "auth")

# Public path prefix -> route. A route is an upstream name (anyone may call it),
# or {"upstream": name, "auth": "token"}: only a request with a valid, unrevoked
# access token gets through, and the service is told who the user is. With
# "edge": True as well, a GET may be answered from a current copy of the user's
# answer (gateway.edge), when the service marks its answers keepable.
# A prefix matches whole path segments ("/api/profile" matches
# "/api/profile/preferences", not "/api/profiles"); the longest match wins.
# The path is forwarded unchanged.
# The table as the code has it, every route on our services: where `manage.py routes
# move ROUTE --to services` sends a route back to.
GATEWAY_SERVICE_ROUTES = {
    "/api/register": "users",
    "/api/profile": {"upstream": "users", "auth": "token", "edge": True},
    "/api/login": "auth",
    "/api/logout": {"upstream": "auth", "auth": "token"},
    "/api/change-password": {"upstream": "auth", "auth": "token"},
    "/api/token/refresh": "auth",
    "/api/.well-known": "auth",
    "/admin": "users",
    "/static": "users",
}

# The table in force: the one above with GATEWAY_ROUTE_OVERRIDES moving prefixes between
# upstreams without a code change; where the cutover starts,
# GATEWAY_ROUTE_OVERRIDES="/api/login=legacy,/api/register=legacy". The routes file
# (GATEWAY_ROUTES_FILE, common.cutover) moves them on from there without a restart.
GATEWAY_ROUTES = routes_with_overrides(GATEWAY_SERVICE_ROUTES, env.dict("GATEWAY_ROUTE_OVERRIDES", default={}))

# EDGE READS: users' own GETs served from copies in Redis while current (gateway.edge)
# ------------------------------------------------------------------------------
# Off: every request on an edge route is forwarded, as on any other route.
GATEWAY_EDGE_READS = env.bool("GATEWAY_EDGE_READS", default=True)
# Seconds a copy is kept after it was made; a copy no longer current is never served.
GATEWAY_EDGE_TTL = env.int("GATEWAY_EDGE_TTL", default=3600)

# Seconds. Connect fails fast (a refused or unreachable upstream is a 503);
# reads may take longer before they become a 504.
GATEWAY_CONNECT_TIMEOUT = env.float("GATEWAY_CONNECT_TIMEOUT", default=1.0)
GATEWAY_READ_TIMEOUT = env.float("GATEWAY_READ_TIMEOUT", default=10.0)
# Pooled keep-alive connections kept per upstream address.
GATEWAY_POOL_SIZE = env.int("GATEWAY_POOL_SIZE", default=16)
# Seconds a pooled connection may idle before it is dropped, per upstream, below the
# time the upstream keeps it open (our services: 20, under gunicorn's 30). Node.js
# closes an idle connection after 5 s: a write sent as it closes would be a 502.
GATEWAY_UPSTREAM_MAX_IDLE = {"legacy": env.float("LEGACY_MAX_IDLE", default=4.0)}
# Seconds an upstream address that refused a connection (or did not accept one
# within the connect timeout) is skipped; then one request tries it again.
GATEWAY_UPSTREAM_COOLDOWN = env.float("GATEWAY_UPSTREAM_COOLDOWN", default=5.0)
# /api/health answers within this budget even when an upstream hangs.
GATEWAY_HEALTH_TIMEOUT = env.float("GATEWAY_HEALTH_TIMEOUT", default=0.8)

# A write (anything but GET, HEAD, OPTIONS) on a frozen route is answered 503 with
# this Retry-After (seconds): the final catch-up's window (docs/migration.md).
GATEWAY_FROZEN_RETRY_AFTER = env.int("GATEWAY_FROZEN_RETRY_AFTER", default=5)

# TOKENS: verified here, on every token-protected request
# ------------------------------------------------------------------------------
# Each settings module sets JWT_PUBLIC_KEYS (every public key a token may be
# signed with; several while the signing key is rotated) and SIMPLE_JWT from
# SIMPLE_JWT_SHARED without a private key: the gateway verifies tokens and can
# never sign one.
# The monolith's HS256 secret: its tokens stay valid until they expire (under
# the same revocation rules). Empty: they are refused.
LEGACY_JWT_SECRET = env.str("LEGACY_JWT_SECRET", default="")
# Seconds a monolith token may live: its exp - iat, and its age (now - iat). The
# monolith signed for 24 h; a token claiming longer was not made by it.
LEGACY_JWT_MAX_LIFETIME = env.int("LEGACY_JWT_MAX_LIFETIME", default=24 * 3600)
# An ISO 8601 instant with its offset: a monolith token issued (iat) at or after it
# is refused (set it to when /api/login moved to the auth service). Unset: no bound.
LEGACY_JWT_ISSUED_BEFORE = instant("LEGACY_JWT_ISSUED_BEFORE")

# RATE LIMITS (django-ratelimit, counters in Redis)
# ------------------------------------------------------------------------------
# "count/period", the period in s, m, h or d, optionally with a multiplier ("10/15m").
GATEWAY_RATE_LIMIT_GLOBAL = env.str("GATEWAY_RATE_LIMIT_GLOBAL", default="600/m")  # per IP, every path
GATEWAY_RATE_LIMIT_LOGIN_IP = env.str("GATEWAY_RATE_LIMIT_LOGIN_IP", default="30/m")
GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT = env.str("GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT", default="10/15m")
GATEWAY_RATE_LIMIT_REGISTER_IP = env.str("GATEWAY_RATE_LIMIT_REGISTER_IP", default="10/h")
# Proxies of our own in front of the gateway, each appending the address it saw
# to X-Forwarded-For. 0: the client is REMOTE_ADDR and X-Forwarded-For is
# ignored (a client can write anything there). N: the client is the N-th
# address from the right of X-Forwarded-For.
GATEWAY_TRUSTED_PROXY_COUNT = env.int("GATEWAY_TRUSTED_PROXY_COUNT", default=0)
RATELIMIT_USE_CACHE = "ratelimit"
RATELIMIT_IP_META_KEY = "gateway.client_ip.client_ip"
# Redis down: limiting stops (requests go through) rather than refusing everyone.
RATELIMIT_FAIL_OPEN = True
CACHES = {
    **redis_cache(SERVICE_NAME, REDIS_URL),
    "ratelimit": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": SERVICE_NAME,
        # Short timeouts, and a Redis error reads as "no count", which the
        # fail-open setting above turns into "not limited".
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
    },
}

# CORS AND SECURITY HEADERS
# ------------------------------------------------------------------------------
# Comma-separated origins of the frontends ("https://app.example.com").
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/"
# A frontend on another origin reads a 429's wait, the request id and an edge read's ETag,
# and may send If-None-Match itself (gateway.edge).
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID", "ETag"]
CORS_ALLOW_HEADERS = (*default_headers, "if-none-match", "x-request-id")
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=86400)
# Nosniff, referrer policy and X-Frame-Options come from the shared settings.
# A JSON answer that names no policy of its own gets this one: it loads nothing.
GATEWAY_API_CSP = "default-src 'none'; frame-ancestors 'none'"

# PUBLIC API DOCUMENT
# ------------------------------------------------------------------------------
# Where each service publishes its part of the OpenAPI document.
GATEWAY_SCHEMA_SOURCES = {"users": "/api/schema/users", "auth": "/api/schema/auth"}
# Seconds the merged document is kept before the services are asked again, and
# how long each may take to answer.
GATEWAY_SCHEMA_CACHE_SECONDS = env.int("GATEWAY_SCHEMA_CACHE_SECONDS", default=300)
GATEWAY_SCHEMA_TIMEOUT = env.float("GATEWAY_SCHEMA_TIMEOUT", default=2.0)
