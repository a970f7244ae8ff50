"""The broker connection: kombu's Redis transport, and Celery's consumer, made to ride out outages.

**The transport**, without one way a broker outage kills a worker.

When the broker goes away while a worker holds a message it has not yet
acknowledged (late acks: its task is still running), Celery drops the lost
connection, and kombu lets go of the connection details of every channel on it.
Two things then still reach for those details through the old channel: giving
the unacknowledged message back as the channel closes, and acknowledging it
when the task ends. Both raised ``AttributeError`` (``'NoneType' object has no
attribute 'hostname'``), which Celery counts as an unrecoverable error, so the
worker exited and nothing consumed its queue any more.

Here the old channel answers them with the connection error it is: Celery logs
that it could not acknowledge the message and reconnects. The message stays in
the broker's set of unacknowledged messages and is delivered again after the
visibility timeout, where the consumer's inbox finds it already applied.

Selected by ``CELERY_BROKER_TRANSPORT`` (``common/settings/celery.py``); broker URLs
stay ``redis://``.

**The consumer** (``CELERY_WORKER_CONSUMER``), reconnecting promptly. Celery's waits
between reconnection attempts grow by 2 s up to 30 s, so a worker whose broker was
down for a minute sat idle for up to half a minute after it came back, with the
backlog of the outage waiting. Here they grow by 1 s up to
``CELERY_BROKER_RECONNECT_MAX_INTERVAL`` (2 s); an attempt is one refused
connection, cheap for both sides.
"""

from __future__ import annotations

import functools

from celery.worker.consumer import Consumer as CeleryConsumer
from django.conf import settings
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:  # the connection this channel belonged to was dropped
            raise RedisConnectionError("this channel's broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel


class Consumer(CeleryConsumer):
    def ensure_connected(self, conn):
        # Celery calls ``conn.ensure_connection`` with kombu's default waits; give it ours.
        conn.ensure_connection = functools.partial(
            conn.ensure_connection,
            interval_start=1,
            interval_step=1,
            interval_max=settings.CELERY_BROKER_RECONNECT_MAX_INTERVAL,
        )
        try:
            return super().ensure_connected(conn)
        finally:
            del conn.ensure_connection
