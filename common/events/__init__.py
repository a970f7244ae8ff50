"""Events between services: a transactional outbox, a relay over Celery, idempotent consumers.

A service never writes another service's database; what another service must
learn travels as an event. Nothing is lost and nothing is applied twice, whatever
fails:

1. **Outbox** (``outbox.event_publish``). The event is a row of ``OutboxEvent``
   written in the transaction of the change it describes: both commit, or
   neither (a rolled-back request publishes nothing).
2. **Relay.** After commit the event is sent at once to the queue of each
   subscribing service (``EVENTS_SUBSCRIBERS``) as a Celery message addressed by
   task name (``<service>.events.consume``), so no project imports another. If
   the broker is unreachable, or a subscriber is behind (its queue longer than
   ``EVENTS_SEND_QUEUE_LIMIT``), the row stays unsent, and the relay task (beat,
   every ``EVENTS_RELAY_INTERVAL`` seconds) sends it, in batches, once it can.
   Sending may happen twice (the row could not be marked sent): consumers cope.
3. **Inbox** (``inbox.events_consume``). The consumer applies each event with the
   service function its settings name (``EVENTS_HANDLERS``) and records the event
   id in ``InboxEvent`` in the same transaction: a redelivered event is seen and
   skipped. For state-carrying types (``EVENTS_STATE_TYPES``) it also keeps the
   newest version applied per aggregate (``AggregateVersion``) and skips older
   ones, so two updates arriving out of order end as the newer one.
4. **Retries and parking.** An event that fails is retried with exponential
   backoff and jitter; after ``EVENTS_MAX_RETRIES`` it is parked
   (``ParkedMessage``) and the rest flow on. An outage of the consumer's own
   database, Redis or broker is retried for as long as it lasts, never parked.
   ``manage.py events`` shows backlog, lag and parked messages, and replays them.

One Django app (``common.events``, label ``events``) holds it all: models, outbox and
relay, inbox and parking, tasks, the ``events`` command and its metrics collector. Its
settings, with their defaults, are ``common.events.settings.events_settings``; a
service plugs in its handlers and its infrastructure errors there, and routes the
``events`` label to its own database.

The message envelope (JSON)::

    {"id": "<uuid>", "type": "user.profile.updated", "source": "users",
     "aggregate_id": "42", "version": 3, "occurred_at": "2026-01-01T00:00:00.000Z",
     "request_id": "<id of the request that caused it>", "payload": {...}}
"""
