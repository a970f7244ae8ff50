#!/usr/bin/env python
"""Run a management command in every project, or the whole system in the foreground.

    python manage_all.py migrate                 # every database of every project
    python manage_all.py check --deploy          # any Django command, in each project
    python manage_all.py --project users shell   # one project only
    python manage_all.py up                      # migrate, then start everything
    python manage_all.py migrate_from_sqlite users.db   # the monolith's users: users and auth at once

``up`` starts, on embedded defaults: an embedded Redis (when ``REDIS_URL`` is
unset), the three services under gunicorn, a Celery worker and beat for each
service that has tasks. Each process's lines are relayed with its name: on a
terminal as readable lines (time, process, level, message, request id), else
as they come (JSON) after ``name | ``; ``LOG_FORMAT`` forces either
(``common.log``). Once everything is ready, a short block says where things
are. Ctrl-C, SIGTERM or the terminal closing (SIGHUP) stops every child and
leaves nothing running.

The cross-service tests start the system through ``System`` below, exactly as
``up`` does.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from common.embedded_redis import redis_server_binary
from common.legacy_import.exit_codes import EXIT_CLEAN, EXIT_NEEDS_ATTENTION, EXIT_VERIFY_MISMATCH
from common.log import PROCESS_WIDTH, console_line, log_format, parse_line, wants_colour

REPO_ROOT = Path(__file__).resolve().parent

# name -> directory, in the order commands run and processes start.
PROJECTS = {"users": "users_project", "auth": "auth_project", "gateway": "gateway_project"}
# Projects whose Celery app has tasks, so get a worker and a beat.
CELERY_PROJECTS = ("users", "auth")
DEFAULT_PORTS = {"gateway": 8000, "users": 8001, "auth": 8002}
# The legacy import runs in these projects, at once; its output names them in this order (docs/migration.md).
LEGACY_IMPORT_COMMAND = "migrate_from_sqlite"
LEGACY_IMPORT_PROJECTS = ("users", "auth")
# Away from a Redis that may already run on 6379.
DEFAULT_EMBEDDED_REDIS_PORT = 6390
STOP_TIMEOUT = 20.0
# Restarts of the embedded Redis allowed within a minute before `up` gives up.
REDIS_RESTART_LIMIT = 5


def project_command(project: str, command: str, args: list[str]) -> list[str]:
    """argv running ``manage.py`` ``command`` in ``project`` (``migrate`` covers every database)."""
    if command == "migrate":
        command = "migrate_all"
    return [sys.executable, str(REPO_ROOT / PROJECTS[project] / "manage.py"), command, *args]


def run_in_projects(projects: list[str], command: str, args: list[str], env: dict[str, str]) -> int:
    """Run the command in each project in turn; the first failure stops the rest."""
    for project in projects:
        print(f"== {project}: manage.py {command} {' '.join(args)}".rstrip(), flush=True)
        returncode = subprocess.call(project_command(project, command, args), cwd=REPO_ROOT / PROJECTS[project], env=env)
        if returncode != 0:
            print(f"== {project}: failed with exit status {returncode}", file=sys.stderr, flush=True)
            return returncode
    return 0


def run_legacy_import(projects: list[str], args: list[str], env: dict[str, str]) -> int:
    """``migrate_from_sqlite`` in the users and the auth service at once, both reading the same users.db.

    They write to different databases, so they run side by side, a process each
    (about halving the wall time on two cores). Each runs from the caller's
    directory, so a relative path means what the caller meant, and to its end:
    one failing does not stop the other. Their lines are relayed whole as they
    come, stdout to stdout and stderr to stderr, each starting with its
    service's name. The exit status is the most serious seen: an error (the
    users service's if both failed), else 4 (verify found mismatches), else 3
    (needs attention), else 0.
    """
    wanted = [project for project in LEGACY_IMPORT_PROJECTS if project in projects]
    if not wanted:
        print(f"{LEGACY_IMPORT_COMMAND} runs in {' and '.join(LEGACY_IMPORT_PROJECTS)} only", file=sys.stderr)
        return 2
    lock = threading.Lock()

    def relay(project: str, source: TextIO, target: TextIO) -> None:
        for line in source:
            line = line.rstrip("\n")
            labelled = line if line.startswith((f"{project}:", f"{project} (")) else f"{project}: {line}"
            with lock:
                target.write(labelled + "\n")
                target.flush()

    for project in wanted:
        print(f"== {project}: manage.py {LEGACY_IMPORT_COMMAND} {' '.join(args)}".rstrip(), flush=True)
    children, relays = {}, []
    for project in wanted:
        child = subprocess.Popen(
            project_command(project, LEGACY_IMPORT_COMMAND, args),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        children[project] = child
        for source, target in ((child.stdout, sys.stdout), (child.stderr, sys.stderr)):
            relays.append(threading.Thread(target=relay, args=(project, source, target), daemon=True))
            relays[-1].start()
    statuses = {}
    for project, child in children.items():
        while project not in statuses:
            try:
                statuses[project] = child.wait()
            except KeyboardInterrupt:
                continue  # Ctrl-C reached the children too: each stops and says what stands
    for thread in relays:
        thread.join()
    errors = [
        (project, status) for project, status in statuses.items()
        if status not in (EXIT_CLEAN, EXIT_NEEDS_ATTENTION, EXIT_VERIFY_MISMATCH)
    ]
    for project, status in errors:
        print(f"== {project}: failed with exit status {status}", file=sys.stderr, flush=True)
    if errors:
        return errors[0][1]
    return max(statuses.values())


# --------------------------------------------------------------------------------------
# The system: processes, their readiness, their end
# --------------------------------------------------------------------------------------


@dataclass
class ProcessSpec:
    """How to start one process and how to tell it is ready."""

    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    # One of: an HTTP URL answering 200, or a text its output prints once ready.
    ready_url: str | None = None
    ready_marker: str | None = None


class ManagedProcess:
    """A running child in its own process group, its output relayed line by line."""

    def __init__(self, spec: ProcessSpec, base_env: dict[str, str], sink: Callable[[str, str], None]):
        self.spec = spec
        self.ready = threading.Event()
        self.popen = subprocess.Popen(
            spec.argv,
            cwd=spec.cwd,
            env={**base_env, **spec.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            # Its own group: Ctrl-C reaches the supervisor only, which stops
            # children in order, and a stop reaches a child's own children too.
            start_new_session=True,
        )
        self._relay = threading.Thread(target=self._pump, args=(sink,), name=f"relay-{spec.name}", daemon=True)
        self._relay.start()

    def _pump(self, sink: Callable[[str, str], None]) -> None:
        for line in self.popen.stdout:
            line = line.rstrip("\n")
            if self.spec.ready_marker and self.spec.ready_marker in line:
                self.ready.set()
            sink(self.spec.name, line)

    def poll_ready(self) -> bool:
        if self.ready.is_set():
            return True
        if self.spec.ready_url and http_status(self.spec.ready_url) == 200:
            self.ready.set()
        return self.ready.is_set()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        try:
            os.killpg(self.popen.pid, signum)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float) -> int | None:
        """SIGTERM the group, wait, then SIGKILL whatever is left of it."""
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        # Even after the leader exits, a forked grandchild may linger in the group.
        self.signal(signal.SIGKILL)
        returncode = self.popen.wait()
        self._relay.join(timeout=2)
        return returncode


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """The status ``url`` answers with, or ``None`` when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


@dataclass
class SystemConfig:
    """Ports, addresses and state directory of one running system, read from the environment."""

    env: dict[str, str]
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self.env = dict(self.env)
        self.ports = {name: int(self.env.get(f"{name.upper()}_PORT", default)) for name, default in DEFAULT_PORTS.items()}
        # The gateway's /metrics listener; unset, the gateway serves no metrics.
        self.gateway_metrics_port = int(self.env.get("GATEWAY_METRICS_PORT") or 0) or None
        self.var_dir = Path(self.env.get("VAR_DIR", REPO_ROOT / "var")).resolve()
        self.embedded_redis = not self.env.get("REDIS_URL")
        self.redis_port = int(self.env.get("EMBEDDED_REDIS_PORT", DEFAULT_EMBEDDED_REDIS_PORT))
        if self.embedded_redis:
            self.env["REDIS_URL"] = f"redis://{self.host}:{self.redis_port}/0"
        for name in ("users", "auth"):
            self.env.setdefault(f"{name.upper()}_SERVICE_URL", self.url(name))
        self.env["VAR_DIR"] = str(self.var_dir)
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        # Children write JSON lines into a pipe, which the sink reads and may render readable.
        self.env["LOG_FORMAT"] = "json"

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"


def system_specs(config: SystemConfig, redis_server: str = "") -> list[ProcessSpec]:
    """Every process of the system, in start order; ``redis_server`` runs the embedded Redis, if any."""
    specs = []
    if config.embedded_redis:
        redis_dir = config.var_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        specs.append(
            ProcessSpec(
                name="redis",
                argv=[
                    redis_server,
                    "--port", str(config.redis_port),
                    "--bind", config.host,
                    "--dir", str(redis_dir),
                    # Durable: every write goes to the append-only file, flushed each second.
                    "--appendonly", "yes",
                    "--appendfsync", "everysec",
                    "--save", "",
                    # A broker must never drop a message to make room.
                    "--maxmemory-policy", "noeviction",
                    "--daemonize", "no",
                ],
                cwd=redis_dir,
                ready_marker="Ready to accept connections",
            )
        )
    for name in PROJECTS:
        specs.append(gunicorn_spec(config, name, name, config.ports[name]))
    # Workers and beat log at the services' level, as in the production containers.
    log_level = config.env.get("LOG_LEVEL") or "INFO"
    for name in CELERY_PROJECTS:
        cwd = REPO_ROOT / PROJECTS[name]
        # --quiet: no banners; the ready block says where things are.
        celery = [sys.executable, "-m", "celery", "-A", "config", "--quiet"]
        specs.append(
            ProcessSpec(
                name=f"{name}-worker",
                argv=[*celery, "worker", "--queues", name, "--hostname", f"{name}@%h",
                      "--concurrency", "2", "--loglevel", log_level, "--without-gossip", "--without-mingle"],
                cwd=cwd,
                env={"SERVICE_NAME": name},
                ready_marker=" ready.",
            )
        )
        specs.append(
            ProcessSpec(
                name=f"{name}-beat",
                argv=[*celery, "beat", "--loglevel", log_level],
                cwd=cwd,
                env={"SERVICE_NAME": name},
                ready_marker="beat: Starting",
            )
        )
    return specs


def gunicorn_spec(config: SystemConfig, project: str, name: str, port: int) -> ProcessSpec:
    """One project under gunicorn on ``port``; ``name`` tells two instances of a project apart.

    Only the gateway gets a metrics address (``GATEWAY_METRICS_PORT``, when set):
    its main one is public. The services answer ``/metrics`` on their own port.
    """
    metrics_bind = ""
    if project == "gateway" and config.gateway_metrics_port:
        metrics_bind = f"{config.host}:{config.gateway_metrics_port}"
    return ProcessSpec(
        name=name,
        argv=[
            sys.executable, "-m", "gunicorn",
            "-c", "python:common.gunicorn_conf",
            "--bind", f"{config.host}:{port}",
        ],
        cwd=REPO_ROOT / PROJECTS[project],
        env={"SERVICE_NAME": project, "METRICS_BIND": metrics_bind},
        ready_url=f"http://{config.host}:{port}/health",
    )


class PrintSink:
    """Prints each process's lines to ``stream``, readable or as they come (``common.log.log_format``).

    Readable: a child's JSON lines and redis-server's own become
    ``time process level message … rid=…`` (``common.log.console_line``),
    coloured on a terminal that has colours; other lines keep their text
    after the time and name; empty ones are dropped. Otherwise ``name | line``,
    the names aligned.
    """

    def __init__(self, stream: TextIO = sys.stdout):
        self.stream = stream
        self.readable = log_format(stream) == "console"
        self.colour = wants_colour(stream)
        self._lock = threading.Lock()

    def __call__(self, name: str, line: str) -> None:
        if self.readable:
            if not line.strip():
                return
            line = console_line(parse_line(line) or {"message": line}, process=name, colour=self.colour)
        else:
            line = f"{name:<{PROCESS_WIDTH}} | {line}"
        self._write([line])

    def block(self, name: str, lines: list[str]) -> None:
        """Several lines that belong together: as they are when readable, else each after ``name | ``."""
        self._write(lines if self.readable else [f"{name:<{PROCESS_WIDTH}} | {line}" for line in lines])

    def _write(self, lines: list[str]) -> None:
        with self._lock:
            try:
                self.stream.write("".join(f"{line}\n" for line in lines))
                self.stream.flush()
            except OSError:
                # The terminal closed (or the pipe's reader left): the lines are lost, but
                # relaying goes on, so no child blocks on a full pipe while `up` stops them.
                pass


class System:
    """The whole system as child processes of this one."""

    def __init__(self, env: dict[str, str] | None = None, sink: Callable[[str, str], None] | None = None):
        self.config = SystemConfig(dict(os.environ if env is None else env))
        self.sink = sink or PrintSink()
        self.redis_server = redis_server_binary() if self.config.embedded_redis else None
        self.specs = {
            spec.name: spec
            for spec in system_specs(self.config, self.redis_server.path if self.redis_server else "")
        }
        self.processes: dict[str, ManagedProcess] = {}

    @property
    def gateway_url(self) -> str:
        return self.config.url("gateway")

    def migrate(self) -> None:
        for project in PROJECTS:
            result = subprocess.run(
                project_command(project, "migrate", ["--noinput", "--verbosity", "0"]),
                cwd=REPO_ROOT / PROJECTS[project],
                env=self.config.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for line in result.stdout.splitlines():
                self.sink(f"{project}", line)
            if result.returncode != 0:
                raise RuntimeError(f"migrating {project} failed (exit status {result.returncode})")

    def start_process(self, name: str) -> ManagedProcess:
        process = ManagedProcess(self.specs[name], self.config.env, self.sink)
        self.processes[name] = process
        return process

    def stop_process(self, name: str) -> int | None:
        return self.processes.pop(name).stop(STOP_TIMEOUT)

    def start(self, timeout: float = 60.0) -> float:
        """Start everything (Redis and migrations first); return the seconds until all were ready."""
        started = time.monotonic()
        if "redis" in self.specs:
            self.sink("up", f"starting the embedded Redis: {self.redis_server.describe()}")
            self.start_process("redis")
            self.wait_ready(["redis"], timeout)
        self.migrate()
        for name in self.specs:
            if name not in self.processes:
                self.start_process(name)
        self.wait_ready(list(self.specs), timeout - (time.monotonic() - started))
        self.wait_healthy(timeout - (time.monotonic() - started))
        return time.monotonic() - started

    def wait_healthy(self, timeout: float) -> None:
        """Until the gateway's ``/api/health`` says every part is up."""
        deadline = time.monotonic() + timeout
        while http_status(f"{self.gateway_url}/api/health") != 200:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.gateway_url}/api/health did not answer 200 in time")
            time.sleep(0.1)

    def wait_ready(self, names: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = list(names)
        while pending:
            for name in list(pending):
                process = self.processes[name]
                if not process.running():
                    raise RuntimeError(f"{name} exited with status {process.popen.returncode} while starting")
                if process.poll_ready():
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready in time: {', '.join(pending)}")
            if pending:
                time.sleep(0.1)

    def exited(self) -> list[tuple[str, int]]:
        """Processes that ended on their own: (name, exit status)."""
        return [(name, p.popen.returncode) for name, p in self.processes.items() if not p.running()]

    def stop(self) -> None:
        """Stop the applications together, then Redis, so workers can hand back unfinished tasks."""
        apps = [name for name in self.processes if name != "redis"]
        for name in apps:
            self.processes[name].signal(signal.SIGTERM)
        for name in apps:
            self.stop_process(name)
        if "redis" in self.processes:
            self.stop_process("redis")


def up(env: dict[str, str]) -> int:
    """``manage_all.py up``: run the system in the foreground until Ctrl-C, SIGTERM or SIGHUP."""
    system = System(env)
    stopping = threading.Event()

    def request_stop(signum, frame):
        stopping.set()

    # SIGHUP: the terminal closed. Stopping everything then leaves nothing running either.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_stop)
    say = PrintSink(sys.stderr)
    status = 0
    try:
        seconds = system.start()
        say("up", f"ready in {seconds:.1f}s")
        say.block("up", ready_block(system.config))
        redis_restarts: list[float] = []
        while not stopping.wait(0.5):
            exited = dict(system.exited())
            if set(exited) == {"redis"} and len(redis_restarts) < REDIS_RESTART_LIMIT:
                # The embedded Redis is infrastructure, not part of the system: when it
                # goes away (shut down by hand, say), bring it back as a service manager
                # would; the services reconnect on their own. A Redis that keeps dying
                # (its port taken, its disk full) stops everything below instead.
                say("up", f"redis exited with status {exited['redis']}: starting it again")
                redis_restarts = [t for t in redis_restarts if time.monotonic() - t < 60] + [time.monotonic()]
                system.stop_process("redis")
                system.start_process("redis")
                continue
            if exited:
                name, returncode = next(iter(exited.items()))
                say("up", f"{name} exited with status {returncode}: stopping everything")
                status = 1
                break
    except (RuntimeError, TimeoutError) as exc:
        say("up", f"could not start: {exc}")
        status = 1
    finally:
        say("up", "stopping")
        system.stop()
        say("up", "stopped")
    return status


def ready_block(config: SystemConfig) -> list[str]:
    """Where things are, once the system is up: the API, its docs, the admin, health, metrics, a staff account."""
    gateway = config.url("gateway")
    if config.gateway_metrics_port:
        metrics = [f"http://{config.host}:{config.gateway_metrics_port}/metrics (gateway)"]
    else:
        metrics = ["gateway: set GATEWAY_METRICS_PORT"]
    metrics += [f"{config.url(name)}/metrics ({name})" for name in PROJECTS if name != "gateway"]
    python = Path(sys.executable)
    if python.is_relative_to(REPO_ROOT):
        python = python.relative_to(REPO_ROOT)
    return [
        f"  API            {gateway}/api/  (every route: the docs page)",
        f"  API docs       {gateway}/api/docs/",
        f"  admin          {gateway}/admin/",
        f"  health         {gateway}/api/health",
        f"  metrics        {', '.join(metrics)}",
        f"  staff account  DJANGO_STAFF_PASSWORD='…' {python} manage_all.py --project users"
        " staff_account create admin --email admin@example.com --superuser  (docs/support.md)",
        "  Ctrl-C stops everything.",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", choices=list(PROJECTS), action="append", help="Only this project (repeatable).")
    parser.add_argument("command", help="'up', or a Django management command.")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="Arguments for the command.")
    options = parser.parse_args(argv)
    env = dict(os.environ)
    if options.command == "up":
        return up(env)
    if options.command == LEGACY_IMPORT_COMMAND:
        return run_legacy_import(options.project or list(PROJECTS), options.args, env)
    return run_in_projects(options.project or list(PROJECTS), options.command, options.args, env)


if __name__ == "__main__":
    sys.exit(main())
