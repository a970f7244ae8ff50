"""The Celery app factory: one app per service project, one queue per service.

A worker keeps its database connections between tasks as a gunicorn worker does
between requests: Django's own rule (``CONN_MAX_AGE``, health checks) decides around
each task, not Celery's fixup (why, and what it cost: docs/performance.md,
"Settings and connections").
"""

from __future__ import annotations

import os

from celery import Celery, signals
from django.db import close_old_connections

from common.worker_watchdog import ConsumerWatchdog


def make_celery_app(service: str) -> Celery:
    """A Celery app configured from Django settings (``CELERY_*``), its tasks autodiscovered."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    app = Celery(service)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks()
    app.steps["worker"].add(ConsumerWatchdog)
    signals.task_prerun.connect(close_connections_around_task, dispatch_uid="common.celery.prerun")
    signals.task_postrun.connect(close_connections_around_task, dispatch_uid="common.celery.postrun")
    return app


def close_connections_around_task(sender=None, **kwargs) -> None:
    """Before and after a task: close the connections too old or broken to keep (as Django does per request).

    A task run in the caller's process (``apply()``, eager mode) is part of
    whatever that process is doing and leaves its connections alone, as
    Celery's fixup does.
    """
    request = getattr(sender, "request", None)
    if getattr(request, "is_eager", False):
        return
    close_old_connections()
