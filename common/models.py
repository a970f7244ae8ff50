"""No models: the event tables moved to the ``events`` app (``common.events.models``).

The old import path (``from common.models import OutboxEvent``) still answers,
lazily, for code not yet moved to the new one: importing this module (Django
does, for the ``common`` app) loads no model, so a project may install
``common`` without ``common.events``.
"""

from __future__ import annotations

_MOVED = frozenset({"OutboxEvent", "InboxEvent", "AggregateVersion", "ParkedMessage"})


def __getattr__(name: str):
    if name in _MOVED:
        from common.events import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
