"""Publishing: the outbox row commits with the change, is sent after commit, and the relay sends what was not."""

from __future__ import annotations

import fcntl
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from common.events import outbox
from common.events.envelope import event_from_envelope
from common.events.outbox import event_publish, outbox_prune, outbox_relay
from common.events.models import OutboxEvent
from common.request_context import request_id_var

pytestmark = pytest.mark.django_db


def publish(type="test.fact", aggregate_id=7, version=1, payload=None):
    return event_publish(type=type, aggregate_id=aggregate_id, version=version, payload=payload or {"name": "x"})


def test_an_event_commits_with_its_change_and_is_sent_after_the_commit(
    broker, subscribed, django_capture_on_commit_callbacks
):
    queue = subscribed("test.fact")
    token = request_id_var.set("req-1")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                Group.objects.create(name="the change")
                event = publish(aggregate_id=7, version=3, payload={"name": "ada"})
            assert broker.messages(queue) == []  # nothing leaves before the commit
    finally:
        request_id_var.reset(token)

    [(task, [envelopes])] = broker.messages(queue)
    assert task == f"{queue}.events.consume"
    [envelope] = envelopes
    sent = event_from_envelope(envelope)
    assert (sent.id, sent.type, sent.source, sent.aggregate_id, sent.version) == (
        event.id,
        "test.fact",
        "common-tests",
        "7",
        3,
    )
    assert (sent.request_id, sent.payload) == ("req-1", {"name": "ada"})
    assert envelope["occurred_at"].endswith("Z")
    event.refresh_from_db()
    assert event.sent_at is not None and event.attempts == 1


def test_a_rolled_back_change_publishes_nothing(broker, subscribed, django_capture_on_commit_callbacks):
    queue = subscribed("test.fact")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            Group.objects.create(name="the change")
            publish()
            raise RuntimeError("the request failed after writing")
    assert callbacks == []
    assert not OutboxEvent.objects.exists()
    assert not Group.objects.exists()
    assert broker.messages(queue) == []


@pytest.mark.django_db(transaction=True)
def test_publishing_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        publish()
    assert not OutboxEvent.objects.exists()


def test_an_undeclared_type_is_refused():
    with pytest.raises(ValueError, match="EVENTS_SUBSCRIBERS"), transaction.atomic():
        publish(type="test.nobody-declared-this")


def test_each_subscriber_gets_the_event_on_its_own_queue(broker, settings, django_capture_on_commit_callbacks):
    first, second = broker.new_queue(), broker.new_queue()
    settings.EVENTS_SUBSCRIBERS = {"test.fact": [first, second]}
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = publish()
    for queue in (first, second):
        [(task, [[envelope]])] = broker.messages(queue)
        assert (task, envelope["id"]) == (f"{queue}.events.consume", str(event.id))


def test_an_unreachable_broker_leaves_the_event_unsent_without_failing_the_request(
    broker_down, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EVENTS_SUBSCRIBERS = {"test.fact": ["test-unreachable"]}
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = publish()

    event.refresh_from_db()
    assert (event.sent_at, event.attempts) == (None, 0)
    assert any(record.getMessage() == "event left for the relay" for record in caplog.records)


def test_the_relay_sends_what_the_broker_refused_at_commit_once_it_is_back(subscribed, broker):
    queue = subscribed("test.fact")
    with transaction.atomic():
        event = publish()  # committed while nothing sent it (no on-commit run here)
    OutboxEvent.objects.filter(pk=event.pk).update(occurred_at=timezone.now() - timedelta(seconds=5))

    assert outbox_relay(older_than=timedelta(seconds=2)) == 1

    [(_, [[envelope]])] = broker.messages(queue)
    assert envelope["id"] == str(event.id)
    event.refresh_from_db()
    assert event.sent_at is not None and event.attempts == 1
    assert outbox_relay(older_than=timedelta(seconds=2)) == 0  # sent once


def test_the_relay_leaves_young_events_to_the_send_after_their_commit(subscribed, broker):
    queue = subscribed("test.fact")
    with transaction.atomic():
        publish()
    assert outbox_relay(older_than=timedelta(seconds=60)) == 0
    assert broker.messages(queue) == []


def test_the_relay_sends_a_backlog_in_batches_oldest_first(subscribed, broker, settings):
    queue = subscribed("test.fact")
    settings.EVENTS_BATCH_SIZE = 100
    start = timezone.now() - timedelta(minutes=10)
    OutboxEvent.objects.bulk_create(
        OutboxEvent(
            id=uuid.uuid4(),
            type="test.fact",
            aggregate_id="1",
            version=n + 1,
            occurred_at=start + timedelta(milliseconds=n),
            payload={"name": str(n)},
        )
        for n in reversed(range(250))
    )

    assert outbox_relay(older_than=timedelta(seconds=2), batch_size=120) == 250

    batches = [envelopes for _, [envelopes] in broker.messages(queue)]
    assert [len(batch) for batch in batches] == [100, 20, 100, 20, 10]
    assert [envelope["version"] for batch in batches for envelope in batch] == list(range(1, 251))
    assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_the_relay_holds_no_transaction_while_it_sends(subscribed, broker, monkeypatch):
    """SQLite locks the whole file for a writing transaction: the service's writers must not wait on the broker."""
    queue = subscribed("test.fact")
    with transaction.atomic():
        event = publish()
    # As if the broker had refused it at its commit (which here, in a real transaction, sent it).
    OutboxEvent.objects.filter(pk=event.pk).update(
        occurred_at=timezone.now() - timedelta(seconds=5), sent_at=None, attempts=0
    )
    seen = []

    def send(events):
        if not seen:  # the relay's send (the other's, after its commit, comes here too)
            seen.append(transaction.get_connection().in_atomic_block)
            # Another connection writes to the outbox meanwhile (a request publishing its change).
            seen.append(ThreadPoolExecutor(1).submit(_publish_in_a_transaction).exception(timeout=10))
        sent(events)

    sent = outbox.events_send
    monkeypatch.setattr(outbox, "events_send", send)

    assert outbox_relay(older_than=timedelta(seconds=2)) == 1

    assert seen == [False, None]
    event.refresh_from_db()
    assert event.sent_at is not None and event.attempts == 1
    assert str(event.id) in {envelope["id"] for _, [envelopes] in broker.messages(queue) for envelope in envelopes}
    assert OutboxEvent.objects.filter(aggregate_id="8").exists()  # the other's change committed meanwhile


def test_on_sqlite_a_relay_run_sends_nothing_while_another_processs_run_goes(subscribed, broker, monkeypatch, tmp_path):
    """Two runs at once (a worker's two pool processes) would read and send the same rows: the second stands aside."""
    queue = subscribed("test.fact")
    with transaction.atomic():
        event = publish()
    OutboxEvent.objects.filter(pk=event.pk).update(occurred_at=timezone.now() - timedelta(seconds=5))
    name = str(tmp_path / "service.sqlite3")
    monkeypatch.setitem(connection.settings_dict, "NAME", name)  # as a service's file, not the tests' memory

    with open(f"{name}.relay-lock", "a") as other:  # another process's run, going
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert outbox_relay(older_than=timedelta(seconds=2)) == 0
        assert broker.messages(queue) == []
        fcntl.flock(other, fcntl.LOCK_UN)

    assert outbox_relay(older_than=timedelta(seconds=2)) == 1
    assert len(broker.messages(queue)) == 1


def _publish_in_a_transaction():
    try:
        with transaction.atomic():
            publish(aggregate_id=8)
    finally:
        connection.close()


def test_the_relay_stops_at_a_broker_failure_and_counts_the_attempt(broker_down, settings):
    settings.EVENTS_SUBSCRIBERS = {"test.fact": ["test-unreachable"]}
    with transaction.atomic():
        event = publish()
    OutboxEvent.objects.filter(pk=event.pk).update(occurred_at=timezone.now() - timedelta(seconds=5))

    assert outbox_relay(older_than=timedelta(seconds=2)) == 0

    event.refresh_from_db()
    assert (event.sent_at, event.attempts) == (None, 1)


def test_events_without_subscribers_are_marked_sent(broker, settings):
    settings.EVENTS_SUBSCRIBERS = {"test.fact": []}
    with transaction.atomic():
        event = publish()
    OutboxEvent.objects.filter(pk=event.pk).update(occurred_at=timezone.now() - timedelta(seconds=5))
    assert outbox_relay(older_than=timedelta(seconds=2)) == 1


def test_prune_forgets_sent_events_past_their_retention_and_never_unsent_ones():
    now = timezone.now()
    old_sent, recent_sent, old_unsent = (
        OutboxEvent.objects.create(type="test.fact", aggregate_id="1", version=n, payload={}, sent_at=sent_at)
        for n, sent_at in ((1, now - timedelta(days=8)), (2, now - timedelta(days=1)), (3, None))
    )
    OutboxEvent.objects.filter(pk=old_unsent.pk).update(occurred_at=now - timedelta(days=30))

    assert outbox_prune(older_than=timedelta(days=7)) == 1

    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {recent_sent.pk, old_unsent.pk}


def test_an_event_for_a_consumer_that_is_behind_is_left_to_the_relay_which_batches(
    broker, subscribed, settings, django_capture_on_commit_callbacks
):
    queue = subscribed("test.fact")
    settings.EVENTS_SEND_QUEUE_LIMIT = 2
    broker.client.lpush(queue, *[b"waiting"] * 3)  # its worker is down: three messages wait already
    with django_capture_on_commit_callbacks(execute=True):
        for version in (1, 2):
            with transaction.atomic():
                publish(version=version)
    assert broker.client.llen(queue) == 3
    assert OutboxEvent.objects.filter(sent_at__isnull=True).count() == 2

    OutboxEvent.objects.update(occurred_at=timezone.now() - timedelta(seconds=5))
    broker.client.delete(queue)
    assert outbox_relay(older_than=timedelta(seconds=2)) == 2
    [(_, [envelopes])] = broker.messages(queue)
    assert [envelope["version"] for envelope in envelopes] == [1, 2]  # one message for the backlog


def test_a_batched_type_is_not_sent_after_its_commit_but_by_the_relays_next_run_in_one_message(
    broker, subscribed, settings, django_capture_on_commit_callbacks
):
    queue = subscribed("test.fact")
    settings.EVENTS_BATCHED_TYPES = ["test.fact"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for version in (1, 2, 3):
            with transaction.atomic():
                publish(version=version)
    assert callbacks == [] and broker.messages(queue) == []

    assert outbox_relay(older_than=timedelta(seconds=60)) == 3  # at once, however young

    [(_, [envelopes])] = broker.messages(queue)
    assert [envelope["version"] for envelope in envelopes] == [1, 2, 3]
    assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()


def test_the_relay_leaves_batched_events_committed_after_it_began_to_its_next_run(subscribed, broker, settings):
    queue = subscribed("test.fact")
    settings.EVENTS_BATCHED_TYPES = ["test.fact"]
    with transaction.atomic():
        publish(version=1)
        later = publish(version=2)
    OutboxEvent.objects.filter(pk=later.pk).update(occurred_at=timezone.now() + timedelta(seconds=1))

    assert outbox_relay(older_than=timedelta(seconds=60)) == 1

    [(_, [[envelope]])] = broker.messages(queue)
    assert envelope["version"] == 1
    assert list(OutboxEvent.objects.filter(sent_at__isnull=True)) == [later]
