"""Events between services: a transactional outbox, a relay over Celery, idempotent consumers.

One Django app (label ``events``): models, outbox and relay (``outbox``), inbox and
parking (``inbox``, ``parking``), tasks, the ``events`` command and its metrics
collector; settings with defaults in ``settings.events_settings``. It knows no
service: a service plugs in its handlers (``EVENTS_HANDLERS``) and infrastructure
errors (``EVENTS_INFRASTRUCTURE_ERRORS``) and routes the label to its database.
How an event travels, what is retried and parked, and the envelope: docs/events.md.
"""
