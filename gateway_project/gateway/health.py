"""``GET /api/health``: the legacy answer, plus the state of every part behind the gateway.

Each address of each upstream (its health path: a service's ``/ready``, the
monolith's ``/api/health``; ``GATEWAY_HEALTH_PATHS``) and the gateway's own Redis are
checked in parallel under one deadline, so the answer comes within about a
second even when an upstream hangs; a part that has not answered by then counts
as down. An upstream is up when one of its addresses is: the gateway can serve
its routes. Each address is reported by its position in the upstream's URL list
(the addresses themselves are internal and the answer is public).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor, wait

import urllib3
from django.conf import settings

from common.health import as_state, check_redis

from .proxy import pool
from .routing import upstreams_in_use

# Threads that run the checks; a hung check holds one only until its own timeout.
_executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="health")
_NO_ANSWER = {"status": "down", "error": "no answer in time"}


def check_upstream(base_url: str, timeout: float, path: str = "/ready") -> dict:
    """An upstream's readiness, as its health ``path`` reports it: up on a 200 with a JSON object."""
    try:
        response = pool().request(
            "GET",
            f"{base_url}{path}",
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            retries=False,
        )
    except urllib3.exceptions.HTTPError as exc:
        return {"status": "down", "error": f"unreachable: {type(exc).__name__}"}
    try:
        body = json.loads(response.data)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return {"status": "down", "error": f"unexpected answer (HTTP {response.status})"}
    state = {"status": "up" if response.status == 200 else "down"}
    if "checks" in body:
        state["checks"] = body["checks"]
    return state


def health_path(upstream: str) -> str:
    """Where ``upstream`` tells its health (``GATEWAY_HEALTH_PATHS``; ``/ready`` for one not named)."""
    return settings.GATEWAY_HEALTH_PATHS.get(upstream, "/ready")


def _check_gateway_redis() -> dict:
    return as_state(check_redis(settings.REDIS_URL))


def upstream_state(addresses: list[dict]) -> dict:
    """An upstream's state from its addresses' states, in the order they are configured.

    Up when one address is; its ``checks`` (or ``error``) are those of the first
    address that is up, or else of the first one.
    """
    shown = next((state for state in addresses if state["status"] == "up"), addresses[0])
    return {
        **shown,
        "instances": [{"instance": position, **state} for position, state in enumerate(addresses, start=1)],
    }


def system_health() -> tuple[bool, dict]:
    """Whether every required part is up, and each part's state."""
    timeout = settings.GATEWAY_HEALTH_TIMEOUT
    redis = _executor.submit(_check_gateway_redis)
    upstreams = {
        name: [
            _executor.submit(check_upstream, address.url, timeout, health_path(name))
            for address in balancer.addresses
        ]
        for name, balancer in upstreams_in_use().items()
    }
    wait([redis, *(future for futures in upstreams.values() for future in futures)], timeout=timeout + 0.1)

    report = {
        "services": {name: upstream_state([_outcome(future) for future in futures]) for name, futures in upstreams.items()},
        "dependencies": {"redis": _outcome(redis)},
    }
    healthy = all(state["status"] == "up" for group in report.values() for state in group.values())
    return healthy, report


def _outcome(future) -> dict:
    if future.done() and future.exception() is None:
        return future.result()
    return dict(_NO_ANSWER)
