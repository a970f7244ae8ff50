"""The beat entries of a service's event machinery, for its settings module (``CELERY_BEAT_SCHEDULE``)."""

from __future__ import annotations

from common.events.settings import DEFAULTS


def events_beat_schedule(service: str, *, relay_interval: float | None = None) -> dict:
    """The relay (every ``relay_interval`` s, by default ``EVENTS_RELAY_INTERVAL``'s) and pruning old rows (hourly).

    Called while the settings load, so it reads the default, not Django's settings.
    """
    interval = DEFAULTS["RELAY_INTERVAL"] if relay_interval is None else relay_interval
    return {
        f"{service}-events-relay": {
            "task": f"{service}.events.relay",
            "schedule": interval,
            # Ticks that waited for a stopped worker are dropped, not run by the hundred.
            "options": {"expires": max(10.0, 5 * interval)},
        },
        f"{service}-events-prune": {"task": f"{service}.events.prune", "schedule": 3600.0},
    }
