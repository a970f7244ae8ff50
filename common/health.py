"""Liveness and readiness, the same in every service.

``/health`` says the process answers and touches nothing else, so an orchestrator
does not restart a healthy process because a dependency is down. ``/ready`` checks
what the service needs to do useful work: each database reachable and fully
migrated, and Redis reachable; it answers 503 naming what failed.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import redis
from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse

from common.errors import allow_methods
from common.serializers import iso_utc

# Seconds a readiness probe waits on Redis before calling it down.
REDIS_CHECK_TIMEOUT = 0.5

_migrated_aliases: set[str] = set()
_migrated_lock = threading.Lock()
_redis_clients: dict[str, redis.Redis] = {}


def utc_timestamp() -> str:
    """Now, as the legacy API wrote it: ISO 8601 in UTC with milliseconds and ``Z``."""
    return iso_utc(datetime.now(timezone.utc))


def service_database_aliases() -> list[str]:
    """The database aliases this service actually uses (none for the gateway)."""
    return [
        alias
        for alias, config in settings.DATABASES.items()
        if config.get("ENGINE") != "django.db.backends.dummy"
    ]


def check_database(alias: str) -> str | None:
    """``None`` when ``alias`` answers a query and has no unapplied migration, else why not."""
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if alias not in _migrated_aliases:
            # Loading the migration graph reads every migration file: do it until
            # the answer is "migrated", which cannot change while this code runs.
            executor = MigrationExecutor(connection)
            if executor.migration_plan(executor.loader.graph.leaf_nodes()):
                return "unapplied migrations"
            with _migrated_lock:
                _migrated_aliases.add(alias)
    except Exception as exc:  # any driver error means "not ready"; say which kind
        connection.close_if_unusable_or_obsolete()
        return f"unreachable: {type(exc).__name__}"
    return None


def redis_client(url: str) -> redis.Redis:
    """A client with short timeouts, for health checks only (one per URL, reused)."""
    client = _redis_clients.get(url)
    if client is None:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=REDIS_CHECK_TIMEOUT,
            socket_timeout=REDIS_CHECK_TIMEOUT,
            retry_on_timeout=False,
        )
        _redis_clients[url] = client
    return client


def check_redis(url: str) -> str | None:
    """``None`` when the Redis at ``url`` answers PING, else why not."""
    try:
        redis_client(url).ping()
    except redis.RedisError as exc:
        return f"unreachable: {type(exc).__name__}"
    return None


def as_state(problem: str | None) -> dict:
    """A check's outcome as reported in JSON: up, or down with the reason."""
    return {"status": "up"} if problem is None else {"status": "down", "error": problem}


def readiness() -> dict[str, dict]:
    """Every dependency of this service with its state."""
    checks = {f"database:{alias}": check_database(alias) for alias in service_database_aliases()}
    checks["redis"] = check_redis(settings.REDIS_URL)
    return {name: as_state(problem) for name, problem in checks.items()}


@allow_methods("GET", "HEAD")
def health_view(request):
    return JsonResponse({"status": "ok", "service": settings.SERVICE_NAME})


@allow_methods("GET", "HEAD")
def ready_view(request):
    checks = readiness()
    ready = all(check["status"] == "up" for check in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "service": settings.SERVICE_NAME, "checks": checks},
        status=200 if ready else 503,
    )
