"""What the event machinery of this service is doing: backlog, lag, queue, parked messages."""

from __future__ import annotations

from datetime import timedelta

import redis
from django.conf import settings
from django.db import router
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from common.events.outbox import broker_queue_length
from common.events.models import InboxEvent, OutboxEvent, ParkedMessage


def events_status() -> dict:
    """This service's figures, JSON-ready.

    - ``backlog``: outbox events not yet handed to the broker; ``lag_seconds``:
      the age of the oldest of them (0 when none);
    - ``queued``: messages waiting in this service's queue on the broker
      (``None`` when the broker cannot be reached);
    - ``parked``: messages parked and not replayed;
    - ``applied_last_hour`` and ``last_applied_at``: what the consumer did.
    """
    now = timezone.now()
    backlog = event_backlog(now)
    inbox = InboxEvent.objects.using(router.db_for_read(InboxEvent)).aggregate(
        recent=Count("pk", filter=Q(applied_at__gte=now - timedelta(hours=1))),
        last=Max("applied_at"),
    )
    return {
        "service": settings.SERVICE_NAME,
        "backlog": backlog["backlog"],
        "lag_seconds": round(backlog["lag_seconds"], 3),
        "queued": queued(settings.SERVICE_NAME),
        "parked": backlog["parked"],
        "applied_last_hour": inbox["recent"],
        "last_applied_at": inbox["last"].isoformat() if inbox["last"] else None,
    }


def event_backlog(now=None) -> dict:
    """``backlog`` (outbox events not yet sent), ``lag_seconds`` (the oldest one's age, 0 when none) and
    ``parked`` (parked messages not replayed): two indexed queries, for ``events status`` and the metrics."""
    now = now or timezone.now()
    outbox = (
        OutboxEvent.objects.using(router.db_for_read(OutboxEvent))
        .filter(sent_at__isnull=True)  # the outbox's partial index: sent rows are not read
        .aggregate(backlog=Count("pk"), oldest=Min("occurred_at"))
    )
    parked = ParkedMessage.objects.using(router.db_for_read(ParkedMessage)).filter(replayed_at__isnull=True).count()
    return {
        "backlog": outbox["backlog"],
        "lag_seconds": (now - outbox["oldest"]).total_seconds() if outbox["oldest"] else 0.0,
        "parked": parked,
    }


def parked_messages(*, limit: int = 50) -> list[dict]:
    """The parked messages not yet replayed, oldest first."""
    messages = (
        ParkedMessage.objects.using(router.db_for_read(ParkedMessage))
        .filter(replayed_at__isnull=True)
        .order_by("parked_at")[:limit]
    )
    return [
        {
            "id": message.pk,
            "event_id": str(message.event_id) if message.event_id else None,
            "event_type": message.event_type,
            "attempts": message.attempts,
            "parked_at": message.parked_at.isoformat(),
            "error": message.error,
        }
        for message in messages
    ]


def queued(queue: str) -> int | None:
    """Messages waiting in ``queue`` on the broker; ``None`` when it does not answer."""
    try:
        return broker_queue_length(queue)
    except redis.RedisError:
        return None
