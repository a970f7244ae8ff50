"""Celery settings of a service's worker and beat (``common.celery``); each service sets its queue and schedule."""

from common.env import env
from common.settings.core import REDIS_URL

# CELERY: at-least-once delivery on Redis
# ------------------------------------------------------------------------------
# Acknowledge after the task ran, give a task back to the queue when its worker
# dies, one visibility timeout for every transport, JSON only so no pickled
# object crosses a service boundary. Each project sets its broker and queue.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# A task not acknowledged within the visibility timeout (its worker vanished
# without handing it back) is delivered again. Connecting gives up after 2 s, so
# a request publishing an event while the broker is unreachable is not held up:
# the outbox keeps the event and the relay sends it later (common.events). A key
# prefix keeps the queues of systems sharing one Redis apart (the test runs).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "global_keyprefix": env.str("CELERY_BROKER_KEY_PREFIX", default=""),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# kombu's Redis transport, without a crash of the worker when the broker goes away
# mid-task (common/broker_transport.py).
CELERY_BROKER_TRANSPORT = "common.broker_transport:Transport"
# A worker never gives up on its broker, and tries again at least every few seconds
# (common.broker_transport.Consumer): a backlog is consumed soon after an outage.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CONSUMER = "common.broker_transport:Consumer"
CELERY_BROKER_RECONNECT_MAX_INTERVAL = env.float("CELERY_BROKER_RECONNECT_MAX_INTERVAL", default=2.0)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Leave stdout/stderr alone: the JSON log handler already owns the output.
CELERY_WORKER_REDIRECT_STDOUTS = False
CELERY_TIMEZONE = "UTC"
# Celery's Django fixup closes a worker's database connections around every task
# unless this is set, and then only every this many tasks: CONN_MAX_AGE and
# Django's health rules decide instead, around each task (common.celery).
CELERY_DB_REUSE_MAX = 10_000
# A worker whose queue has had messages waiting this many seconds while it held
# and received none restarts itself in place (common.worker_watchdog: Celery's
# Redis consumer can stall after a broker reconnect). 0 turns that off.
CELERY_WORKER_STALL_TIMEOUT = env.float("CELERY_WORKER_STALL_TIMEOUT", default=60.0)
