"""``manage.py events``: backlog, lag and parked messages of a service, and replaying them."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from common.events.envelope import envelope_build
from common.events.inbox import events_consume
from common.events.outbox import event_publish
from common.events.management.commands import events as events_command
from common.events.models import OutboxEvent, ParkedMessage

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("events", *args, stdout=out)
    return out.getvalue()


def park_one() -> dict:
    poison = envelope_build(
        id=uuid.uuid4(),
        type="test.poison",
        source="elsewhere",
        aggregate_id="1",
        version=1,
        occurred_at=timezone.now(),
        request_id=None,
        payload={},
    )
    events_consume(envelopes=[poison], attempt=99)
    return poison


def test_status_shows_backlog_lag_queue_and_parked(broker, settings):
    settings.SERVICE_NAME = broker.new_queue()
    settings.CELERY_BROKER_URL = broker.url
    with transaction.atomic():
        for version in (1, 2):
            event_publish(type="test.fact", aggregate_id=1, version=version, payload={})
    OutboxEvent.objects.update(occurred_at=timezone.now() - timedelta(seconds=90))
    park_one()
    broker.client.lpush(settings.SERVICE_NAME, "a message", "another")

    status = json.loads(run("status", "--json"))

    assert status["service"] == settings.SERVICE_NAME
    assert (status["backlog"], status["queued"], status["parked"]) == (2, 2, 1)
    assert 90 <= status["lag_seconds"] < 120
    text = run("status")
    assert text.startswith(f"{settings.SERVICE_NAME}: backlog 2, lag 9")
    assert "queued 2, parked 1" in text


def test_status_with_nothing_going_on(settings, unreachable_redis_url):
    settings.CELERY_BROKER_URL = unreachable_redis_url
    status = json.loads(run("status", "--json"))
    assert (status["backlog"], status["lag_seconds"], status["parked"], status["queued"]) == (0, 0.0, 0, None)
    assert "queued unknown (broker unreachable)" in run("status")


def test_parked_lists_what_was_parked_with_its_error():
    poison = park_one()
    [listed] = json.loads(run("parked", "--json"))
    assert (listed["event_id"], listed["event_type"]) == (poison["id"], "test.poison")
    assert listed["error"].startswith("ValueError")
    assert f"test.poison {poison['id']}" in run("parked")


def test_replay_by_id_and_all(broker, settings):
    settings.SERVICE_NAME = broker.new_queue()
    first, second = park_one(), park_one()
    first_id = ParkedMessage.objects.get(event_id=first["id"]).pk

    assert run("replay", "--id", str(first_id)).strip() == f"{settings.SERVICE_NAME}: replayed 1 parked message(s)"
    assert run("replay", "--all").strip() == f"{settings.SERVICE_NAME}: replayed 1 parked message(s)"

    assert [args for _, args in broker.messages(settings.SERVICE_NAME)] == [[[first]], [[second]]]
    assert json.loads(run("status", "--json"))["parked"] == 0


def test_replay_with_the_broker_down_fails_and_marks_nothing_replayed(broker_down, settings):
    park_one()
    with pytest.raises(Exception, match="replay failed"):
        run("replay", "--all")
    assert ParkedMessage.objects.get().replayed_at is None


def test_a_service_without_a_database_has_no_events(monkeypatch):
    monkeypatch.setattr(events_command, "service_database_aliases", lambda: [])
    assert run("status").strip() == "common-tests: no events (no database)"
    assert json.loads(run("status", "--json")) == {"service": "common-tests", "events": None}
