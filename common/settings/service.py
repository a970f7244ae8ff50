"""What the users and auth services share and the gateway has not: a database, an admin, internal callers.

Each service adds its apps, databases (``common.env.service_databases``) and who may call it
(``INTERNAL_AUTH_CALLERS``).
"""

from common.settings.core import REST_FRAMEWORK

# DJANGO APPS: sessions, messages and the admin for support staff; static files for the admin
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
# Installed after DJANGO_APPS; the users service puts its own admin site's config here.
ADMIN_APPS = ["django.contrib.admin"]

# MIDDLEWARE: every /api/ and /internal/ request must carry the gateway's (or a peer's) assertion
# ------------------------------------------------------------------------------
# The assertion is checked after the request id and the metrics, so a refused request is logged and counted.
API_MIDDLEWARE = [
    "common.middleware.RequestIdMiddleware",
    "common.metrics.MetricsMiddleware",
    "common.internal_auth.InternalAuthMiddleware",
    "common.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
]
# The staff admin's, in this order, run by common.staff_admin.StaffAdminMiddleware for every path but the
# API's: the API's views use none of them (their callers are the gateway and the peer service, vouched for by
# the assertion, never a staff member's browser), and they cost a request more than its view. In two parts, so
# a service adding its own (the users service: the admin's static files, its second factor and its lockout)
# puts it between them rather than copying the list. First its session, CSRF and signed-in staff member...
ADMIN_SESSION_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
# ... then its messages and framing.
ADMIN_PAGE_MIDDLEWARE = [
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
STAFF_ADMIN_MIDDLEWARE = ADMIN_SESSION_MIDDLEWARE + ADMIN_PAGE_MIDDLEWARE
# Prefixes of the paths that skip them: a service adds its own (the auth service: /internal/).
STAFF_ADMIN_SKIPPED_PATHS = ["/api/"]
MIDDLEWARE = [*API_MIDDLEWARE, "common.staff_admin.StaffAdminMiddleware"]
# Those checks look for the admin's middleware in MIDDLEWARE alone: common.staff_admin checks it where it is
# (and a service with django-axes adds axes.W002).
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410", "security.W002", "security.W003"]

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

# PASSWORDS (staff accounts in ``default``)
# ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# METRICS: the outbox backlog and parked messages, read when /metrics is scraped
# ------------------------------------------------------------------------------
METRICS_SCRAPE_COLLECTORS = ["common.events.metrics.EventTablesCollector"]

# API SCHEMA: each service's OpenAPI document (drf-spectacular), which the gateway merges into the public one
# ------------------------------------------------------------------------------
# A service adds its TITLE and DESCRIPTION to SPECTACULAR_SETTINGS.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
SPECTACULAR_SETTINGS = {
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    },
}
