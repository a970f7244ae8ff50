"""What the three projects' production settings share: HTTPS, HSTS, secure cookies, trusted origins.

A project's ``config/settings/production.py`` imports this after its ``base.py``, so
these override it, then reads its secrets with
``common.settings.requirements.production_requirements``.

TLS ends in front of the gateway (a load balancer or ingress); the gateway and the
services speak plain HTTP on the private network and learn the client's scheme from
``X-Forwarded-Proto``.
"""

from common.env import env
from common.settings.helpers import comma_list

# GENERAL
# ------------------------------------------------------------------------------
DEBUG = False

# HTTPS
# ------------------------------------------------------------------------------
# Whoever terminates TLS in front of the gateway must set (overwrite) this header;
# the gateway passes its own view of the scheme on to the services.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Answered over plain HTTP from inside the network, never redirected: the
# orchestrator's probes, and calls between services (which carry no
# X-Forwarded-Proto). Patterns match the path without its leading slash.
SECURE_REDIRECT_EXEMPT = [r"^health$", r"^ready$", r"^internal/"]
# A year, subdomains included, as Django's deploy checks ask. The preload flag only
# makes the domain eligible; nothing is preloaded until someone submits it by hand.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

# COOKIES AND CSRF (the staff admin is the only thing using them)
# ------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Public origins that POST forms, e.g. "https://accounts.example.com": the admin is
# proxied by the gateway, so the service sees its own host, not the browser's.
CSRF_TRUSTED_ORIGINS = comma_list(env.str("DJANGO_CSRF_TRUSTED_ORIGINS", default=""))
