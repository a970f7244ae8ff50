"""Celery's Redis transport (kombu's), without one way a broker outage kills a worker.

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

Selected by ``CELERY_BROKER_TRANSPORT`` (``common/settings_base.py``); broker URLs
stay ``redis://``.
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:  # the connection this channel belonged to was dropped
            raise RedisConnectionError("this channel's broker connection was closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
