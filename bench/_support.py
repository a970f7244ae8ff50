"""What the HTTP benchmarks share: PostgreSQL mode, and the CPU each process of a running system spends.

PostgreSQL mode (``--postgres``) is the production-like run: every database a
fresh PostgreSQL database of its own (created here, dropped afterwards), an
external Redis for the broker, caches, revocations and rate limits, the
broker's keys under a prefix of the run's own so a Redis shared with other
runs never mixes their queues.

CPU accounting reads ``/proc``: user + system seconds of each process of the
system and of all its descendants (gunicorn's workers, Celery's pool), and on
PostgreSQL of the server's processes serving the run's databases, so a
figure says what one request or one login cost each part, whatever else the
machine was running at the time (the wall-clock rates do depend on that: the
load average is printed beside them).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from system import forget_broker_keys, postgres_execute

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/1"
DATABASES = {
    "USERS_DB_DEFAULT_URL": "users_default",
    "USERS_DB_USERS_URL": "users",
    "AUTH_DB_DEFAULT_URL": "auth_default",
    "AUTH_DB_CREDENTIALS_URL": "auth_credentials",
}


def add_mode_options(parser) -> None:
    parser.add_argument(
        "--postgres", nargs="?", const=DEFAULT_POSTGRES, default=None, metavar="SERVER_URL",
        help=f"production-like: fresh PostgreSQL databases on this server (default {DEFAULT_POSTGRES}) "
        f"and an external Redis, instead of SQLite files and the embedded Redis",
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help=f"with --postgres (default {DEFAULT_REDIS})")


def mode_label(options) -> str:
    return "PostgreSQL + external Redis" if options.postgres else "SQLite + embedded Redis (embedded defaults)"


@contextmanager
def production_like(env: dict[str, str], options) -> Iterator[dict[str, str]]:
    """``env`` unchanged on embedded defaults; with ``--postgres``, on fresh databases (dropped at the end)."""
    if not options.postgres:
        yield env
        return
    run = f"httpbench_{uuid.uuid4().hex[:8]}"
    created = []
    env = dict(env)
    try:
        for variable, name in DATABASES.items():
            database = f"{run}_{name}"
            postgres_execute(options.postgres, f'CREATE DATABASE "{database}"')
            created.append(database)
            env[variable] = urlunsplit(urlsplit(options.postgres)._replace(path=f"/{database}"))
        env["REDIS_URL"] = options.redis_url
        env["CELERY_BROKER_KEY_PREFIX"] = f"{run}:"
        yield env
    finally:
        for database in created:
            postgres_execute(options.postgres, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if options.postgres:
            forget_broker_keys(options.redis_url, f"{run}:")


def start_ids_high(env: dict[str, str], table: str = "users_profile") -> None:
    """On PostgreSQL, make the users service hand out ids from a random high number, not from 1.

    Revocation entries in Redis are keyed by user id without a prefix: on a
    Redis other systems share (test runs that changed passwords or deleted
    users), ``revocation:user:1`` may well exist and would refuse this run's
    user 1. Nothing to do on embedded defaults (a Redis of the run's own).
    """
    url = env.get("USERS_DB_USERS_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import random

    import psycopg2

    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        connection.cursor().execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, random.randrange(10**9, 2 * 10**9)]
        )
    finally:
        connection.close()


_TICK = os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    found = [pid]
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children") as children:
                for child in children.read().split():
                    found += _descendants(int(child))
        except OSError:
            pass
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def postgres_run(env: dict[str, str]) -> str | None:
    """The name every database of a ``production_like`` run starts with; ``None`` on SQLite."""
    for variable, name in DATABASES.items():
        url = env.get(variable, "")
        database = urlsplit(url).path.lstrip("/")
        if url.startswith("postgres") and database.endswith(f"_{name}"):
            return database[: -len(name) - 1]
    return None


def postgres_server_processes() -> Iterator[tuple[int, str]]:
    """Each PostgreSQL server process running now: its id and command line (a backend's names its database).

    A client naming a database (pgloader, psql) is not one: the server's own start with ``postgres:``.
    """
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as file:
                command = file.read().decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        if command.startswith("postgres:"):
            yield int(entry.name), command


def _postgres_backends(run: str) -> list[int]:
    """The PostgreSQL server processes serving a database of ``run`` now."""
    return [pid for pid, command in postgres_server_processes() if f" {run}_" in command]


class CpuMeter:
    """CPU seconds each process of a running ``system.System`` (and its descendants) spends.

    ``others`` names more processes to count the same way (the monolith beside the system).
    On PostgreSQL (``production_like``) the server's processes serving the run's
    databases count too, as ``postgres``: they share the cores (a backend that
    ends between two readings loses what it spent since the first).
    """

    def __init__(self, system, others: dict[str, int] | None = None):
        self.system = system
        self.others = others or {}
        self.postgres_run = postgres_run(system.config.env)
        self._start = self._snapshot()

    def _snapshot(self) -> dict[str, dict[int, float]]:
        pids = {name: process.pid for name, process in self.system.processes.items()} | self.others
        found = {name: {pid: _cpu_seconds(pid) for pid in _descendants(root)} for name, root in pids.items()}
        if self.postgres_run:
            found["postgres"] = {pid: _cpu_seconds(pid) for pid in _postgres_backends(self.postgres_run)}
        return found

    def restart(self) -> None:
        self._start = self._snapshot()

    def used(self) -> dict[str, float]:
        """Seconds per process name since the meter was made or restarted (a process that ended counts 0)."""
        now = self._snapshot()
        return {
            name: sum(seconds - self._start.get(name, {}).get(pid, 0.0) for pid, seconds in pids.items())
            for name, pids in now.items()
        }


def children_cpu_seconds() -> float:
    """CPU seconds of every child this process waited for so far (wrk)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def per_unit_ms(used: dict[str, float], units: float, minimum_ms: float = 0.05) -> dict[str, float]:
    """Milliseconds of CPU per request (or login) for each process that spent any."""
    if units <= 0:
        return {}
    return {name: 1000 * seconds / units for name, seconds in used.items() if 1000 * seconds / units >= minimum_ms}


def format_cpu(per_unit: dict[str, float]) -> str:
    total = sum(per_unit.values())
    return f"{total:.2f} ms (" + ", ".join(f"{name} {ms:.2f}" for name, ms in sorted(per_unit.items(), key=lambda item: -item[1])) + ")"
