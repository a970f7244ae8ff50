"""The event machinery's Celery tasks, registered under this service's name (``<service>.events.*``).

Other services address the consumer by name on this service's queue, so no
project imports another. Each task loads what it needs and calls ``common.events``.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from celery import shared_task
from celery.exceptions import Reject, Retry
from django.conf import settings

from common.events.inbox import events_consume, inbox_prune
from common.events.outbox import outbox_prune, outbox_relay
from common.events.settings import events_settings

logger = logging.getLogger(__name__)

SERVICE = settings.SERVICE_NAME
# The ids a delivery's log line names: enough to follow an event, short for a batch.
EVENT_IDS_LOGGED = 10


@shared_task(bind=True, name=f"{SERVICE}.events.consume", max_retries=None)
def consume_events(self, envelopes) -> dict:
    """Apply a message of events (a list of envelopes); send again what must be retried.

    The retry is a new message (the events still to do, ``retries`` + 1, after a
    backoff); this one is then acknowledged. If even that cannot be sent, the
    message is handed back to the queue rather than lost.
    """
    logger.info(
        "events received",
        extra={
            "events": len(envelopes) if isinstance(envelopes, list) else 1,
            "event_ids": _event_ids(envelopes)[:EVENT_IDS_LOGGED],
            "attempt": self.request.retries + 1,
            "pid": os.getpid(),
        },
    )
    result = events_consume(envelopes=envelopes, attempt=self.request.retries)
    if result.retry:
        logger.info(
            "events to retry",
            extra={
                "events": len(result.retry),
                "attempt": self.request.retries + 2,
                "countdown": round(result.retry_after, 3),
                "error": result.error,
            },
        )
        try:
            self.retry(args=[result.retry], countdown=result.retry_after)
        except Retry:
            raise
        except Exception as exc:  # the broker refused the retry: keep this message instead
            raise Reject(f"retry not sent: {exc}", requeue=True) from exc
    return {
        "applied": result.applied,
        "duplicate": result.duplicate,
        "stale": result.stale,
        "parked": result.parked,
        "retried": len(result.retry),
    }


@shared_task(name=f"{SERVICE}.events.relay")
def relay_events() -> int:
    """Send the outbox events still unsent (beat, every ``EVENTS_RELAY_INTERVAL`` seconds)."""
    return outbox_relay(older_than=timedelta(seconds=events_settings.RELAY_INTERVAL))


@shared_task(name=f"{SERVICE}.events.prune")
def prune_events() -> dict:
    """Forget sent outbox events and applied inbox events past their retention (beat, hourly)."""
    return {
        "outbox": outbox_prune(older_than=timedelta(days=events_settings.OUTBOX_RETENTION_DAYS)),
        "inbox": inbox_prune(older_than=timedelta(days=events_settings.INBOX_RETENTION_DAYS)),
    }


def _event_ids(envelopes) -> list:
    items = envelopes if isinstance(envelopes, list) else [envelopes]
    return [item.get("id") for item in items if isinstance(item, dict)]
