"""The event tables' gauges, computed when ``/metrics`` is scraped (``METRICS_SCRAPE_COLLECTORS``)."""

from __future__ import annotations

import logging

from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)


class EventTablesCollector:
    """The event machinery's backlog, read from this service's tables when scraped (``common.events``).

    Two indexed queries: the outbox's unsent events (its partial index on
    ``occurred_at``) and the parked messages not replayed. When the database does
    not answer, the figures are left out of the scrape rather than failing it.
    """

    def collect(self):
        from common.events.status import event_backlog

        try:
            backlog = event_backlog()
        except DatabaseError as exc:
            logger.warning("event metrics unavailable", extra={"error": type(exc).__name__})
            return
        yield GaugeMetricFamily(
            "events_outbox_backlog", "Outbox events not yet handed to the broker.", value=backlog["backlog"]
        )
        yield GaugeMetricFamily(
            "events_outbox_oldest_unsent_age_seconds",
            "Age of the oldest outbox event not yet handed to the broker; 0 when there is none.",
            value=backlog["lag_seconds"],
        )
        yield GaugeMetricFamily(
            "events_parked_messages",
            "Messages this service's consumer parked and nobody replayed yet.",
            value=backlog["parked"],
        )
