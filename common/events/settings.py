"""The event machinery's settings: ``events_settings.MAX_RETRIES`` and the like (as DRF's ``api_settings``).

Every setting has its default here; a project overrides only what differs, as
``EVENTS_<NAME>`` in its Django settings (``EVENTS_HANDLERS = {...}``). Read at
each access, so ``override_settings`` and pytest-django's ``settings`` apply at
once. The tunables' defaults come from the environment variables of the same
names (``EVENTS_RELAY_INTERVAL``, ``EVENTS_MAX_RETRIES``, ...), read when this
module is first imported, as the settings module used to.

This module does not touch Django's settings when imported: a project's
settings module may import it (``common.events.schedule``).
"""

from __future__ import annotations

from django.conf import settings as django_settings

from common.env import env

PREFIX = "EVENTS_"

DEFAULTS = {
    # Which services consume each event type: the relay sends an event to the queue
    # of each (``<service>.events.consume``). A type missing here cannot be published.
    "SUBSCRIBERS": {},
    # Types whose payload is the aggregate's whole state: a consumer applies only a
    # version newer than the last one it applied. Every other type is a fact.
    "STATE_TYPES": [],
    # Types not sent after their commit but by the relay's next run, many to a message.
    "BATCHED_TYPES": [],
    # The types this service consumes: type -> the dotted path of the function applying it.
    "HANDLERS": {},
    # Exception classes (dotted paths) of what the service's handlers stand on, retried for
    # as long as they last and never parked, besides the database's, Redis's and a soft
    # time limit (``common.events.inbox.BUILTIN_INFRASTRUCTURE_ERRORS``).
    "INFRASTRUCTURE_ERRORS": [],
    # Seconds between two runs of the relay (beat), which sends what is still
    # unsent (the broker was down at commit time) once it is that old, and the
    # batched types at once.
    "RELAY_INTERVAL": env.float("EVENTS_RELAY_INTERVAL", default=2.0),
    # Events per message when the relay sends a backlog.
    "BATCH_SIZE": env.int("EVENTS_BATCH_SIZE", default=100),
    # An event goes to the broker right after its commit only while its consumers
    # keep up: with more messages than this already waiting on a subscriber's queue
    # (its worker is down or behind), it is left to the relay, which sends in batches.
    "SEND_QUEUE_LIMIT": env.int("EVENTS_SEND_QUEUE_LIMIT", default=100),
    # A consumer retries a failing event this many times, waiting base * 2^attempt
    # seconds (capped, with jitter), then parks it. A database, Redis or broker
    # outage is retried for as long as it lasts and parks nothing.
    "MAX_RETRIES": env.int("EVENTS_MAX_RETRIES", default=8),
    "RETRY_BACKOFF": env.float("EVENTS_RETRY_BACKOFF", default=1.0),
    "RETRY_BACKOFF_MAX": env.float("EVENTS_RETRY_BACKOFF_MAX", default=60.0),
    # Days sent outbox rows and inbox rows are kept (pruned hourly). The inbox must
    # outlive any redelivery: far more than the visibility timeout.
    "OUTBOX_RETENTION_DAYS": env.int("EVENTS_OUTBOX_RETENTION_DAYS", default=7),
    "INBOX_RETENTION_DAYS": env.int("EVENTS_INBOX_RETENTION_DAYS", default=30),
}


class EventsSettings:
    """Attribute access to the events settings: the project's ``EVENTS_<NAME>``, else the default."""

    def __init__(self, defaults: dict):
        self._defaults = defaults

    def __getattr__(self, name: str):
        try:
            default = self._defaults[name]
        except KeyError:
            raise AttributeError(f"no events setting {name!r}") from None
        return getattr(django_settings, PREFIX + name, default)


events_settings = EventsSettings(DEFAULTS)
