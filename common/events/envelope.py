"""The event as it travels: a JSON envelope, and the ``Event`` a handler receives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.utils.dateparse import parse_datetime

from common.serializers import iso_utc


class MalformedEnvelope(ValueError):
    """A message that is not an event envelope: no retry can make it one."""


@dataclass(frozen=True)
class Event:
    """One event, as a consumer's handler receives it."""

    id: uuid.UUID
    type: str
    source: str
    aggregate_id: str
    version: int
    occurred_at: datetime
    request_id: str | None
    payload: dict


def envelope_build(
    *,
    id: uuid.UUID,
    type: str,
    source: str,
    aggregate_id: str,
    version: int,
    occurred_at: datetime,
    request_id: str | None,
    payload: dict,
) -> dict:
    """The JSON-ready envelope of an event."""
    return {
        "id": str(id),
        "type": type,
        "source": source,
        "aggregate_id": aggregate_id,
        "version": version,
        "occurred_at": iso_utc(occurred_at),
        "request_id": request_id or None,
        "payload": payload,
    }


def event_from_envelope(envelope) -> Event:
    """The ``Event`` an envelope describes; ``MalformedEnvelope`` when it is not one."""
    if not isinstance(envelope, dict):
        raise MalformedEnvelope(f"an envelope is a JSON object, not {type(envelope).__name__}")
    try:
        event = Event(
            id=uuid.UUID(envelope["id"]),
            type=_text(envelope["type"]),
            source=_text(envelope["source"]),
            aggregate_id=_text(envelope["aggregate_id"]),
            version=envelope["version"],
            occurred_at=parse_datetime(envelope["occurred_at"]),
            request_id=envelope.get("request_id") or None,
            payload=envelope["payload"],
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedEnvelope(f"not an event envelope: {type(exc).__name__}: {exc}") from exc
    if not isinstance(event.version, int) or isinstance(event.version, bool) or event.version < 0:
        raise MalformedEnvelope("version must be a non-negative integer")
    if event.occurred_at is None or not isinstance(event.payload, dict):
        raise MalformedEnvelope("occurred_at must be a timestamp and payload an object")
    if event.request_id is not None and not isinstance(event.request_id, str):
        raise MalformedEnvelope("request_id must be a string")
    return event


def _text(value) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected a non-empty string")
    return value
