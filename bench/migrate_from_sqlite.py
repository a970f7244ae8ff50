#!/usr/bin/env python
"""How fast a big users.db goes into PostgreSQL for both services, and in how much memory.

    .venv/bin/python bench/migrate_from_sqlite.py [--rows 1000000] [--postgres postgres://postgres@127.0.0.1:5432]

Generates a users.db of ``--rows`` rows with the monolith's schema and quirks
(id gaps, names NULL/unicode/padded/long, the three created_at forms, case-variant
duplicates, an empty address, hashes that are not bcrypt). Real bcrypt hashes cost
~60 ms each, so the rows share a pool of 16 real ``$2a$10$``/``$2b$10$`` hashes.
Then, into fresh PostgreSQL databases made for the run (and dropped after):

- ``manage_all.py migrate_from_sqlite`` (users and auth at once): wall time, CPU,
  peak memory;
- the same again (a catch-up run that finds nothing to do);
- ``--verify`` (both services, every row);
- with pgloader installed (``apt-get install pgloader``), pgloader loading the same
  file into one database, and the ratio of the two.

CPU is given twice: the command's processes (user + system, children included),
and PostgreSQL's: its backends serving the run's databases, read from /proc while
they live (the server is shared; other databases' work is not counted).

Targets (issue 5): under 60 s for 1,000,000 rows in all; peak memory under 300 MB
whatever the size; at least as fast as pgloader while doing more.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from common.legacy_import.exit_codes import EXIT_CLEAN, EXIT_NEEDS_ATTENTION  # noqa: E402
from common.legacy_import.source import create_legacy_database  # noqa: E402
from common.legacy_testing import bcryptjs_hash  # noqa: E402
from _support import postgres_server_processes  # noqa: E402
from system import postgres_execute  # noqa: E402

DATABASES = {
    "USERS_DB_DEFAULT_URL": "users_default",
    "USERS_DB_USERS_URL": "users",
    "AUTH_DB_DEFAULT_URL": "auth_default",
    "AUTH_DB_CREDENTIALS_URL": "auth_credentials",
}
CREATED_AT_FORMS = ("{d} {t}", "{d}T{t}.000Z", "{d}T{t}")


def legacy_rows(count: int):
    """``count`` rows as the monolith may have left them, generated lazily (memory stays flat)."""
    hashes = [bcryptjs_hash(f"password-{i}", prefix="2a" if i % 4 else "2b") for i in range(16)]
    row_id = 0
    for n in range(count):
        row_id += 2 if n % 10 == 9 else 1  # a gap every ten rows: deleted users
        if n % 5000 == 4999:
            email = f"User{row_id - 1}@Example.com"  # a case variant of the row before it
        elif n == count // 2:
            email = ""
        else:
            email = f"user{row_id}@example.com"
        password = "sha1$legacy$0000" if n % 50_000 == 49_999 else hashes[n % 16]
        if n % 7 == 0:
            name = None
        elif n % 11 == 0:
            name = f"Zoë 山田 {n} 🎉"
        elif n % 13 == 0:
            name = f"  Padded {n}  "
        elif n % 997 == 0:
            name = "Long " + "x" * 2000
        else:
            name = f"User {n}"
        day = f"20{10 + n % 14:02d}-{1 + n % 12:02d}-{1 + n % 28:02d}"
        moment = f"{n % 24:02d}:{n % 60:02d}:{(n * 7) % 60:02d}"
        created_at = CREATED_AT_FORMS[n % 3].format(d=day, t=moment)
        yield (row_id, email, password, name, created_at)


class Postgres:
    """Fresh databases on one PostgreSQL server, dropped at the end."""

    def __init__(self, server_url: str):
        self.server_url = server_url.rstrip("/")
        self.marker = f"import_bench_{uuid.uuid4().hex[:8]}"  # every database's name starts with it
        self.created: list[str] = []

    def create(self, name: str) -> str:
        full = f"{self.marker}_{name}"
        self._execute(f'CREATE DATABASE "{full}"')
        self.created.append(full)
        return f"{self.server_url}/{full}"

    def drop_all(self) -> None:
        for name in self.created:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _execute(self, statement: str) -> None:
        postgres_execute(self.server_url, statement)


class ServerCpu:
    """CPU seconds of the PostgreSQL backends serving databases whose names hold ``marker``, and their parallel workers.

    Each one's figure is read from /proc every 0.1 s while it lives, so at most
    its last tenth of a second is missed. The server's shared processes (WAL
    writer, checkpointer) are not counted.
    """

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, marker: str):
        self.marker = marker
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ServerCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())

    def _sample(self) -> None:
        while True:
            self._read()
            if self._stop.wait(0.1):
                self._read()
                return

    def _read(self) -> None:
        for pid, command in postgres_server_processes():
            leader = re.search(r"parallel worker for PID (\d+)", command)
            if self.marker not in command and not (leader and int(leader.group(1)) in self.seen):
                continue
            try:
                with open(f"/proc/{pid}/stat") as file:
                    fields = file.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            self.seen[pid] = (int(fields[11]) + int(fields[12])) / self.TICK


@dataclass
class Timing:
    seconds: float  # wall clock
    cpu: float  # user + system seconds of the process and every child it waited for (not PostgreSQL's)
    server_cpu: float  # PostgreSQL's, for the run's databases (ServerCpu)
    peak_mb: float  # the largest resident set among them
    status: int
    output: str


def timed(argv: list[str], env: dict[str, str], server_marker: str) -> Timing:
    """Run ``argv`` to its end; how long it took, the CPU it and PostgreSQL used, and its peak memory."""
    started = time.perf_counter()
    with ServerCpu(server_marker) as server:
        process = subprocess.Popen(argv, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = process.stdout.read().decode(errors="replace")
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
    return Timing(
        seconds=seconds,
        cpu=usage.ru_utime + usage.ru_stime,
        server_cpu=server.seconds,
        peak_mb=usage.ru_maxrss / 1024,
        status=process.returncode,
        output=output,
    )


def service_seconds(output: str, verb: str) -> str:
    found = re.findall(rf"^(users|auth): {verb} [\d,]+ rows(?: of users.db)? in ([\d.]+)s", output, re.M)
    return ", ".join(f"{service} {seconds} s" for service, seconds in found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres", default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
    )
    options = parser.parse_args()

    postgres = Postgres(options.postgres)
    load_before = f"{os.getloadavg()[0]:.1f}"
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "users.db"
        started = time.perf_counter()
        create_legacy_database(path, legacy_rows(options.rows))
        print(f"users.db: {options.rows:,} rows, {path.stat().st_size / 2**20:.0f} MB, "
              f"generated in {time.perf_counter() - started:.1f}s")
        try:
            env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
            env["VAR_DIR"] = str(Path(workdir) / "var")
            for variable, name in DATABASES.items():
                env[variable] = postgres.create(name)
            subprocess.run([sys.executable, "manage_all.py", "migrate", "--verbosity", "0"], env=env, cwd=REPO_ROOT,
                           check=True, stdout=subprocess.DEVNULL)

            command = [sys.executable, "manage_all.py", "migrate_from_sqlite", str(path), "--quiet"]
            results = {}
            for label, extra in (("import", []), ("again", []), ("verify", ["--verify"])):
                results[label] = timing = timed([*command, *extra], env, postgres.marker)
                if timing.status not in (EXIT_CLEAN, EXIT_NEEDS_ATTENTION):
                    print(timing.output)
                    print(f"{label} failed with exit status {timing.status}")
                    return 1
            print(f"load average before and after: {load_before}, {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
            print()
            print(f"{'run':<44} {'wall':>8} {'CPU':>8} {'+ server':>9} {'peak RSS':>10}   inside the commands")
            rows = [
                ("import (users + auth)", "import", "read"),
                ("again: catch-up run, nothing changed", "again", "read"),
                ("--verify (users + auth, every row)", "verify", "verified"),
            ]
            for title, label, verb in rows:
                timing = results[label]
                print(
                    f"{title:<44} {timing.seconds:7.1f}s {timing.cpu:7.1f}s {timing.server_cpu:8.1f}s "
                    f"{timing.peak_mb:7.0f} MB   {service_seconds(timing.output, verb)}"
                )
            attention = re.findall(r"^(users|auth): ([\d,]+) rows need attention", results["import"].output, re.M)
            print("rows needing attention: " + ", ".join(f"{service} {count}" for service, count in attention))

            if shutil.which("pgloader") is None:
                print("\npgloader is not installed (apt-get install pgloader): no comparison")
                return 0
            target = postgres.create("pgloader")
            loader = timed(["pgloader", f"sqlite://{path}", target], env, f"{postgres.marker}_pgloader")
            if loader.status != 0:
                print(loader.output)
                print(f"pgloader failed with exit status {loader.status}")
                return 1
            ours = results["import"].seconds
            print(
                f"\n{'pgloader (one database, table copied as is)':<44} {loader.seconds:7.1f}s {loader.cpu:7.1f}s "
                f"{loader.server_cpu:8.1f}s {loader.peak_mb:7.0f} MB"
            )
            print(f"ratio: migrate_from_sqlite / pgloader = {ours / loader.seconds:.2f} "
                  f"({'faster' if ours < loader.seconds else 'slower'})")
        finally:
            postgres.drop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
