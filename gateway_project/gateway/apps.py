from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    label = "gateway"
    verbose_name = "Gateway"

    def ready(self):
        from . import checks  # noqa: F401  (registers the route table's check)
        from . import routing

        # The balancers, and with them every upstream error series at 0, from the
        # start: a scrape before the first forwarded request already shows them.
        routing.balancers()
        # Django closes stale database connections and every cache's connection
        # around each request. The gateway has no database, and its caches
        # (django-redis) keep their pooled connections open: both are a few
        # percent of the gateway's CPU per request, doing nothing.
        from django.conf import settings
        from django.core import signals
        from django.core.cache import close_caches
        from django.db import close_old_connections, reset_queries

        if without_database(settings.DATABASES):
            signals.request_started.disconnect(reset_queries)
            signals.request_started.disconnect(close_old_connections)
            signals.request_finished.disconnect(close_old_connections)
        default_close = getattr(settings, "DJANGO_REDIS_CLOSE_CONNECTION", False)
        if all(
            cache["BACKEND"].startswith("django_redis.")
            and not cache.get("OPTIONS", {}).get("CLOSE_CONNECTION", default_close)
            for cache in settings.CACHES.values()
        ):
            signals.request_finished.disconnect(close_caches)


DUMMY_DATABASE = "django.db.backends.dummy"


def without_database(databases: dict) -> bool:
    """Whether ``DATABASES`` configures no real database.

    ``{}`` as the settings say it, or as Django leaves it once its connections
    were first looked at: ``{"default": {"ENGINE": "django.db.backends.dummy", ...}}``.
    """
    return all(database.get("ENGINE", DUMMY_DATABASE) == DUMMY_DATABASE for database in databases.values())
