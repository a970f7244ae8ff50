"""``manage_all.py up`` as a person runs it: readable and quiet on a terminal, JSON lines into a pipe,
it says when it is ready and where things are, and Ctrl-C leaves nothing behind."""

import contextlib
import math
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from accounts import register
from conftest import system_environment_with_databases
from http_client import request, wait_for_status
from manage_all import REPO_ROOT

# How long an idle system is watched (ten relay runs per service), and how many lines
# a minute it may print meanwhile.
IDLE_WINDOW = 20.0
IDLE_LINES_PER_MINUTE = 2
ANSI = re.compile(r"\x1b\[[0-9;]*m")
READABLE_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (\S+) +")


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


def terminal_lines(fd: int, closing: threading.Event):
    """The lines written to the pseudo-terminal whose controlling side is ``fd``.

    Until its last writer exits, or ``closing`` is set: then ``fd`` is closed, as
    a terminal window closing closes it.
    """
    pending = b""
    try:
        while not closing.is_set():
            if not select.select([fd], [], [], 0.1)[0]:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: nothing holds the terminal side any more
                break
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            yield from (line.rstrip(b"\r").decode(errors="replace") for line in complete)
    finally:
        os.close(fd)


class Up:
    """``manage_all.py up`` in its own process group, its output on a pseudo-terminal or into a pipe."""

    def __init__(self, env, terminal: bool = False):
        self.env = env
        self.gateway = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
        self.output: list[str] = []
        self._cursor = 0
        self._changed = threading.Condition()
        self._ended = False
        self._closing = threading.Event()
        self._children: set[int] = set()
        if terminal:
            controller, output = pty.openpty()
        else:
            output = subprocess.PIPE
        self.process = subprocess.Popen(
            [sys.executable, "manage_all.py", "up"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        if terminal:
            os.close(output)
            lines = terminal_lines(controller, self._closing)
        else:
            lines = (line.rstrip("\n") for line in self.process.stdout)
        # Read all along, so `up` never waits on a full pipe or terminal while a test does something else.
        self._reader = threading.Thread(target=self._read, args=(lines,), daemon=True)
        self._reader.start()

    def _read(self, lines) -> None:
        try:
            for line in lines:
                with self._changed:
                    self.output.append(line)
                    self._changed.notify_all()
        finally:
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    def wait_for_line(self, text: str, timeout: float = 180, anywhere: bool = False) -> str:
        """The next line (after the last one waited for, or ``anywhere``) containing ``text``."""
        with self._changed:
            while True:
                for index in range(0 if anywhere else self._cursor, len(self.output)):
                    if text in self.output[index]:
                        self._cursor = index + 1
                        return self.output[index]
                self._cursor = len(self.output)
                if self._ended or not self._changed.wait(timeout):
                    break
        raise AssertionError(f"up did not print {text!r}:\n" + "\n".join(self.output[-30:]))

    def lines_while_idle(self, seconds: float) -> list[str]:
        """What ``up`` prints in the next ``seconds`` while nobody does anything."""
        start = len(self.output)
        threading.Event().wait(seconds)
        return self.output[start:]

    def stop(self, stop_signal=signal.SIGINT, timeout=60) -> str:
        """Send ``stop_signal`` to the group (as Ctrl-C does); the rest of the output.

        SIGHUP comes as a closing terminal window sends it: after the terminal is gone,
        so nothing more is read.
        """
        start = len(self.output)
        if stop_signal == signal.SIGHUP:
            self._closing.set()
            self._reader.join(timeout)
        os.killpg(self.process.pid, stop_signal)
        self.process.wait(timeout)
        self._reader.join(timeout)
        return "\n".join(self.output[start:])

    def children(self) -> set[int]:
        """Every process ``up`` runs now; remembered, so ``kill`` finds them even once ``up`` is gone."""
        found = descendants(self.process.pid)
        self._children |= found
        return found

    def kill(self) -> None:
        """After a failed test: ``up`` and every process it started (each in a session of its own)."""
        if self.process.poll() is None:
            self.children()
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in self._children:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.process.wait()


def process_names(lines: list[str], terminal: bool) -> set[str]:
    """The names of the processes that printed ``lines``: ``time name …`` on a terminal, else ``name | …``."""
    if terminal:
        return {match.group(1) for line in lines if (match := READABLE_LINE.match(ANSI.sub("", line)))}
    return {line.split("|", 1)[0].strip() for line in lines if "|" in line}


@pytest.mark.parametrize(
    ("stop_signal", "log_level", "terminal"),
    [(signal.SIGINT, "INFO", True), (signal.SIGTERM, "WARNING", False), (signal.SIGHUP, "WARNING", True)],
    ids=["ctrl-c-on-a-terminal", "sigterm-at-warning-into-a-pipe", "terminal-closed-at-warning"],
)
def test_up_starts_everything_then_stops_every_child(tmp_path, stop_signal, log_level, terminal):
    embedded_redis = not os.environ.get("REDIS_URL")
    with system_environment_with_databases(tmp_path, embedded_redis=embedded_redis) as env:
        env.update(LOG_LEVEL=log_level, TERM="xterm-256color")
        env.pop("LOG_FORMAT", None)
        env.pop("NO_COLOR", None)
        up = Up(env, terminal=terminal)
        try:
            ready = up.output.index(up.wait_for_line("ready in"))
            up.wait_for_line("Ctrl-C stops everything")
            block = "\n".join(ANSI.sub("", line) for line in up.output[ready:])
            for where in ("/api/docs/", "/admin/", "/api/health", "/metrics", "staff_account create"):
                assert f"{where}" in block, block
            if embedded_redis:
                assert re.search(r"embedded Redis: redis-server \d+\.\d+\.\d+ from ", "\n".join(up.output))
            if terminal and log_level == "INFO":
                assert_readable_and_quiet_when_idle(up)
            assert request(f"{up.gateway}/api/health")[0] == 200
            names = process_names(up.output, terminal)
            # Above INFO the web processes start without a word (gunicorn's "Booting worker" is INFO).
            speaking = {"users-worker", "auth-worker", "users-beat", "auth-beat"}
            assert speaking | ({"gateway", "users", "auth"} if log_level == "INFO" else set()) <= names
            children = up.children()
            celery_levels = celery_log_levels(children)
            tail = up.stop(stop_signal)
        finally:
            up.kill()
    assert up.process.returncode == 0, tail[-3000:]
    if stop_signal != signal.SIGHUP:
        assert "stopped" in tail
    assert [pid for pid in children if alive(pid)] == []
    # Workers and beat log at LOG_LEVEL, as the web processes do.
    assert celery_levels == {log_level}


def assert_readable_and_quiet_when_idle(up: Up) -> None:
    """Readable, coloured lines; next to nothing while idle; what events do still said."""
    plain = [ANSI.sub("", line) for line in up.output]
    assert not [line for line in plain if line.lstrip().startswith("{")]
    # The last readiness check's access line: time, process, level, message, request id.
    line = ANSI.sub("", up.wait_for_line("GET /api/health 200", anywhere=True))
    assert re.match(r"^\d\d:\d\d:\d\d\.\d{3} gateway +INFO +GET /api/health 200 [\d.]+ms rid=\w+$", line), line
    assert any("\x1b[32mINFO" in line for line in up.output)

    idle = up.lines_while_idle(IDLE_WINDOW)
    assert len(idle) <= math.ceil(IDLE_WINDOW / 60 * IDLE_LINES_PER_MINUTE), "\n".join(idle)

    assert register(up.gateway)[0] == 201
    assert "rid=" in up.wait_for_line("event applied")


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
