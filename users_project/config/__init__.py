"""The users project's configuration: settings, URLs, WSGI, Celery, database router."""

# The service's Celery app, loaded with the project so that events published by
# the web process go to this service's broker (cookiecutter-django does the same).
from .celery import app as celery_app

__all__ = ("celery_app",)
