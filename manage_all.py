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

``System`` itself (the processes, their readiness, their end) is in ``system.py``,
which the cross-service tests and the benchmarks use too; this module is the
command fan-out, the legacy import's parallel runner and the CLI (the production
image carries it without ``system.py``: its migrate command).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from common.legacy_import.exit_codes import EXIT_CLEAN, EXIT_NEEDS_ATTENTION, EXIT_VERIFY_MISMATCH

REPO_ROOT = Path(__file__).resolve().parent

# name -> directory, in the order commands run and processes start.
PROJECTS = {"users": "users_project", "auth": "auth_project", "gateway": "gateway_project"}
# The legacy import runs in these projects, at once; its output names them in this order (docs/migration.md).
LEGACY_IMPORT_COMMAND = "migrate_from_sqlite"
LEGACY_IMPORT_PROJECTS = ("users", "auth")
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


def up(env: dict[str, str]) -> int:
    """``manage_all.py up``: run the system in the foreground until Ctrl-C, SIGTERM or SIGHUP."""
    # Here, not at the top: the production image carries this file without system.py.
    from system import PrintSink, System

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


def ready_block(config) -> list[str]:
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
