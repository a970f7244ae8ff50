"""Publishing: the outbox row in the caller's transaction, then the broker, now or later."""

from __future__ import annotations

import fcntl
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import redis
from celery import current_app
from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from common.events.envelope import envelope_build
from common.events.models import OutboxEvent
from common.events.settings import events_settings
from common.request_context import current_request_id
from common.sql import insert_row

logger = logging.getLogger(__name__)

# One quick reconnect (a connection the broker dropped since the last send), then give
# up: the row stays unsent and the relay sends it later. A request never waits on it.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def consumer_task_name(service: str) -> str:
    """The name of ``service``'s consumer task: messages are addressed to it by name, on its queue."""
    return f"{service}.events.consume"


def outbox_database() -> str:
    return router.db_for_write(OutboxEvent)


def event_publish(*, type: str, aggregate_id: int | str, version: int, payload: dict) -> OutboxEvent:
    """Write an event to this service's outbox, inside the open transaction of the change it describes.

    The row commits or rolls back with that change. After the commit it is sent
    to every subscriber at once; if that fails (the broker is unreachable) the
    relay sends it later. A type of ``EVENTS_BATCHED_TYPES`` is left to the
    relay, which sends such events in batches at its next run. Raises
    ``RuntimeError`` outside a transaction on the outbox's database, and
    ``ValueError`` for a type no one declared.
    """
    using = outbox_database()
    if not transaction.get_connection(using).in_atomic_block:
        raise RuntimeError(f"event_publish({type!r}) must run inside transaction.atomic(using={using!r})")
    if type not in events_settings.SUBSCRIBERS:
        raise ValueError(f"unknown event type {type!r}: declare it in EVENTS_SUBSCRIBERS")
    event = OutboxEvent(
        type=type,
        aggregate_id=str(aggregate_id),
        version=version,
        request_id=current_request_id() or "",
        payload=payload,
    )
    # In SQL (common.sql): a login writes one of these, and the ORM's create cost more than the INSERT.
    values = {field.name: getattr(event, field.attname) for field in OutboxEvent._meta.concrete_fields}
    insert_row(OutboxEvent, using, values)
    event._state.adding, event._state.db = False, using  # as saved: a later save() updates the row
    if type not in events_settings.BATCHED_TYPES:
        transaction.on_commit(functools.partial(_send_committed, event), using=using)
    return event


def event_envelope(event: OutboxEvent) -> dict:
    """The message an outbox row travels as."""
    return envelope_build(
        id=event.id,
        type=event.type,
        source=settings.SERVICE_NAME,
        aggregate_id=event.aggregate_id,
        version=event.version,
        occurred_at=event.occurred_at,
        request_id=event.request_id,
        payload=event.payload,
    )


def _send_committed(event: OutboxEvent) -> None:
    """After commit: send the event now, unless a subscriber is behind. Never raises: the relay sends the rest."""
    try:
        behind = [
            service
            for service in events_settings.SUBSCRIBERS.get(event.type, ())
            if broker_queue_length(service) > events_settings.SEND_QUEUE_LIMIT
        ]
        if behind:
            logger.info(
                "event left for the relay: consumers behind", extra={"event_id": str(event.id), "behind": behind}
            )
            return
        events_send([event])
        OutboxEvent.objects.using(outbox_database()).filter(pk=event.pk, sent_at__isnull=True).update(
            sent_at=timezone.now(), attempts=F("attempts") + 1
        )
    except Exception as exc:  # the broker, or marking it sent: the relay sends it (again), consumers cope
        logger.warning(
            "event left for the relay",
            extra={"event_id": str(event.id), "event_type": event.type, "error": f"{type(exc).__name__}: {exc}"},
        )


def broker_queue_length(queue: str) -> int:
    """Messages waiting on ``queue`` at the broker. Raises ``redis.RedisError`` when it does not answer."""
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    return _broker_client(settings.CELERY_BROKER_URL).llen(prefix + queue)


@functools.cache
def _broker_client(url: str) -> redis.Redis:
    # One pool per process (redis-py makes a new one in a forked child).
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("socket_connect_timeout", 2)
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def events_send(events: Iterable[OutboxEvent]) -> None:
    """Hand events to the broker: per subscriber, batches of ``EVENTS_BATCH_SIZE`` per message.

    Raises whatever the broker connection raises; some batches may have been
    sent by then (they will be sent again: consumers skip what they applied).
    """
    by_subscriber: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        envelope = event_envelope(event)
        for service in events_settings.SUBSCRIBERS.get(event.type, ()):
            by_subscriber[service].append(envelope)
    if not by_subscriber:
        return
    app = current_app._get_current_object()
    size = events_settings.BATCH_SIZE
    with app.producer_or_acquire() as producer:
        for service, envelopes in by_subscriber.items():
            for start in range(0, len(envelopes), size):
                app.send_task(
                    consumer_task_name(service),
                    args=[envelopes[start : start + size]],
                    queue=service,
                    producer=producer,
                    retry=True,
                    retry_policy=PUBLISH_RETRY_POLICY,
                )


def outbox_relay(*, older_than: timedelta, batch_size: int = 1000, time_budget: float = 30.0) -> int:
    """Send every outbox event still unsent after ``older_than``, oldest first; how many were sent.

    Younger events are left to the send after their commit, so the two rarely
    send the same event; those of ``EVENTS_BATCHED_TYPES`` have no such send and
    go at once, up to the ones committed when this run began (under a steady
    stream of them, a run ends rather than sending small batches for its whole
    budget). On PostgreSQL a batch is sent in a transaction holding its rows, and
    concurrent relays skip each other's rows (``SKIP LOCKED``). SQLite has no row
    locks: a transaction there would hold the whole file's write lock while the
    batch travels to the broker, and every writer of the service (its requests
    too) would wait for it; so a batch is read and sent outside one and marked
    sent after, in one statement, and a run goes only while no other process's
    is going (a lock file beside the database: :func:`_relay_turn`). Stops at
    the first broker failure (the next run tries again) or once ``time_budget``
    seconds are spent.
    """
    using = outbox_database()
    rows_locked = connections[using].features.has_select_for_update_skip_locked
    if rows_locked:
        return _relay_batches(using, older_than, batch_size, time_budget, rows_locked=True)
    with _relay_turn(connections[using].settings_dict["NAME"]) as ours:
        return _relay_batches(using, older_than, batch_size, time_budget, rows_locked=False) if ours else 0


@contextmanager
def _relay_turn(name: str) -> Iterator[bool]:
    """Whether this process may relay from the SQLite file ``name`` now: no other process holds its relay lock.

    A lock file beside the database (``<name>.relay-lock``), taken without waiting: a
    run that finds it taken sends nothing (the other sends the backlog), so two runs
    never read and send the same rows. An in-memory database (tests) has no file: always.
    """
    if name == ":memory:" or name.startswith("file:"):
        yield True
        return
    with open(f"{name}.relay-lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _relay_batches(using: str, older_than: timedelta, batch_size: int, time_budget: float, *, rows_locked: bool) -> int:
    """:func:`outbox_relay`'s batches, sent one after the other; how many events."""
    deadline = time.monotonic() + time_budget
    started = timezone.now()
    sent = 0
    while time.monotonic() < deadline:
        due = Q(occurred_at__lte=timezone.now() - older_than)
        if events_settings.BATCHED_TYPES:
            due |= Q(type__in=events_settings.BATCHED_TYPES, occurred_at__lte=started)
        unsent = OutboxEvent.objects.using(using).filter(due, sent_at__isnull=True).order_by("occurred_at")
        if not unsent.exists():
            break  # the usual case, answered without taking any lock
        if rows_locked:
            with transaction.atomic(using=using):
                events = list(unsent.select_for_update(skip_locked=True)[:batch_size])
                if not events or not _batch_send(events, using):
                    break
        else:
            events = list(unsent[:batch_size])
            if not events or not _batch_send(events, using):
                break
        sent += len(events)
    if sent:
        logger.info("relay sent events", extra={"sent": sent})
    return sent


def _batch_send(events: list[OutboxEvent], using: str) -> bool:
    """Send ``events`` and mark them sent; whether the broker took them (if not, the attempt is counted)."""
    pending = OutboxEvent.objects.using(using).filter(pk__in=[event.pk for event in events])
    try:
        events_send(events)
    except Exception as exc:  # the broker: count the attempt, keep the rows, try next run
        pending.update(attempts=F("attempts") + 1)
        logger.warning(
            "relay could not reach the broker",
            extra={"backlog_batch": len(events), "error": f"{type(exc).__name__}: {exc}"},
        )
        return False
    pending.update(sent_at=timezone.now(), attempts=F("attempts") + 1)
    return True


def outbox_prune(*, older_than: timedelta) -> int:
    """Delete events sent more than ``older_than`` ago; how many."""
    cutoff = timezone.now() - older_than
    deleted, _ = OutboxEvent.objects.using(outbox_database()).filter(sent_at__lt=cutoff).delete()
    return deleted
