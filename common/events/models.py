"""The event machinery's tables, in each service's own database (app label ``events``).

Each service's router sends the ``events`` app label to its service database, so
an outbox row commits or rolls back with the change it describes, and an inbox
row with the effect it records. The gateway installs the app too (for the
``events`` command), but has no database and never touches these models.

The tables keep the names they had as the ``common`` app's (``db_table``): the
models moved, the data did not (migrations ``events.0001`` and ``common.0002``
change Django's state only).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class OutboxEvent(models.Model):
    """An event this service published, written in the transaction of the change it describes.

    ``sent_at`` is set once the relay handed it to the broker for every
    subscriber; until then it is the backlog the relay sends again.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=100)
    aggregate_id = models.CharField(max_length=64, help_text="The record the event is about, e.g. a user id.")
    version = models.PositiveBigIntegerField(help_text="Orders the events of one aggregate.")
    occurred_at = models.DateTimeField(default=timezone.now)
    request_id = models.CharField(max_length=128, blank=True)
    payload = models.JSONField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="How many times the relay tried to send it.")

    class Meta:
        db_table = "common_outboxevent"
        ordering = ["occurred_at"]
        indexes = [
            # The relay's and the status command's only scan: what is still unsent, oldest first.
            models.Index(
                fields=["occurred_at"], condition=models.Q(sent_at__isnull=True), name="common_outbox_unsent"
            ),
            models.Index(fields=["sent_at"], name="common_outbox_sent_at"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregate_id} v{self.version}"


class InboxEvent(models.Model):
    """An event this service consumed: written in the transaction of its effect, so it is applied once."""

    class Outcome(models.TextChoices):
        APPLIED = "applied"
        STALE = "stale", "stale: a newer version of the aggregate was applied first"

    id = models.UUIDField(primary_key=True, help_text="The event's id.")
    type = models.CharField(max_length=100)
    source = models.CharField(max_length=32, help_text="The service that published it.")
    aggregate_id = models.CharField(max_length=64)
    version = models.PositiveBigIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    applied_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "common_inboxevent"
        ordering = ["applied_at"]
        indexes = [models.Index(fields=["applied_at"], name="common_inbox_applied_at")]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregate_id} v{self.version} ({self.outcome})"


class AggregateVersion(models.Model):
    """The newest version of another service's aggregate this service applied: older ones are stale."""

    source = models.CharField(max_length=32)
    aggregate_id = models.CharField(max_length=64)
    version = models.PositiveBigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "common_aggregateversion"
        constraints = [
            models.UniqueConstraint(fields=["source", "aggregate_id"], name="common_aggregate_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.aggregate_id} v{self.version}"


class ParkedMessage(models.Model):
    """A message this service's consumer gave up on after its retries: kept to be looked at and replayed."""

    event_id = models.UUIDField(null=True, blank=True, help_text="Empty when the message was not a readable event.")
    event_type = models.CharField(max_length=100, blank=True)
    envelope = models.JSONField(help_text="The message as it arrived.")
    consumer = models.CharField(max_length=32, help_text="The service whose consumer parked it.")
    error = models.TextField()
    attempts = models.PositiveIntegerField()
    parked_at = models.DateTimeField(default=timezone.now)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "common_parkedmessage"
        ordering = ["parked_at"]
        indexes = [models.Index(fields=["replayed_at", "parked_at"], name="common_parked_pending")]

    def __str__(self) -> str:
        return f"parked {self.event_type or 'message'} {self.event_id or self.pk}"
