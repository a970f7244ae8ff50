"""Rate limits at the edge, with django-ratelimit's counters in Redis.

Every request counts against a per-IP ceiling; a login also against its IP's
login limit and the account it names, a registration against its IP's limit.
Each limit is a fixed window of its own (``GATEWAY_RATE_LIMIT_*``). When Redis
cannot be reached the counters read as unknown and nothing is limited (fail
open): an outage of the counter store must not lock every client out.
"""

from __future__ import annotations

import json

from django.conf import settings
from django_ratelimit.core import get_usage

from common.emails import canonical_email

from .routing import matches

LOGIN_PATH = "/api/login"
REGISTER_PATH = "/api/register"
# The process probes touch nothing else, Redis included.
UNLIMITED_PATHS = frozenset({"/health", "/ready"})


def login_account(request) -> str | None:
    """The canonical email a login body names, or ``None`` when it names none (malformed, no email)."""
    try:
        body = json.loads(request.body)
    except ValueError:  # includes undecodable bytes
        return None
    email = body.get("email") if isinstance(body, dict) else None
    return canonical_email(email) if isinstance(email, str) else None


def _hit(request, group: str, rate: str, key) -> int | None:
    """Count this request in ``group``; the seconds to wait when that went over ``rate``, else ``None``."""
    usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return max(usage["time_left"], 1)


def retry_after(request) -> int | None:
    """Seconds the client must wait when this request is over a limit, else ``None``.

    Limits are counted from the widest to the narrowest; the first one reached
    ends the counting, so a refused request does not use up the others.
    """
    if request.path in UNLIMITED_PATHS:
        return None
    wait = _hit(request, "gateway.global", settings.GATEWAY_RATE_LIMIT_GLOBAL, "ip")
    if wait is not None or request.method != "POST":
        return wait
    if matches(LOGIN_PATH, request.path):
        wait = _hit(request, "gateway.login.ip", settings.GATEWAY_RATE_LIMIT_LOGIN_IP, "ip")
        account = login_account(request) if wait is None else None
        if account:
            rate = settings.GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT
            wait = _hit(request, "gateway.login.account", rate, lambda group, request: account)
    elif matches(REGISTER_PATH, request.path):
        wait = _hit(request, "gateway.register.ip", settings.GATEWAY_RATE_LIMIT_REGISTER_IP, "ip")
    return wait
