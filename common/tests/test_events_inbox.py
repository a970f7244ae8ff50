"""Consuming: each event applied once, newest state wins, failures retried then parked, outages never parked."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth.models import Group
from django.db import OperationalError

from common.events import inbox
from common.events.envelope import envelope_build
from common.events.inbox import events_consume, inbox_prune, retry_backoff
from common.events.parking import parked_replay
from common.events.settings import events_settings
from common.events.models import AggregateVersion, InboxEvent, ParkedMessage
from common.events.tasks import consume_events

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def envelope(type="test.fact", aggregate_id="7", version=1, name="x", event_id=None, request_id=None, at=T0):
    return envelope_build(
        id=event_id or uuid.uuid4(),
        type=type,
        source="elsewhere",
        aggregate_id=aggregate_id,
        version=version,
        occurred_at=at,
        request_id=request_id,
        payload={"name": name},
    )


def group_names() -> list[str]:
    return sorted(Group.objects.values_list("name", flat=True))


def test_an_event_is_applied_and_recorded_in_the_inbox():
    event = envelope(name="ada")

    result = events_consume(envelopes=[event], attempt=0)

    assert (result.applied, result.retry, result.parked) == (1, [], 0)
    assert group_names() == [f"7:ada:{event['id']}"]
    inbox_row = InboxEvent.objects.get()
    assert (str(inbox_row.id), inbox_row.type, inbox_row.source, inbox_row.outcome) == (
        event["id"],
        "test.fact",
        "elsewhere",
        "applied",
    )


def test_an_event_delivered_twice_is_applied_once():
    event = envelope()

    events_consume(envelopes=[event], attempt=0)
    again = events_consume(envelopes=[event], attempt=0)

    assert (again.applied, again.duplicate) == (0, 1)
    assert len(group_names()) == 1


def test_an_event_twice_in_one_message_is_applied_once():
    event = envelope()
    result = events_consume(envelopes=[event, event], attempt=0)
    assert (result.applied, result.duplicate) == (1, 1)
    assert len(group_names()) == 1


def test_state_events_out_of_order_end_as_the_newest_version():
    newer, older = envelope("test.state", version=3, name="third"), envelope("test.state", version=2, name="second")

    events_consume(envelopes=[newer], attempt=0)
    result = events_consume(envelopes=[older], attempt=0)

    assert (result.applied, result.stale) == (0, 1)
    assert group_names() == ["7:third"]
    assert InboxEvent.objects.get(pk=older["id"]).outcome == "stale"
    assert AggregateVersion.objects.get(source="elsewhere", aggregate_id="7").version == 3


def test_state_events_in_order_apply_each_version():
    for version, name in ((1, "first"), (2, "second")):
        events_consume(envelopes=[envelope("test.state", version=version, name=name)], attempt=0)
    assert group_names() == ["7:second"]


def test_versions_are_kept_per_aggregate_and_per_source():
    events_consume(envelopes=[envelope("test.state", aggregate_id="1", version=5, name="a")], attempt=0)
    result = events_consume(envelopes=[envelope("test.state", aggregate_id="2", version=1, name="b")], attempt=0)
    assert result.applied == 1
    assert group_names() == ["1:a", "2:b"]


def test_facts_are_each_applied_whatever_their_order():
    later, earlier = envelope(version=2, name="later"), envelope(version=1, name="earlier")
    result = events_consume(envelopes=[later, earlier], attempt=0)
    assert result.applied == 2
    assert len(group_names()) == 2


def test_a_failing_event_is_retried_with_backoff_and_the_rest_of_the_message_applied(settings):
    settings.EVENTS_RETRY_BACKOFF, settings.EVENTS_RETRY_BACKOFF_MAX = 1.0, 60.0
    poison, fine = envelope("test.poison"), envelope(name="fine")

    result = events_consume(envelopes=[poison, fine], attempt=2)

    assert (result.applied, result.retry, result.parked) == (1, [poison], 0)
    assert 2.0 <= result.retry_after <= 4.0
    assert "ValueError: cannot apply" in result.error
    assert group_names() == [f"7:fine:{fine['id']}"]  # the poison's half-done write was undone
    assert not InboxEvent.objects.filter(pk=poison["id"]).exists()
    assert not ParkedMessage.objects.exists()


def test_a_failing_event_amid_others_leaves_each_other_event_applied_once():
    # The batch first goes through without savepoints; the failure undoes all of
    # it, and the second pass, a savepoint per event, applies the others once.
    first, poison, last = envelope(name="first"), envelope("test.poison", aggregate_id="8"), envelope(name="last")

    result = events_consume(envelopes=[first, poison, last], attempt=0)

    assert (result.applied, result.retry) == (2, [poison])
    assert group_names() == sorted([f"7:first:{first['id']}", f"7:last:{last['id']}"])
    assert set(InboxEvent.objects.values_list("pk", flat=True)) == {uuid.UUID(first["id"]), uuid.UUID(last["id"])}


def test_a_failing_event_is_parked_after_its_last_retry(settings):
    settings.EVENTS_MAX_RETRIES = 3
    poison = envelope("test.poison", request_id="req-9")

    result = events_consume(envelopes=[poison], attempt=3)

    assert (result.retry, result.parked) == ([], 1)
    parked = ParkedMessage.objects.get()
    assert (str(parked.event_id), parked.event_type, parked.envelope, parked.consumer, parked.attempts) == (
        poison["id"],
        "test.poison",
        poison,
        "common-tests",
        4,
    )
    assert parked.error.startswith("ValueError: cannot apply")
    assert parked.replayed_at is None
    assert not InboxEvent.objects.exists()


def test_an_outage_undoes_the_whole_message_and_is_retried_however_long_it_lasts(settings):
    settings.EVENTS_MAX_RETRIES = 3
    fine, outage = envelope(name="fine"), envelope("test.outage")

    result = events_consume(envelopes=[fine, outage], attempt=50)

    assert result.retry == [fine, outage]
    assert result.retry_after <= events_settings.RETRY_BACKOFF_MAX
    assert "OperationalError" in result.error
    assert (result.applied, result.parked) == (0, 0)
    assert not Group.objects.exists() and not InboxEvent.objects.exists() and not ParkedMessage.objects.exists()


def test_a_service_plugs_in_its_own_infrastructure_errors_retried_however_long_they_last(settings):
    settings.EVENTS_MAX_RETRIES = 0
    settings.EVENTS_HANDLERS = {**settings.EVENTS_HANDLERS, "test.fact": "common.tests.event_handlers.store_outage"}
    fact = envelope()

    assert events_consume(envelopes=[fact], attempt=5).parked == 1  # not named: an ordinary failure, parked

    settings.EVENTS_INFRASTRUCTURE_ERRORS = ["common.tests.event_handlers.StoreUnavailable"]
    result = events_consume(envelopes=[fact], attempt=50)
    assert (result.retry, result.parked) == ([fact], 0)
    assert "StoreUnavailable" in result.error
    assert ParkedMessage.objects.count() == 1


@pytest.mark.parametrize(
    "message",
    [
        "not an object",
        {"id": "not-a-uuid", "type": "test.fact"},
        {**envelope(), "version": -1},
        {**envelope(), "version": "3"},
        {**envelope(), "payload": ["a list"]},
        {**envelope(), "occurred_at": "yesterday"},
        {key: value for key, value in envelope().items() if key != "source"},
    ],
)
def test_a_message_that_is_no_event_is_parked_at_once(message):
    result = events_consume(envelopes=[message], attempt=0)
    assert (result.retry, result.parked) == ([], 1)
    assert ParkedMessage.objects.get().envelope == message


def test_an_event_this_service_has_no_handler_for_is_parked_at_once():
    unknown = envelope("test.never-heard-of")
    result = events_consume(envelopes=[unknown], attempt=0)
    assert result.parked == 1
    assert "has no handler for 'test.never-heard-of'" in ParkedMessage.objects.get().error


def test_a_message_that_cannot_be_parked_is_retried_rather_than_dropped(settings, monkeypatch):
    settings.EVENTS_MAX_RETRIES = 0

    def database_down(*args, **kwargs):
        raise OperationalError("no connection to the server")

    monkeypatch.setattr(inbox, "_park", database_down)
    poison = envelope("test.poison")

    result = events_consume(envelopes=[poison], attempt=0)

    assert (result.retry, result.parked) == ([poison], 0)


def test_backoff_doubles_per_attempt_with_jitter_up_to_its_cap(settings):
    settings.EVENTS_RETRY_BACKOFF, settings.EVENTS_RETRY_BACKOFF_MAX = 0.5, 10.0
    for attempt, ceiling in ((0, 0.5), (1, 1.0), (3, 4.0), (5, 10.0), (500, 10.0)):
        waits = [retry_backoff(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(set(waits)) > 1


def test_the_request_id_of_the_event_is_on_the_consumers_log_lines(caplog):
    caplog.set_level(logging.INFO, logger="common.events.inbox")
    events_consume(envelopes=[envelope(request_id="trace-77")], attempt=0)
    [record] = [record for record in caplog.records if record.getMessage() == "event applied"]
    assert record.request_id == "trace-77"
    assert record.event_type == "test.fact"


def test_the_task_retries_a_failing_event_then_parks_it(settings):
    settings.EVENTS_MAX_RETRIES = 2
    settings.EVENTS_RETRY_BACKOFF, settings.EVENTS_RETRY_BACKOFF_MAX = 0.01, 0.01
    poison, fine = envelope("test.poison"), envelope(name="fine")

    # Eagerly, each retry runs at once in this process: three attempts in all.
    consume_events.apply(args=[[poison, fine]])

    parked = ParkedMessage.objects.get()
    assert (parked.envelope, parked.attempts) == (poison, 3)
    assert InboxEvent.objects.filter(pk=fine["id"]).count() == 1
    assert len(group_names()) == 1


def test_replay_sends_parked_messages_back_to_this_services_consumer(broker, settings):
    settings.SERVICE_NAME = broker.new_queue()
    settings.EVENTS_MAX_RETRIES = 0
    first, second = envelope("test.poison"), envelope("test.poison")
    events_consume(envelopes=[first], attempt=0)
    events_consume(envelopes=[second], attempt=0)
    first_parked = ParkedMessage.objects.get(event_id=first["id"])

    assert parked_replay(ids=[first_parked.pk]) == 1
    assert parked_replay() == 1
    assert parked_replay() == 0

    sent = broker.messages(settings.SERVICE_NAME)
    assert sent == [
        (f"{settings.SERVICE_NAME}.events.consume", [[first]]),
        (f"{settings.SERVICE_NAME}.events.consume", [[second]]),
    ]
    assert not ParkedMessage.objects.filter(replayed_at__isnull=True).exists()


def test_a_replayed_event_that_now_succeeds_is_applied_once(settings):
    settings.EVENTS_MAX_RETRIES = 0
    settings.EVENTS_HANDLERS = {**settings.EVENTS_HANDLERS, "test.fact": "common.tests.event_handlers.always_fail"}
    event = envelope(name="late")
    events_consume(envelopes=[event], attempt=0)
    assert ParkedMessage.objects.count() == 1

    settings.EVENTS_HANDLERS = {**settings.EVENTS_HANDLERS, "test.fact": "common.tests.event_handlers.group_create"}
    [replayed] = ParkedMessage.objects.values_list("envelope", flat=True)
    for _ in range(2):  # replayed twice by mistake: still once
        events_consume(envelopes=[replayed], attempt=0)

    assert group_names() == [f"7:late:{event['id']}"]


def test_prune_forgets_inbox_rows_past_their_retention():
    old, recent = envelope(), envelope()
    events_consume(envelopes=[old, recent], attempt=0)
    InboxEvent.objects.filter(pk=old["id"]).update(applied_at=T0 - timedelta(days=40))

    assert inbox_prune(older_than=timedelta(days=30)) == 1
    assert list(InboxEvent.objects.values_list("pk", flat=True)) == [uuid.UUID(recent["id"])]
