"""A Celery worker that stopped taking messages from its queue restarts itself.

Celery's Redis transport can come back from a lost broker connection with a
consumer that no longer takes anything from its queue, while the process looks
healthy (celery/celery#8030, #8091, #9054, #10205, #10302: fixed and reported
again release after release). Messages then wait until someone restarts the
worker. This step is that someone: a thread in the worker's main process looks
at the worker's queues every few seconds, and when messages have been waiting
there for ``CELERY_WORKER_STALL_TIMEOUT`` seconds while the worker held none and
received none, it logs why and starts the worker again in place (same process
id, same command line), so a supervisor (``manage_all.py up``, Compose,
Kubernetes) sees nothing but the log lines.

Nothing is lost by it: the worker holds no message when it restarts, and a
message it had taken but not acknowledged goes back to the queue (late acks).
``CELERY_WORKER_STALL_TIMEOUT = 0`` turns the watchdog off.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from celery import bootsteps, signals
from celery.worker import state as worker_state

logger = logging.getLogger(__name__)


class StallClock:
    """Decides, one observation at a time, whether a consumer has stalled.

    A consumer has stalled when messages have waited on its queues for
    ``timeout`` seconds in a row while it held no message and received none.
    Any observation that breaks that (an empty queue, a message held or received,
    a broker that does not answer) starts the count again.
    """

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.waiting_since: float | None = None

    def observe(self, *, now: float, waiting: int | None, held: int, received: bool) -> bool:
        """Record what was seen at ``now``; true once the stall has lasted ``timeout`` seconds."""
        if not waiting or held or received:  # ``None``: the broker did not answer, nothing to judge
            self.waiting_since = None
            return False
        if self.waiting_since is None:
            self.waiting_since = now
        return now - self.waiting_since >= self.timeout


def restart_in_place(pool_pids: list[int]) -> None:
    """Replace this process with a fresh start of the same command; its pool's children go first."""
    for pid in pool_pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


class ConsumerWatchdog(bootsteps.StartStopStep):
    """The worker step running the watchdog thread (``make_celery_app`` adds it to every worker)."""

    label = "consumer watchdog"
    requires = ("celery.worker.components:Pool",)

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.worker = worker
        self.stopping = threading.Event()
        self.received = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, worker) -> None:
        from django.conf import settings

        timeout = float(getattr(settings, "CELERY_WORKER_STALL_TIMEOUT", 0) or 0)
        if timeout <= 0:
            return
        signals.task_received.connect(self._on_received, weak=False)
        queues = sorted(worker.app.amqp.queues.consume_from)
        self.thread = threading.Thread(
            target=self.watch,
            kwargs={"queues": queues, "clock": StallClock(timeout), "interval": min(5.0, timeout / 4)},
            name="consumer-watchdog",
            daemon=True,
        )
        self.thread.start()

    def stop(self, worker) -> None:
        self.stopping.set()

    def _on_received(self, **kwargs) -> None:
        self.received.set()

    def watch(self, *, queues: list[str], clock: StallClock, interval: float,
              restart: Callable[[list[int]], None] = restart_in_place) -> None:
        while not self.stopping.wait(interval):
            received = self.received.is_set()
            self.received.clear()
            waiting = self.waiting(queues)
            held = len(worker_state.reserved_requests)
            if clock.observe(now=time.monotonic(), waiting=waiting, held=held, received=received):
                logger.error(
                    "worker restarting: its consumer stalled",
                    extra={"queues": queues, "waiting": waiting, "stalled_seconds": clock.timeout},
                )
                restart(self.pool_pids())
                return

    @staticmethod
    def waiting(queues: list[str]) -> int | None:
        """Messages waiting on ``queues`` at the broker; ``None`` when it does not answer."""
        from common.events.status import queued

        counts = [queued(queue) for queue in queues]
        return None if None in counts else sum(counts)  # the broker down or slow: nothing to blame on the consumer

    def pool_pids(self) -> list[int]:
        processes = getattr(getattr(getattr(self.worker, "pool", None), "_pool", None), "_pool", None) or []
        return [process.pid for process in processes if getattr(process, "pid", None)]
