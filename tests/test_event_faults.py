"""Events when things fail, injected for real: the broker stopped, a worker killed, a database gone, poison.

Every test checks that nothing is lost (the event is applied in the end) and
nothing is doubled (applied exactly once, whatever was delivered).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import redis

from accounts import call, login, new_account, register, unique_email
from event_support import (
    PROJECT_DIR,
    REPO_ROOT,
    broker_url,
    consumer_writes_blocked,
    credential,
    database_down,
    hold_back,
    inbox,
    kill,
    log_count,
    logged_once,
    manage,
    manage_json,
    outbox,
    queue_key,
    queued_events,
    release,
    send_events,
    wait_until,
)


def put_email(system, account, email: str) -> str:
    """Change the account's email through the gateway; the id of the event it published."""
    status, _, answer = call(system.gateway_url, "PUT", "/api/profile", {"email": email}, token=account["token"])
    assert status == 200, answer
    return outbox(system, "users", account["id"], "user.profile.updated")[-1]["id"]


def applied(system, service: str, event_id: str, timeout: float = 60.0) -> str:
    try:
        return wait_until(lambda: inbox(system, service, [event_id]).get(event_id), timeout=timeout, what=event_id)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{what_the_workers_were_doing(system)}") from None


def what_the_workers_were_doing(system) -> str:
    """The queues' lengths and the workers' last log lines: why an event may not have arrived."""
    client = redis.Redis.from_url(broker_url(system), socket_timeout=2, socket_connect_timeout=2)
    try:
        queues = {queue: client.llen(queue_key(system, queue)) for queue in ("users", "auth")}
    except redis.RedisError as exc:
        queues = {"broker": repr(exc)}
    finally:
        client.close()
    lines = [f"queued at the broker: {queues}"]
    for name in ("users-worker", "auth-worker", "users-beat"):
        lines += [f"{name} | {json.dumps(entry)}" for entry in system.sink.json_lines(name)[-8:]]
    return "\n".join(lines)


def received(logs, event_id: str, **match):
    """A predicate on the auth worker's "events received" lines about ``event_id``."""

    def predicate(entry: dict) -> bool:
        return (
            entry.get("message") == "events received"
            and event_id in (entry.get("event_ids") or [])
            and all(entry.get(key) == value for key, value in match.items())
        )

    return predicate


def test_the_broker_down_while_users_register_and_edit_profiles(broker_system):
    system, logs, broker = broker_system
    account = new_account(system.gateway_url, "outage")
    new_email, newcomer = unique_email("during-outage"), unique_email("registered-in-outage")

    broker.stop()
    try:
        status, registered = register(system.gateway_url, newcomer)
        assert status == 201, registered
        update_id = put_email(system, account, new_email)
        registered_id = outbox(system, "users", registered["user"]["id"])[0]["id"]
        for user_id in (account["id"], registered["user"]["id"]):
            assert all(event["sent_at"] is None for event in outbox(system, "users", user_id)[-1:])
        assert login(system.gateway_url, new_email)[0] == 401  # nothing can have carried it yet
    finally:
        broker.start()

    assert applied(system, "auth", update_id) == "applied"
    assert applied(system, "auth", registered_id) == "applied"
    assert login(system.gateway_url, new_email)[0] == 200
    assert login(system.gateway_url, account["email"])[0] == 401
    assert login(system.gateway_url, newcomer)[0] == 200
    for event_id in (update_id, registered_id):
        assert logged_once(logs, "auth-worker", "event applied", event_id)
    wait_until(lambda: outbox(system, "users", account["id"])[-1]["sent_at"], what="the relay marking it sent")


def test_one_redis_for_everything_down_registration_succeeds_and_tokens_fail_closed(broker_system):
    # With the broker and the cache/revocation store both down, the services see exactly
    # what they see when one Redis holds everything (the default) and it goes away.
    system, logs, broker = broker_system
    email = unique_email("no-redis")

    system.stop_process("redis")
    broker.stop()
    try:
        status, registered = register(system.gateway_url, email)
        assert status == 201, registered
        status, _, answer = call(system.gateway_url, "GET", "/api/profile", token=registered["token"])
        assert (status, answer) == (503, {"error": "Service unavailable"})
    finally:
        broker.start()
        system.start_process("redis")
        system.wait_ready(["redis"], 30)

    event_id = outbox(system, "users", registered["user"]["id"])[0]["id"]
    assert applied(system, "auth", event_id) == "applied"
    assert logged_once(logs, "auth-worker", "event applied", event_id)
    assert call(system.gateway_url, "GET", "/api/profile", token=registered["token"])[0] == 200


def test_a_worker_killed_in_the_middle_of_a_task_hands_it_to_another_and_the_effect_happens_once(broker_system):
    system, logs, _ = broker_system
    account = new_account(system.gateway_url, "killed")
    new_email = unique_email("after-kill")

    # The consumer will wait on this lock half-way through its transaction: the
    # kill finds it in the middle of the task, its inbox row not yet committed.
    with consumer_writes_blocked(system, "auth", account["id"]):
        event_id = put_email(system, account, new_email)
        first = logs.wait_for("auth-worker", received(logs, event_id), timeout=30)
        kill(first["pid"])
        second = logs.wait_for(
            "auth-worker", lambda entry: received(logs, event_id)(entry) and entry["pid"] != first["pid"], timeout=30
        )
    assert applied(system, "auth", event_id) == "applied"

    assert second["pid"] != first["pid"]
    assert logged_once(logs, "auth-worker", "event applied", event_id)
    assert login(system.gateway_url, new_email)[0] == 200
    assert login(system.gateway_url, account["email"])[0] == 401
    assert "auth-worker" not in dict(system.exited())


def test_events_delivered_twice_and_out_of_order_end_as_if_each_came_once_in_order(broker_system):
    system, logs, _ = broker_system
    account = new_account(system.gateway_url, "reordered")
    first_email, last_email = unique_email("first"), unique_email("last")
    applied(system, "auth", outbox(system, "users", account["id"])[0]["id"])  # nothing of this user in flight

    system.stop_process("auth-worker")
    try:
        first_id = put_email(system, account, first_email)
        last_id = put_email(system, account, last_email)
        waiting = wait_until(
            lambda: (lambda found: {first_id, last_id} <= found.keys() and found)(queued_events(system, "auth")),
            what="both events waiting on the auth queue",
        )
        # The network holds the first change back: the second is delivered first.
        hold_back(system, "auth", waiting[first_id][0])
    finally:
        system.start_process("auth-worker")
        system.wait_ready(["auth-worker"], 60)
    assert applied(system, "auth", last_id) == "applied"
    assert login(system.gateway_url, last_email)[0] == 200

    # Then the held-back first change arrives, and both are delivered again.
    release(system, "auth", waiting[first_id][0])
    send_events(system, "auth", [waiting[first_id][1]])
    send_events(system, "auth", [waiting[last_id][1], waiting[first_id][1]])

    wait_until(
        lambda: log_count(logs, "auth-worker", "event duplicate", first_id) == 2
        and log_count(logs, "auth-worker", "event duplicate", last_id) == 1,
        what="every delivery consumed",
    )
    assert inbox(system, "auth", [first_id, last_id]) == {first_id: "stale", last_id: "applied"}
    assert logged_once(logs, "auth-worker", "event applied", last_id)
    assert logged_once(logs, "auth-worker", "event stale", first_id)
    assert credential(system, account["id"])[0] == last_email
    assert login(system.gateway_url, last_email)[0] == 200
    assert login(system.gateway_url, first_email)[0] == 401


def test_the_consuming_database_down_the_task_retries_and_succeeds_when_it_returns(broker_system):
    system, logs, _ = broker_system
    account = new_account(system.gateway_url, "db-down")
    new_email = unique_email("after-db")

    with database_down(system, "auth"):
        event_id = put_email(system, account, new_email)
        logs.wait_for("auth-worker", received(logs, event_id, attempt=3), timeout=60)
    assert applied(system, "auth", event_id) == "applied"

    assert logged_once(logs, "auth-worker", "event applied", event_id)
    assert manage_json(system, "auth", "events", "status", "--json")["parked"] == 0
    assert login(system.gateway_url, new_email)[0] == 200


def test_a_poison_message_is_parked_after_its_retries_and_later_messages_keep_flowing(broker_system):
    system, logs, _ = broker_system
    poison = {
        "id": str(uuid.uuid4()),
        "type": "user.profile.updated",
        "source": "users",
        "aggregate_id": "424242",
        "version": 1,
        "occurred_at": datetime.now(timezone.utc).isoformat(),
        "request_id": "e2e-poison",
        "payload": {"user_id": "not a user id", "email": "x@example.com", "is_active": True},
    }
    account = new_account(system.gateway_url, "flowing")
    new_email = unique_email("flowing")

    send_events(system, "auth", [poison])
    event_id = put_email(system, account, new_email)

    assert applied(system, "auth", event_id) == "applied"
    assert login(system.gateway_url, new_email)[0] == 200
    logs.wait_for("auth-worker", lambda e: e.get("message") == "message parked" and e.get("event_id") == poison["id"])
    [parked] = manage_json(system, "auth", "events", "parked", "--json")
    assert (parked["event_id"], parked["event_type"], parked["attempts"]) == (poison["id"], "user.profile.updated", 4)
    assert parked["error"].startswith("ValueError")
    assert manage_json(system, "auth", "events", "status", "--json")["parked"] == 1
    assert poison["id"] not in inbox(system, "auth", [poison["id"]])

    # Replayed, it is retried from the start, and parked again: nothing lost, nothing applied.
    assert "replayed 1 parked message(s)" in manage(system, "auth", "events", "replay", "--all")
    wait_until(
        lambda: [m["event_id"] for m in manage_json(system, "auth", "events", "parked", "--json")] == [poison["id"]]
        and log_count(logs, "auth-worker", "message parked", poison["id"]) == 2,
        what="the replayed poison parked again",
    )


def test_a_worker_whose_consumer_stalls_restarts_itself_in_place_and_the_event_arrives(broker_system):
    # Celery's control command makes the auth worker stop taking messages from its
    # queue, as the Redis transport sometimes does after a reconnect: the process
    # lives on, the queue fills. Its watchdog must notice and start it again.
    system, logs, _ = broker_system
    account = new_account(system.gateway_url, "stalled")
    new_email = unique_email("after-stall")
    worker = system.processes["auth-worker"].popen
    stalls_before = len([e for e in logs.json_lines("auth-worker") if e.get("message") == STALLED])

    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "control", "cancel_consumer", "auth",
         "--destination", f"auth@{socket.gethostname()}", "--timeout", "5"],
        cwd=REPO_ROOT / PROJECT_DIR["auth"], env=system.config.env, check=True, capture_output=True, timeout=60,
    )
    event_id = put_email(system, account, new_email)

    wait_until(
        lambda: len([e for e in logs.json_lines("auth-worker") if e.get("message") == STALLED]) > stalls_before,
        timeout=60, what="the watchdog's restart",
    )
    assert applied(system, "auth", event_id) == "applied"
    assert login(system.gateway_url, new_email)[0] == 200
    assert worker.poll() is None and system.processes["auth-worker"].popen is worker  # the same process


STALLED = "worker restarting: its consumer stalled"


def test_the_broker_gone_while_a_worker_is_in_the_middle_of_a_task_the_worker_lives_on(broker_system):
    # The worker loses its broker holding a message it cannot acknowledge: kombu's
    # close of that connection used to crash the worker (common.worker_watchdog.Consumer).
    system, logs, broker = broker_system
    account = new_account(system.gateway_url, "mid-task")
    new_email, later_email = unique_email("mid-task"), unique_email("after-mid-task")
    losses_before = len(connection_losses(logs))

    with consumer_writes_blocked(system, "auth", account["id"]):
        event_id = put_email(system, account, new_email)
        logs.wait_for("auth-worker", received(logs, event_id), timeout=30)
        broker.stop()
        wait_until(lambda: len(connection_losses(logs)) > losses_before, what="the worker noticing the broker gone")
    try:
        assert applied(system, "auth", event_id) == "applied"  # the task went on without its broker
    finally:
        broker.start()

    assert "auth-worker" not in dict(system.exited())
    later_id = put_email(system, account, later_email)
    assert applied(system, "auth", later_id) == "applied"
    assert login(system.gateway_url, later_email)[0] == 200
    assert logged_once(logs, "auth-worker", "event applied", event_id)


def connection_losses(logs) -> list[dict]:
    return [
        entry for entry in logs.json_lines("auth-worker")
        if str(entry.get("message", "")).startswith("consumer: Connection to broker lost")
    ]


def test_a_long_broker_outage_the_worker_keeps_trying_every_few_seconds_then_consumes(broker_system):
    # Celery's own waits between attempts grow to 30 s; with them a worker sat idle
    # long after its broker came back (common.broker_transport.Consumer).
    system, logs, broker = broker_system
    account = new_account(system.gateway_url, "long-outage")
    new_email = unique_email("after-long-outage")
    attempts_before = len(reconnect_waits(logs))

    broker.stop()
    try:
        update_id = put_email(system, account, new_email)
        wait_until(lambda: len(reconnect_waits(logs)) >= attempts_before + 6, timeout=90, what="six attempts")
        waits = reconnect_waits(logs)[attempts_before:]
    finally:
        broker.start()

    assert waits[:2] == [1.0, 2.0] and max(waits) == 2.0, waits  # Celery alone: 2, 4, 6 ... 30
    assert applied(system, "auth", update_id) == "applied"
    assert login(system.gateway_url, new_email)[0] == 200
    assert "auth-worker" not in dict(system.exited())


def reconnect_waits(logs) -> list[float]:
    """The auth worker's announced waits before its next attempt to reach the broker, in order."""
    import re

    waits = []
    for entry in logs.json_lines("auth-worker"):
        found = re.search(r"Trying again in ([0-9.]+) seconds?", str(entry.get("message", "")))
        if found:
            waits.append(float(found.group(1)))
    return waits
