#!/usr/bin/env python
"""How fast a backlog of events drains: 10,000 user.profile.updated events into the auth service.

    .venv/bin/python bench/events_drain.py [--events 10000] [--users 200] [--scenario outbox|queue|both]

Starts the whole system on embedded defaults (SQLite, embedded Redis) with the
Celery broker on a Redis of its own, registers users, then builds a backlog of
profile changes (PUT /api/profile through the gateway, 8 clients) and measures
how fast the auth service applies it (its inbox filling up):

- outbox: the broker is stopped while the changes are made, so every event
  waits in the users service's outbox; then the broker starts again and the
  relay sends the backlog in batches (EVENTS_BATCH_SIZE events per message);
- queue: the auth worker is stopped while the changes are made, so every event
  waits on the broker, one message each (as sent after each commit); then the
  worker starts again.

Prints, per scenario, events/s from the moment the backlog is released (broker
or worker started) to the last event applied, and the steady rate between the
first and the last event applied. Target (issue 4): at least 1,000 events/s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from events_support import Client, database_label, query, register_users, running_system, timestamp

APPLIED = "SELECT COUNT(*) FROM common_inboxevent WHERE type = 'user.profile.updated'"
UNSENT = "SELECT COUNT(*) FROM common_outboxevent WHERE sent_at IS NULL"


def make_changes(client: Client, users: list[dict], count: int, round_: str) -> float:
    """``count`` name changes spread over ``users``; the seconds it took."""
    started = time.monotonic()

    def change(n: int) -> None:
        user = users[n % len(users)]
        status, answer = client.call("PUT", "/api/profile", {"name": f"{round_}-{n}"}, token=user["token"])
        assert status == 200, answer

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(change, range(count)))
    return time.monotonic() - started


def wait_applied(system, target: int, timeout: float = 600.0) -> float:
    deadline = time.monotonic() + timeout
    while query(system, "auth", APPLIED)[0][0] < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"backlog not drained in {timeout:.0f} s")
        time.sleep(0.05)
    return time.monotonic()


def steady_rate(system, count: int) -> float:
    """Events/s between the first and the last of the ``count`` most recently applied, by their applied_at."""
    rows = query(
        system,
        "auth",
        "SELECT applied_at FROM common_inboxevent WHERE type = 'user.profile.updated' "
        "ORDER BY applied_at DESC LIMIT %s",
        (count,),
    )
    times = sorted(timestamp(row[0]) for row in rows)
    return (len(times) - 1) / max((times[-1] - times[0]).total_seconds(), 1e-9)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its live children: a Celery worker and its pool."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for process in [pid, *map(int, children)]:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def outbox_scenario(system, broker, client: Client, users: list[dict], count: int) -> dict:
    before = query(system, "auth", APPLIED)[0][0]
    broker.stop()
    try:
        made = make_changes(client, users, count, "outbox")
        backlog = query(system, "users", UNSENT)[0][0]
    finally:
        cpu_before = cpu_seconds(system.processes["auth-worker"].pid)
        released = time.monotonic()
        broker.start()
    done = wait_applied(system, before + count)
    cpu = cpu_seconds(system.processes["auth-worker"].pid) - cpu_before
    steady = steady_rate(system, count)
    return {"made": made, "backlog": backlog, "seconds": done - released, "steady": steady, "cpu": cpu}


def queue_scenario(system, client: Client, users: list[dict], count: int) -> dict:
    before = query(system, "auth", APPLIED)[0][0]
    system.stop_process("auth-worker")
    try:
        # Each message went to the broker as its commit returned, before the answer.
        made = make_changes(client, users, count, "queue")
    finally:
        system.start_process("auth-worker")
        system.wait_ready(["auth-worker"], 60)
        cpu_before = cpu_seconds(system.processes["auth-worker"].pid)
        released = time.monotonic()
    done = wait_applied(system, before + count)
    cpu = cpu_seconds(system.processes["auth-worker"].pid) - cpu_before
    steady = steady_rate(system, count)
    return {"made": made, "backlog": count, "seconds": done - released, "steady": steady, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--scenario", choices=["outbox", "queue", "both"], default="both")
    parser.add_argument("--log-level", default="INFO")
    options = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as var_dir, running_system(var_dir, options.log_level) as (system, broker):
        client = Client(system.gateway_url)
        users = register_users(client, options.users, "drain")
        make_changes(client, users, 200, "warm-up")
        wait_applied(system, 200)
        if options.scenario in ("outbox", "both"):
            results["outbox"] = outbox_scenario(system, broker, client, users, options.events)
        if options.scenario in ("queue", "both"):
            results["queue"] = queue_scenario(system, client, users, options.events)
        label = database_label(system)
    print(
        f"{options.events} user.profile.updated events into the auth service, {label}, {os.cpu_count()} cores, "
        f"LOG_LEVEL={options.log_level}"
    )
    for name, figures in results.items():
        label = {"outbox": "backlog in the outbox (broker was down)", "queue": "backlog on the queue (worker was down)"}
        print(
            f"{label[name]:<42} {options.events / figures['seconds']:6.0f} events/s from release "
            f"({figures['seconds']:.1f} s), steady {figures['steady']:6.0f} events/s; "
            f"auth worker {1000 * figures['cpu'] / options.events:.2f} ms CPU per event; "
            f"backlog made in {figures['made']:.1f} s"
        )


if __name__ == "__main__":
    main()
