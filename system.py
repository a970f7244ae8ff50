"""The whole system as child processes: ``manage_all.py up``, the cross-service tests and the benchmarks.

``System`` starts, on the environment it is given: an embedded Redis (when
``REDIS_URL`` is unset), ``migrate`` on every database, the three services under
gunicorn, a Celery worker and beat for each service that has tasks; it waits until
each is ready and ``/api/health`` answers 200, and stops them in order. Each child
runs in its own process group, its output relayed line by line to a sink.

Beside it, what the tests and benchmarks do to a system from outside: fresh
PostgreSQL databases for a run, SQL on a service's own database, dropping a run's
keys from a Redis it shares with others.

A module of the repository, not of ``common``: it supervises the projects as
processes (``common`` is what their code shares, shipped in their images). It
takes the projects and their commands from ``manage_all.py``, which the
production image carries alone (its migrate command) and which imports this
module only for ``up``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO
from urllib.parse import urlsplit, urlunsplit

from common.embedded_redis import redis_server_binary
from common.log import PROCESS_WIDTH, console_line, log_format, parse_line, wants_colour
from manage_all import PROJECTS, REPO_ROOT, project_command


# Projects whose Celery app has tasks, so get a worker and a beat.
CELERY_PROJECTS = ("users", "auth")
DEFAULT_PORTS = {"gateway": 8000, "users": 8001, "auth": 8002}
# Away from a Redis that may already run on 6379.
DEFAULT_EMBEDDED_REDIS_PORT = 6390
STOP_TIMEOUT = 20.0
# The variables naming each database of the two services.
DATABASE_VARIABLES = ("USERS_DB_DEFAULT_URL", "USERS_DB_USERS_URL", "AUTH_DB_DEFAULT_URL", "AUTH_DB_CREDENTIALS_URL")
# The database of each service's own data, where its event tables live too.
SERVICE_ALIAS = {"users": "users", "auth": "credentials"}


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


# --------------------------------------------------------------------------------------
# From outside a system: its databases and its keys in a shared Redis
# --------------------------------------------------------------------------------------


def service_database_url(system: System, service: str) -> str | None:
    """The service database's URL, or ``None`` when it is a SQLite file."""
    return system.config.env.get(f"{service.upper()}_DB_{SERVICE_ALIAS[service].upper()}_URL")


def service_sqlite_path(system: System, service: str) -> Path:
    """The SQLite file of the service database (embedded defaults)."""
    return system.config.var_dir / service / f"{SERVICE_ALIAS[service]}.sqlite3"


def query(system: System, service: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of ``sql`` (``%s`` placeholders) on the service database, SQLite file or PostgreSQL."""
    url = service_database_url(system, service)
    if url is None:
        connection = sqlite3.connect(service_sqlite_path(system, service), timeout=20)
        try:
            return connection.execute(sql.replace("%s", "?"), params).fetchall()
        finally:
            connection.close()
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def postgres_execute(server_url: str, statement: str) -> None:
    """``statement`` (``CREATE DATABASE``, ``DROP DATABASE``) on the ``postgres`` database of ``server_url``'s server."""
    import psycopg2

    connection = psycopg2.connect(urlunsplit(urlsplit(server_url)._replace(path="/postgres")))
    connection.autocommit = True
    try:
        connection.cursor().execute(statement)
    finally:
        connection.close()


class PostgresDatabases:
    """Fresh PostgreSQL databases for one system, named after the configured ones (``prefix_<random>_<name>``).

    ``provision`` creates one for each of ``DATABASE_VARIABLES`` in ``env`` naming a
    PostgreSQL database and points the variable at it; ``drop`` drops them.
    """

    def __init__(self, env: dict[str, str], prefix: str = "e2e"):
        self.env = env
        self.prefix = prefix
        self.created: list[tuple[str, str]] = []

    def provision(self) -> None:
        suffix = uuid.uuid4().hex[:8]
        for variable in DATABASE_VARIABLES:
            url = self.env.get(variable, "")
            if not url.startswith(("postgres://", "postgresql://")):
                continue
            parts = urlsplit(url)
            name = f"{self.prefix}_{suffix}_{parts.path.lstrip('/')}"
            postgres_execute(url, f'CREATE DATABASE "{name}"')
            self.created.append((url, name))
            self.env[variable] = urlunsplit(parts._replace(path=f"/{name}"))

    def drop(self) -> None:
        for server, name in self.created:
            postgres_execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def forget_keys(redis_url: str, pattern: str) -> None:
    """Delete the keys matching ``pattern`` from the Redis at ``redis_url``."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def forget_broker_keys(broker_url: str, prefix: str) -> None:
    """Drop the queues of a system that shared a Redis with others (``CELERY_BROKER_KEY_PREFIX``)."""
    forget_keys(broker_url, f"{prefix}*")
