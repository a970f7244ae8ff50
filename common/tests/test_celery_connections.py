"""A worker keeps its database connections between tasks, and lets them go as Django would.

Celery's Django fixup runs here as a worker runs it (its handlers on the task
signals, configured from the settings), beside the handlers ``make_celery_app``
connects. A spy on the connection's ``close`` tells whether it was closed (an
in-memory SQLite database ignores the close itself).
"""

from __future__ import annotations

import time
from unittest import mock

import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import DEFAULT_DB_ALIAS, connections

from common.celery import make_celery_app

pytestmark = pytest.mark.django_db(transaction=True)

connection = connections[DEFAULT_DB_ALIAS]


@pytest.fixture
def worker_task():
    """A task of a service's app, run by ``run(task)`` with the signals a worker sends around it."""
    app = make_celery_app("common-tests")
    fixup = DjangoWorkerFixup(app)
    signals.task_prerun.connect(fixup.on_task_prerun)
    signals.task_postrun.connect(fixup.on_task_postrun)

    @app.task(name="common-tests.touch-database")
    def touch_database():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    yield touch_database
    signals.task_prerun.disconnect(fixup.on_task_prerun)
    signals.task_postrun.disconnect(fixup.on_task_postrun)


def run(task, times: int = 1) -> None:
    for number in range(times):
        task_id = f"task-{number}"
        signals.task_prerun.send(sender=task, task_id=task_id, task=task, args=(), kwargs={})
        task.run()
        signals.task_postrun.send(
            sender=task, task_id=task_id, task=task, args=(), kwargs={}, retval=None, state="SUCCESS"
        )


@pytest.fixture
def kept_connection(monkeypatch):
    """The default database's connection, open, kept for CONN_MAX_AGE (60 s, as the services set it)."""
    connection.ensure_connection()
    monkeypatch.setattr(connection, "close_at", time.monotonic() + 60)
    with mock.patch.object(connection, "close", wraps=connection.close) as close:
        yield close


def test_a_connection_serves_task_after_task(worker_task, kept_connection):
    run(worker_task, times=5)

    assert kept_connection.call_count == 0


def test_a_connection_older_than_conn_max_age_is_closed_around_the_next_task(worker_task, kept_connection):
    connection.close_at = time.monotonic() - 1

    run(worker_task)

    assert kept_connection.call_count >= 1


def test_a_task_run_eagerly_leaves_the_callers_connections_alone(worker_task, kept_connection):
    connection.close_at = time.monotonic() - 1

    worker_task.apply()

    assert kept_connection.call_count == 0
