"""System checks of the gateway's configuration: ``manage.py check`` (and start-up) refuses a broken route table."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from .routing import validate_routes


@register()
def route_table_check(app_configs, **kwargs) -> list[Error]:
    """Each problem of ``GATEWAY_ROUTES`` and ``GATEWAY_UPSTREAMS`` (an upstream's URLs included) as an error."""
    return [
        Error(problem, hint="See GATEWAY_ROUTES, GATEWAY_ROUTE_OVERRIDES, LEGACY_HEALTH_PATH and the *_SERVICE_URL variables.", id="gateway.E001")
        for problem in validate_routes(settings.GATEWAY_ROUTES, settings.GATEWAY_UPSTREAMS, settings.GATEWAY_HEALTH_PATHS)
    ]
