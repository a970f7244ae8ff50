"""``manage_all.py up`` as a person runs it: it says when it is ready, and Ctrl-C leaves nothing behind."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import system_environment_with_databases
from http_client import request, wait_for_status
from manage_all import REPO_ROOT


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, pending = set(), [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def celery_log_levels(pids) -> set[str]:
    """The ``--loglevel`` each Celery worker and beat among ``pids`` was started with."""
    levels = set()
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if "celery" in argv and "--loglevel" in argv:
            levels.add(argv[argv.index("--loglevel") + 1])
    return levels


class Up:
    """``manage_all.py up`` in its own process group, as a terminal would run it."""

    def __init__(self, env):
        self.env = env
        self.gateway = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "manage_all.py", "up"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def wait_for_line(self, text: str) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if text in line:
                return
        raise AssertionError(f"up ended without printing {text!r}:\n" + "".join(self.output[-30:]))

    def stop(self, stop_signal=signal.SIGINT, timeout=60) -> str:
        """Send ``stop_signal`` to the group (as Ctrl-C does); the rest of the output."""
        os.killpg(self.process.pid, stop_signal)
        tail, _ = self.process.communicate(timeout=timeout)
        return tail

    def kill(self) -> None:
        """After a failed test: ``up`` and every process it started (each in a session of its own)."""
        if self.process.poll() is None:
            started = descendants(self.process.pid)
            os.killpg(self.process.pid, signal.SIGKILL)
            for pid in started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.wait()


@pytest.mark.parametrize(
    ("stop_signal", "log_level"),
    [(signal.SIGINT, "INFO"), (signal.SIGTERM, "WARNING")],
    ids=["ctrl-c", "sigterm-at-warning"],
)
def test_up_starts_everything_then_stops_every_child(tmp_path, stop_signal, log_level):
    embedded_redis = not os.environ.get("REDIS_URL")
    with system_environment_with_databases(tmp_path, embedded_redis=embedded_redis) as env:
        env["LOG_LEVEL"] = log_level
        up = Up(env)
        try:
            up.wait_for_line("ready in")
            assert request(f"{up.gateway}/api/health")[0] == 200
            names = {line.split("|", 1)[0].strip() for line in up.output if "|" in line}
            # Above INFO the web processes start without a word (gunicorn's "Booting worker" is INFO).
            speaking = {"users-worker", "auth-worker", "users-beat", "auth-beat"}
            assert speaking | ({"gateway", "users", "auth"} if log_level == "INFO" else set()) <= names
            children = descendants(up.process.pid)
            celery_levels = celery_log_levels(children)
            tail = up.stop(stop_signal)
        finally:
            up.kill()
    assert up.process.returncode == 0, tail[-3000:]
    assert "stopped" in tail
    assert [pid for pid in children if alive(pid)] == []
    # Workers and beat log at LOG_LEVEL, as the web processes do.
    assert celery_levels == {log_level}


def test_the_embedded_redis_shut_down_by_hand_comes_back_and_health_recovers(tmp_path):
    with system_environment_with_databases(tmp_path, embedded_redis=True) as env:
        up = Up(env)
        try:
            up.wait_for_line("ready in")
            # One SHUTDOWN on a raw socket: a client library would retry it on the
            # closed connection and shut the restarted server down again.
            with socket.create_connection(("127.0.0.1", int(env["EMBEDDED_REDIS_PORT"])), timeout=5) as sock:
                sock.sendall(b"SHUTDOWN NOSAVE\r\n")
                sock.recv(64)
            up.wait_for_line("redis exited")
            body = wait_for_status(f"{up.gateway}/api/health", 200)
            assert body["dependencies"]["redis"] == {"status": "up"}
            assert up.process.poll() is None
            up.stop()
        finally:
            up.kill()
    assert up.process.returncode == 0
