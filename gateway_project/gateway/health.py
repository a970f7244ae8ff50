"""``GET /api/health``: the legacy answer, plus the state of every part behind the gateway.

Each upstream's ``/ready`` and the gateway's own Redis are checked in parallel
under one deadline, so the answer comes within about a second even when an
upstream hangs; a part that has not answered by then counts as down.
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
_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")


def check_upstream(base_url: str, timeout: float) -> dict:
    """An upstream's readiness, as its ``/ready`` reports it."""
    try:
        response = pool().request(
            "GET",
            f"{base_url}/ready",
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


def _check_gateway_redis() -> dict:
    return as_state(check_redis(settings.REDIS_URL))


def system_health() -> tuple[bool, dict]:
    """Whether every required part is up, and each part's state."""
    timeout = settings.GATEWAY_HEALTH_TIMEOUT
    futures = {("dependencies", "redis"): _executor.submit(_check_gateway_redis)}
    for name, base_url in upstreams_in_use().items():
        futures[("services", name)] = _executor.submit(check_upstream, base_url, timeout)
    wait(futures.values(), timeout=timeout + 0.1)

    report: dict[str, dict] = {"services": {}, "dependencies": {}}
    for (group, name), future in futures.items():
        if future.done() and future.exception() is None:
            report[group][name] = future.result()
        else:
            report[group][name] = {"status": "down", "error": "no answer in time"}
    healthy = all(state["status"] == "up" for group in report.values() for state in group.values())
    return healthy, report
