"""The auth service's Celery app: its own queue, tasks from its apps."""

from common.celery import make_celery_app

app = make_celery_app("auth")
