"""Parking: the messages a consumer gave up on, kept to be looked at and sent again (``events replay``)."""

from __future__ import annotations

import logging
import uuid

from celery import current_app
from django.conf import settings
from django.db import router, transaction
from django.utils import timezone

from common.events.models import ParkedMessage
from common.events.outbox import consumer_task_name

# The consumer's logger: these lines read as they did when this was part of inbox.py.
logger = logging.getLogger("common.events.inbox")

ERROR_TEXT_LIMIT = 2000


def error_text(exc: Exception) -> str:
    """An exception as a parked message and a log line keep it: its class and message, bounded."""
    return f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT]


def park(items: list[tuple[object, Exception]], *, attempts: int) -> None:
    """Park each ``(envelope, error)`` after ``attempts`` deliveries, in one transaction; log each once committed."""
    using = router.db_for_write(ParkedMessage)
    with transaction.atomic(using=using):
        for envelope, exc in items:
            fields = envelope if isinstance(envelope, dict) else {}
            ParkedMessage.objects.using(using).create(
                event_id=_uuid_or_none(fields.get("id")),
                event_type=str(fields.get("type") or "")[:100],
                envelope=envelope,
                consumer=settings.SERVICE_NAME,
                error=error_text(exc),
                attempts=attempts,
            )
    for envelope, exc in items:
        fields = envelope if isinstance(envelope, dict) else {}
        logger.error(
            "message parked",
            extra={
                "event_id": fields.get("id"),
                "event_type": fields.get("type"),
                "attempts": attempts,
                "error": error_text(exc),
            },
        )


def parked_replay(*, ids: list[int] | None = None) -> int:
    """Send parked messages (all of them, or those ``ids``) to this service's consumer again; how many.

    Each goes back as a fresh message, with its retries from zero; one that
    fails again is parked again (a new row). Already applied events are skipped
    by the inbox as usual.
    """
    parked = ParkedMessage.objects.using(router.db_for_write(ParkedMessage)).filter(replayed_at__isnull=True)
    if ids is not None:
        parked = parked.filter(pk__in=ids)
    app = current_app._get_current_object()
    service = settings.SERVICE_NAME
    replayed = 0
    for message in parked.order_by("parked_at"):
        app.send_task(consumer_task_name(service), args=[[message.envelope]], queue=service)
        parked.filter(pk=message.pk).update(replayed_at=timezone.now())
        replayed += 1
        logger.info("parked message replayed", extra={"parked_id": message.pk, "event_id": str(message.event_id)})
    return replayed


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
