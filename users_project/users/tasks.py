"""Celery tasks of the users service. Each loads what it needs and calls a service."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from users.services import user_registration_cleanup


@shared_task
def registration_cleanup() -> int:
    """Finish registrations left pending or cancelled (run by beat, see ``CELERY_BEAT_SCHEDULE``)."""
    return user_registration_cleanup(older_than=timedelta(seconds=settings.USERS_PENDING_REGISTRATION_MAX_AGE))
