"""Consuming: each event applied once, with its inbox row; failures retried, then parked."""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connections, router, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from common.events.envelope import Event, MalformedEnvelope, event_from_envelope
from common.events.models import AggregateVersion, InboxEvent
from common.events.parking import error_text as _error_text
from common.events.parking import park as _park
from common.events.settings import events_settings
from common.request_context import request_id_var
from common.sql import db_values, insert_row, quoted_table

logger = logging.getLogger(__name__)

# Failures of what the consumer stands on, not of the event: retried for as long as
# they last and never parked (a database outage must not park every event). A service
# adds those of its own infrastructure (EVENTS_INFRASTRUCTURE_ERRORS).
BUILTIN_INFRASTRUCTURE_ERRORS = (
    OperationalError,
    InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
    SoftTimeLimitExceeded,
)
# The exponent stops growing here; the wait is capped by EVENTS_RETRY_BACKOFF_MAX anyway.
MAX_BACKOFF_EXPONENT = 16


class UnknownEventType(Exception):
    """This service has no handler for the type: a deployment problem no retry solves."""


@dataclass
class ConsumeResult:
    """What one delivery of a message did, and what must be delivered again (``retry``) after ``retry_after`` s."""

    applied: int = 0
    duplicate: int = 0
    stale: int = 0
    parked: int = 0
    retry: list = field(default_factory=list)
    retry_after: float = 0.0
    error: str = ""


def retry_backoff(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with jitter (between half and all of it)."""
    ceiling = min(
        events_settings.RETRY_BACKOFF_MAX,
        events_settings.RETRY_BACKOFF * 2 ** min(attempt, MAX_BACKOFF_EXPONENT),
    )
    return random.uniform(ceiling / 2, ceiling)


def infrastructure_errors() -> tuple[type[BaseException], ...]:
    """The built-in infrastructure errors and the service's own (``EVENTS_INFRASTRUCTURE_ERRORS``)."""
    return BUILTIN_INFRASTRUCTURE_ERRORS + _import_errors(tuple(events_settings.INFRASTRUCTURE_ERRORS))


@functools.cache
def _import_errors(paths: tuple[str, ...]) -> tuple[type[BaseException], ...]:
    return tuple(import_string(path) for path in paths)


def inbox_database() -> str:
    return router.db_for_write(InboxEvent)


@functools.cache
def _import_handler(path: str):
    return import_string(path)


def event_handler(event_type: str):
    """The service function applying ``event_type`` here (``EVENTS_HANDLERS``); ``UnknownEventType`` if none."""
    path = events_settings.HANDLERS.get(event_type)
    if path is None:
        raise UnknownEventType(f"{settings.SERVICE_NAME} has no handler for {event_type!r}")
    return _import_handler(path)


def events_consume(*, envelopes, attempt: int) -> ConsumeResult:
    """Apply the events of one message; say what must be retried. ``attempt`` counts from 0.

    - Each event is applied once: a duplicate (already in the inbox) and, for
      state-carrying types, a version not newer than the last applied are skipped.
    - An infrastructure failure (database, Redis) undoes the whole message and
      asks for all of it again, however many attempts it took.
    - An event whose handler fails is asked again until ``EVENTS_MAX_RETRIES``,
      then parked; the others of the message are applied regardless.
    - A message that is no event, or of a type without a handler here, is parked at once.
    """
    result = ConsumeResult()
    if not isinstance(envelopes, list):
        envelopes = [envelopes]
    readable, unreadable = [], []
    for envelope in envelopes:
        try:
            event = event_from_envelope(envelope)
            handler = event_handler(event.type)
        except (MalformedEnvelope, UnknownEventType) as exc:
            unreadable.append((envelope, exc))
        else:
            readable.append((envelope, event, handler))

    # One order for every transaction: two messages about the same aggregates lock
    # their rows in the same sequence and wait for each other instead of deadlocking
    # (and an aggregate's versions are applied oldest first).
    readable.sort(key=_event_order)
    try:
        failed = _apply_all(readable, result)
    except infrastructure_errors() as exc:
        logger.warning(
            "events not applied: retrying",
            extra={"events": len(envelopes), "attempt": attempt + 1, "error": _error_text(exc)},
        )
        result.retry, result.retry_after, result.error = list(envelopes), retry_backoff(attempt), _error_text(exc)
        return result

    to_park = list(unreadable)
    if failed and attempt < events_settings.MAX_RETRIES:
        result.retry, result.retry_after = [envelope for envelope, _ in failed], retry_backoff(attempt)
        result.error = _error_text(failed[0][1])
    else:
        to_park += failed
    if to_park:
        try:
            _park(to_park, attempts=attempt + 1)
            result.parked = len(to_park)
        except infrastructure_errors() as exc:  # never drop it: deliver it again until it can be parked
            result.retry += [envelope for envelope, _ in to_park]
            result.retry_after = retry_backoff(attempt)
            result.error = _error_text(exc)
    return result


def _event_order(item) -> tuple:
    event = item[1]
    return event.source, event.aggregate_id, event.version


class _HandlerFailed(Exception):
    """A handler failed while a batch was applied without savepoints: undo it, go again with them."""


def _apply_all(readable: list[tuple[dict, Event, Callable]], result: ConsumeResult) -> list[tuple[dict, Exception]]:
    """Apply the events in one transaction; the events whose handler failed.

    The usual batch goes through without a savepoint per event: two statements
    (and on PostgreSQL two round trips) fewer per event. When a handler fails,
    that transaction is undone and the batch applied again with a savepoint per
    event, so the failing events are undone alone and the rest commit.
    """
    try:
        done, failed = _apply_in_transaction(readable, isolated=False)
    except _HandlerFailed:
        done, failed = _apply_in_transaction(readable, isolated=True)
    # Said once committed, so a log line never claims what a rollback undid.
    logged = logger.isEnabledFor(logging.INFO)
    for event, outcome, duration_ms in done:
        setattr(result, outcome, getattr(result, outcome) + 1)
        if logged:
            logger.info(
                f"event {outcome}",
                extra={
                    **_event_fields(event),
                    "request_id": event.request_id,
                    "outcome": outcome,
                    "duration_ms": duration_ms,
                },
            )
    return failed


def _apply_in_transaction(readable: list[tuple[dict, Event, Callable]], *, isolated: bool):
    """``(done, failed)`` of applying ``readable`` in one transaction, each event in a savepoint if ``isolated``.

    Not ``isolated``, the first handler failure raises ``_HandlerFailed`` and
    the transaction is rolled back.
    """
    using = inbox_database()
    state_types = frozenset(events_settings.STATE_TYPES)
    failed, done = [], []
    with transaction.atomic(using=using):
        for envelope, event, handler in readable:
            token = request_id_var.set(event.request_id)
            started = time.monotonic()
            try:
                with transaction.atomic(using=using) if isolated else contextlib.nullcontext():
                    outcome = _apply(event, handler, using, state=event.type in state_types)
            except infrastructure_errors():
                raise
            except Exception as exc:  # the handler failed on this event: retried or parked, the rest go on
                if not isolated:
                    raise _HandlerFailed from exc
                logger.warning("event failed", extra={**_event_fields(event), "error": _error_text(exc)})
                failed.append((envelope, exc))
            else:
                done.append((event, outcome, round((time.monotonic() - started) * 1000, 2)))
            finally:
                request_id_var.reset(token)
    return done, failed


def _apply(event: Event, handler: Callable, using: str, *, state: bool) -> str:
    """One event: "applied", "duplicate" or "stale"; whatever ``handler`` raises goes to the caller.

    The inbox row goes first, so a concurrent duplicate waits on it (PostgreSQL)
    and then finds it there. ``state``: the event's type is a state type (versions kept).
    """
    if not _inbox_record(event, using):
        return "duplicate"
    if state and not _version_advance(event, using):
        InboxEvent.objects.using(using).filter(pk=event.id).update(outcome=InboxEvent.Outcome.STALE)
        return "stale"
    handler(event=event)
    return "applied"


def _version_advance(event: Event, using: str) -> bool:
    """Record ``event.version`` as the aggregate's newest; ``False`` when it is not newer than the last applied.

    One conditional ``UPDATE`` in the usual case. Its row lock makes a concurrent
    consumer of the same aggregate wait, then see the newer version.
    """
    connection = connections[using]
    table, fields = quoted_table(AggregateVersion, using)
    (updated_at,) = db_values(AggregateVersion, using, {"updated_at": timezone.now()})
    update = (
        f"UPDATE {table} SET {fields['version']} = %s, {fields['updated_at']} = %s "
        f"WHERE {fields['source']} = %s AND {fields['aggregate_id']} = %s AND {fields['version']} < %s"
    )

    def advance() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(update, [event.version, updated_at, event.source, event.aggregate_id, event.version])
            return cursor.rowcount > 0

    if advance():
        return True
    try:
        with transaction.atomic(using=using):
            AggregateVersion.objects.using(using).create(
                source=event.source, aggregate_id=event.aggregate_id, version=event.version
            )
        return True
    except IntegrityError:
        # The aggregate has a version: one as new or newer (stale), or one a
        # concurrent consumer just committed, which may be older.
        return advance()


# The consumer's statements per event are written in SQL (common.sql).


def _inbox_record(event: Event, using: str) -> bool:
    """Insert the event's inbox row; ``False`` when it is there already (a duplicate)."""
    values = {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "aggregate_id": event.aggregate_id,
        "version": event.version,
        "outcome": InboxEvent.Outcome.APPLIED.value,
        "applied_at": timezone.now(),
    }
    return insert_row(InboxEvent, using, values, unless_conflict_on="id") == 1


def inbox_prune(*, older_than: timedelta) -> int:
    """Forget events applied more than ``older_than`` ago; how many."""
    cutoff = timezone.now() - older_than
    deleted, _ = InboxEvent.objects.using(inbox_database()).filter(applied_at__lt=cutoff).delete()
    return deleted


def _event_fields(event: Event) -> dict:
    return {
        "event_id": str(event.id),
        "event_type": event.type,
        "source": event.source,
        "aggregate_id": event.aggregate_id,
        "version": event.version,
    }

