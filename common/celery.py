"""The Celery app factory: one app per service project, one queue per service."""

from __future__ import annotations

import os

from celery import Celery

from common.worker_watchdog import ConsumerWatchdog


def make_celery_app(service: str) -> Celery:
    """A Celery app configured from Django settings (``CELERY_*``), its tasks autodiscovered."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    app = Celery(service)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks()
    app.steps["worker"].add(ConsumerWatchdog)
    return app
