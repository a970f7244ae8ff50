"""The stalled-consumer watchdog's judgement (its restart of a real worker: tests/test_event_faults.py)."""

from __future__ import annotations

import threading

import pytest

from common.worker_watchdog import ConsumerWatchdog, StallClock


def test_messages_waiting_unheld_and_unreceived_for_the_timeout_are_a_stall():
    clock = StallClock(timeout=10)
    assert clock.observe(now=100, waiting=3, held=0, received=False) is False
    assert clock.observe(now=105, waiting=3, held=0, received=False) is False
    assert clock.observe(now=110, waiting=5, held=0, received=False) is True


@pytest.mark.parametrize(
    "interruption",
    [
        {"waiting": 0, "held": 0, "received": False},  # the queue emptied
        {"waiting": 3, "held": 1, "received": False},  # the worker is busy with a message
        {"waiting": 3, "held": 0, "received": True},  # it took one since the last look
        {"waiting": None, "held": 0, "received": False},  # the broker did not answer
    ],
)
def test_anything_showing_progress_or_no_verdict_starts_the_count_again(interruption):
    clock = StallClock(timeout=10)
    clock.observe(now=100, waiting=3, held=0, received=False)
    assert clock.observe(now=108, **interruption) is False
    assert clock.observe(now=112, waiting=3, held=0, received=False) is False
    assert clock.observe(now=122, waiting=3, held=0, received=False) is True


class FakeWorker:
    """What the step reads off a worker: a pool and its processes' ids."""

    class pool:  # noqa: N801
        class _pool:  # noqa: N801
            _pool = [type("Process", (), {"pid": 4242})()]


def watch_until_restart(step: ConsumerWatchdog, waiting_values: list[int | None]) -> list[int]:
    """Run the step's loop on scripted queue lengths; the pool pids handed to ``restart``."""
    answers = iter(waiting_values)

    def waiting(queues):
        value = next(answers, None)
        if value is None:  # the script ran out: this is the last look
            step.stopping.set()
        return value

    step.waiting = waiting
    restarted: list[list[int]] = []

    def restart(pids):
        restarted.append(pids)

    thread = threading.Thread(
        target=step.watch,
        kwargs={"queues": ["auth"], "clock": StallClock(timeout=0.03), "interval": 0.01, "restart": restart},
    )
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    return restarted[0] if restarted else []


def test_a_stall_restarts_the_worker_with_its_pool_processes_named():
    step = ConsumerWatchdog(FakeWorker())
    assert watch_until_restart(step, [2] * 500) == [4242]


def test_a_worker_keeping_up_is_never_restarted():
    step = ConsumerWatchdog(FakeWorker())
    step.received.set()
    assert watch_until_restart(step, [2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0]) == []
