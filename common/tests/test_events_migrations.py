"""The event models' move from ``common`` to ``events``: Django's state only, every table and row kept."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from common.events.models import AggregateVersion, InboxEvent, OutboxEvent, ParkedMessage

BEFORE_THE_MOVE = [("common", "0001_initial"), ("events", None)]
TABLES = ["common_outboxevent", "common_inboxevent", "common_aggregateversion", "common_parkedmessage"]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def leaves() -> list:
    return [key for key in MigrationExecutor(connection).loader.graph.leaf_nodes() if key[0] in ("common", "events")]


def test_the_models_keep_their_tables():
    assert [model._meta.db_table for model in (OutboxEvent, InboxEvent, AggregateVersion, ParkedMessage)] == TABLES
    assert {model._meta.app_label for model in (OutboxEvent, InboxEvent, AggregateVersion, ParkedMessage)} == {
        "events"
    }


@pytest.mark.django_db(transaction=True)
def test_a_database_at_the_old_head_keeps_its_rows_through_the_move():
    """Back to ``common.0001`` (today's head before the move), a row in, forward: the row is the new model's."""
    migrate(BEFORE_THE_MOVE)
    try:
        state = MigrationExecutor(connection).loader.project_state(("common", "0001_initial"))
        assert ("common", "outboxevent") in state.models and not any(app == "events" for app, _ in state.models)
        event_id = uuid.uuid4()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO common_outboxevent (id, type, aggregate_id, version, occurred_at, request_id, payload,"
                " attempts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [event_id.hex, "test.fact", "7", 1, timezone.now(), "", '{"name": "x"}', 0],
            )
    finally:
        migrate(leaves())
    assert set(TABLES) <= set(connection.introspection.table_names())
    event = OutboxEvent.objects.get(pk=event_id)
    assert (event.type, event.aggregate_id, event.payload) == ("test.fact", "7", {"name": "x"})
    state = MigrationExecutor(connection).loader.project_state()
    assert ("events", "outboxevent") in state.models and not any(app == "common" for app, _ in state.models)
    OutboxEvent.objects.all().delete()
