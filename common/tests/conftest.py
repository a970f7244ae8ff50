"""Fixtures of the event machinery's tests: a real Redis broker, and queues no other test uses."""

from __future__ import annotations

import base64
import json
import uuid
from contextlib import contextmanager

import pytest
import redis
from celery import Celery, current_app


class Broker:
    """A Celery app on a real Redis, current while a test runs, and a look at what was sent."""

    def __init__(self, url: str):
        self.url = url
        self.app = Celery("common-tests", broker=url, set_as_current=False)
        self.app.conf.update(
            task_serializer="json",
            accept_content=["json"],
            broker_transport_options={"socket_connect_timeout": 1},
        )
        self.client = redis.Redis.from_url(url)
        self.queues: list[str] = []

    def new_queue(self) -> str:
        """A queue name of this test only."""
        name = f"test-{uuid.uuid4().hex[:12]}"
        self.queues.append(name)
        return name

    def messages(self, queue: str) -> list[tuple[str, list]]:
        """(task name, args) of each message waiting in ``queue``, oldest first."""
        try:
            raw = self.client.lrange(queue, 0, -1)
        except redis.RedisError:
            return []
        found = []
        for item in reversed(raw):  # kombu pushes on the left, consumers pop on the right
            message = json.loads(item)
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found.append((message["headers"]["task"], args))
        return found

    def close(self) -> None:
        try:
            if self.queues:
                self.client.delete(*self.queues)
        except redis.RedisError:
            pass
        self.app.close()
        self.client.close()


@contextmanager
def current_broker(url: str, settings):
    previous = current_app._get_current_object()
    broker = Broker(url)
    broker.app.set_current()
    settings.CELERY_BROKER_URL = url
    try:
        yield broker
    finally:
        previous.set_current()
        broker.close()


@pytest.fixture
def broker(redis_url, settings):
    """The current Celery app (and ``CELERY_BROKER_URL``) on the test Redis."""
    with current_broker(redis_url, settings) as broker:
        yield broker


@pytest.fixture
def broker_down(unreachable_redis_url, settings):
    """The current Celery app (and ``CELERY_BROKER_URL``) on a Redis nobody answers."""
    with current_broker(unreachable_redis_url, settings) as broker:
        yield broker


@pytest.fixture
def subscribed(settings, broker):
    """``subscribed("test.fact", ...)``: each type sent to a fresh queue of this test; returns the queue."""

    def subscribe(*types: str) -> str:
        queue = broker.new_queue()
        settings.EVENTS_SUBSCRIBERS = {**settings.EVENTS_SUBSCRIBERS, **{name: [queue] for name in types}}
        return queue

    return subscribe
