"""The event machinery's settings (common.events, docs/events.md): subscribers, types, relay, retries, retention."""

from common.env import env

# EVENTS: outbox, relay, idempotent consumers (common.events, docs/events.md)
# ------------------------------------------------------------------------------
# Which services consume each event type: the relay sends an event to the queue
# of each (``<service>.events.consume``). The contract of every type, its
# publisher and its payload, is in docs/events.md.
EVENTS_SUBSCRIBERS = {
    "user.registered": ["auth"],
    "user.profile.updated": ["auth"],
    "user.deactivated": ["auth"],
    "user.reactivated": ["auth"],
    "user.deleted": ["auth"],
    "auth.login.success": ["users"],
    "auth.login.failed": ["users"],
    "auth.logout": ["users"],
    "auth.password.changed": ["users"],
}
# Types whose payload is the aggregate's whole state: a consumer applies only a
# version newer than the last one it applied, so reordering changes nothing.
# Every other type is a fact, applied once whatever the order.
EVENTS_STATE_TYPES = [
    "user.registered",
    "user.profile.updated",
    "user.deactivated",
    "user.reactivated",
    "user.deleted",
]
# Types not sent after their commit but by the relay's next run, many to a
# message: the sign-in facts of the activity read model, one per login, which no
# one waits for. Consumed in batches, a login costs the users worker one event
# in a transaction, not a message and a transaction of its own; the auth
# service's request skips the send.
EVENTS_BATCHED_TYPES = [
    "auth.login.success",
    "auth.login.failed",
    "auth.logout",
    "auth.password.changed",
]
# Seconds between two runs of the relay (beat), which sends what is still
# unsent (the broker was down at commit time) once it is that old, and the
# batched types at once.
EVENTS_RELAY_INTERVAL = env.float("EVENTS_RELAY_INTERVAL", default=2.0)
# Events per message when the relay sends a backlog.
EVENTS_BATCH_SIZE = env.int("EVENTS_BATCH_SIZE", default=100)
# An event goes to the broker right after its commit only while its consumers
# keep up: with more messages than this already waiting on a subscriber's queue
# (its worker is down or behind), it is left to the relay, which sends in batches.
EVENTS_SEND_QUEUE_LIMIT = env.int("EVENTS_SEND_QUEUE_LIMIT", default=100)
# A consumer retries a failing event this many times, waiting base * 2^attempt
# seconds (capped, with jitter), then parks it. A database, Redis or broker
# outage is retried for as long as it lasts and parks nothing.
EVENTS_MAX_RETRIES = env.int("EVENTS_MAX_RETRIES", default=8)
EVENTS_RETRY_BACKOFF = env.float("EVENTS_RETRY_BACKOFF", default=1.0)
EVENTS_RETRY_BACKOFF_MAX = env.float("EVENTS_RETRY_BACKOFF_MAX", default=60.0)
# Days sent outbox rows and inbox rows are kept (pruned hourly). The inbox must
# outlive any redelivery: far more than the visibility timeout.
EVENTS_OUTBOX_RETENTION_DAYS = env.int("EVENTS_OUTBOX_RETENTION_DAYS", default=7)
EVENTS_INBOX_RETENTION_DAYS = env.int("EVENTS_INBOX_RETENTION_DAYS", default=30)


def events_beat_schedule(service: str) -> dict:
    """The beat entries of a service's event machinery: the relay, and pruning old rows."""
    return {
        f"{service}-events-relay": {
            "task": f"{service}.events.relay",
            "schedule": EVENTS_RELAY_INTERVAL,
            # Ticks that waited for a stopped worker are dropped, not run by the hundred.
            "options": {"expires": max(10.0, 5 * EVENTS_RELAY_INTERVAL)},
        },
        f"{service}-events-prune": {"task": f"{service}.events.prune", "schedule": 3600.0},
    }
