"""The system's event contract, shared by every service: who consumes each type, and how (docs/events.md)."""

# EVENTS: the contract (the events app is common.events)
# ------------------------------------------------------------------------------
# The app's tunables (EVENTS_RELAY_INTERVAL, EVENTS_MAX_RETRIES, ...) have their
# defaults, read from the environment, in common/events/settings.py; a project
# sets EVENTS_<NAME> only to differ.
#
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
