"""Handlers of the pretend service's events. Their effect is a ``Group`` row, in the consumer's transaction."""

from django.contrib.auth.models import Group
from django.db import OperationalError


def group_create(*, event):
    """A fact: one group per event, so applying an event twice would show as two rows."""
    Group.objects.create(name=f"{event.aggregate_id}:{event.payload['name']}:{event.id}")


def group_rename(*, event):
    """A state: the aggregate's one group takes the name of the event's version."""
    Group.objects.update_or_create(
        name__startswith=f"{event.aggregate_id}:", defaults={"name": f"{event.aggregate_id}:{event.payload['name']}"}
    )


def always_fail(*, event):
    Group.objects.create(name=f"half-done:{event.id}")  # undone with the event's savepoint
    raise ValueError(f"cannot apply {event.payload!r}")


def database_outage(*, event):
    raise OperationalError("server closed the connection unexpectedly")


class StoreUnavailable(Exception):
    """A store the pretend service's handlers stand on, not answering (as the auth service's revocation store)."""


def store_outage(*, event):
    raise StoreUnavailable("the store does not answer")
