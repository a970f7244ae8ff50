#!/usr/bin/env python
"""Logins per second through the gateway, against the raw rate of the same hasher on the same cores.

    .venv/bin/python bench/logins.py [--duration 10] [--connections 8] [--migrated-users 1500] [--postgres [URL]]

Needs `wrk` (Debian: apt-get install wrk). Starts the whole system as `make run`
does on free ports, rate limits lifted (the benchmark is one IP hammering one
account), then measures with wrk:

- a new user: one registered account logging in again and again (Argon2 verify);
- migrated users: accounts imported from a generated users.db with real
  ``$2a$10$`` bcryptjs hashes; each logs in once, so every login is what a
  migrated user's first login costs (bcrypt verify, then the rehash to Argon2).

The raw rates run the same hashers (the auth service's own settings) in one
process per core, with nothing else of ours running: Argon2 verify, and bcrypt
verify plus an Argon2 hash. They are measured right before and right after each
wrk run, with the system up and idle, and averaged, so the ratio compares
figures taken on the same machine at the same time (the machine may be busy
with other work: the load average is printed). Targets (issue 11): a new
user's logins at least 0.8x the raw rate, a migrated user's first logins 0.9x.

Beside the rates, the CPU one login cost each process of the system (auth,
gateway, the users service's worker consuming the login event, ...; on
PostgreSQL the server's processes serving the run's databases, ``postgres``)
against the CPU one raw hash costs: the share of a login that is not the hash,
whatever else runs on the machine.

wrk waits up to 30 s for an answer (its default, 2 s, drops slower logins as
timeouts and sends new ones while the server still works on the old).

``--postgres [postgres://postgres@127.0.0.1:5432]``: production-like, on fresh
PostgreSQL databases (dropped afterwards) and the Redis of ``--redis-url``
(redis://127.0.0.1:6379/1).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from _support import CpuMeter, add_mode_options, format_cpu, mode_label, per_unit_ms, production_like  # noqa: E402
from common.legacy_import.source import create_legacy_database  # noqa: E402
from common.legacy_testing import bcryptjs_hash  # noqa: E402
from common.testing import free_port  # noqa: E402
from system import System  # noqa: E402

PASSWORD = "correct horse battery staple"
LIFTED = "100000000/m"
WRK_TIMEOUT = "30s"

# Runs inside the auth project: the hashers exactly as the service configures them.
# Prints the hashes per second and the CPU seconds one took.
RAW_RATE = textwrap.dedent(
    """
    import os, sys, time, django
    django.setup()
    from django.contrib.auth.hashers import check_password, make_password
    kind, seconds, encoded = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    password = sys.argv[4]
    count, started, cpu = 0, time.perf_counter(), time.process_time()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        assert check_password(password, encoded)
        if kind == "migrated":
            make_password(password)  # the rehash a first login does
        count += 1
    print(count / (time.perf_counter() - started), (time.process_time() - cpu) / count)
    """
)


def environment(var_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URL") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        VAR_DIR=var_dir,
        GATEWAY_PORT=str(free_port()),
        USERS_PORT=str(free_port()),
        AUTH_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
        GATEWAY_RATE_LIMIT_GLOBAL=LIFTED,
        GATEWAY_RATE_LIMIT_LOGIN_IP=LIFTED,
        GATEWAY_RATE_LIMIT_LOGIN_ACCOUNT=LIFTED,
        GATEWAY_RATE_LIMIT_REGISTER_IP=LIFTED,
        # Every login in flight counts towards the lockout until its hash says it was right:
        # more connections on one account than the threshold would be refused as locked.
        LOGIN_LOCKOUT_THRESHOLD="1000",
        LOG_LEVEL="WARNING",
    )
    return env


def wrk_logins(url: str, bodies: list[str], duration: int, connections: int, lua_path: Path) -> dict:
    """Logins per second, count, non-2xx answers and timeouts, posting ``bodies`` in turn.

    Each of wrk's two threads starts half-way through the list from the other,
    so with more bodies than logins no body is sent twice.
    """
    lua_path.write_text(
        "bodies = {" + ",".join(json.dumps(body) for body in bodies) + "}\n"
        + textwrap.dedent(
            """
            local counter = 0
            local threads = 0
            function setup(thread)
              thread:set("offset", threads * math.floor(#bodies / 2))
              threads = threads + 1
            end
            function request()
              counter = counter + 1
              local body = bodies[((offset + counter) % #bodies) + 1]
              return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
            end
            """
        )
    )
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", WRK_TIMEOUT, "-s", str(lua_path), url],
        capture_output=True, text=True, check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    timeouts = re.search(r"timeout (\d+)", output)
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "count": int(re.search(r"(\d+) requests in", output).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
        "timeouts": int(timeouts.group(1)) if timeouts else 0,
    }


def raw_rate(kind: str, encoded: str, seconds: float, env: dict[str, str]) -> tuple[float, float]:
    """(hashes per second with one process per core, CPU ms per hash), as the auth service configures them."""
    cores = os.cpu_count() or 1
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RAW_RATE, kind, str(seconds), encoded, PASSWORD],
            cwd=REPO_ROOT / "auth_project",
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
            stdout=subprocess.PIPE, text=True,
        )
        for _ in range(cores)
    ]
    figures = [tuple(map(float, process.communicate()[0].split())) for process in processes]
    return sum(rate for rate, _ in figures), 1000 * sum(cpu for _, cpu in figures) / len(figures)


def measure(kind, encoded, url, bodies, options, env, meter, lua) -> dict:
    """Raw rate, the logins through the system, raw rate again: one back-to-back comparison.

    While the raw rate is measured the system is idle: what it spends then
    (beats, relays, heartbeats) is its background, taken off the logins' CPU.
    """
    raw_seconds = max(3.0, options.duration / 2)
    meter.restart()
    started = time.monotonic()
    before, cpu_before = raw_rate(kind, encoded, raw_seconds, env)
    background = {name: seconds / (time.monotonic() - started) for name, seconds in meter.used().items()}
    load = os.getloadavg()[0]
    meter.restart()
    started = time.monotonic()
    logins = wrk_logins(url, bodies, options.duration, options.connections, lua)
    # The events of the last logins are still on their way (the relay sends them
    # in batches) or being consumed: wait for both before reading the CPU.
    events_wait(env)
    meter_wait(meter)
    elapsed = time.monotonic() - started
    used = {name: max(seconds - background.get(name, 0.0) * elapsed, 0.0) for name, seconds in meter.used().items()}
    after, cpu_after = raw_rate(kind, encoded, raw_seconds, env)
    return {
        **logins,
        "raw": (before + after) / 2,
        "raw_cpu": (cpu_before + cpu_after) / 2,
        "cpu": per_unit_ms(used, logins["count"]),
        "background": sum(background.values()),
        "load": load,
    }


def events_wait(env: dict[str, str], limit: float = 60.0) -> None:
    """Until the auth service's outbox has sent everything and no message waits on the users service's queue."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        status = {
            project: json.loads(
                subprocess.run(
                    [sys.executable, "manage_all.py", "--project", project, "events", "status", "--json"],
                    cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True,
                ).stdout.splitlines()[-1]
            )
            for project in ("auth", "users")
        }
        if status["auth"]["backlog"] == 0 and status["users"]["queued"] == 0:
            return
        time.sleep(0.5)


def meter_wait(meter, quiet_seconds: float = 1.0, limit: float = 30.0) -> None:
    """Until the system spends (almost) no CPU for ``quiet_seconds``: its workers are done."""
    deadline = time.monotonic() + limit
    last = sum(meter.used().values())
    while time.monotonic() < deadline:
        time.sleep(quiet_seconds)
        now = sum(meter.used().values())
        if now - last < 0.1 * quiet_seconds:
            return
        last = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--migrated-users", type=int, default=1500)
    add_mode_options(parser)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    legacy_hash = bcryptjs_hash(PASSWORD, prefix="2a")
    created = datetime(2019, 1, 1, tzinfo=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    with tempfile.TemporaryDirectory() as var_dir, production_like(environment(var_dir), options) as env:
        work = Path(var_dir)
        legacy_db = create_legacy_database(
            work / "users.db",
            ((i, f"migrated{i}@example.com", legacy_hash, f"User {i}", created) for i in range(1, options.migrated_users + 1)),
        )
        system = System(env, sink=lambda name, line: None)
        try:
            system.start(timeout=120)
            subprocess.run(
                [sys.executable, "manage_all.py", "migrate_from_sqlite", str(legacy_db), "--quiet"],
                cwd=REPO_ROOT, env=system.config.env, check=True, stdout=subprocess.DEVNULL,
            )
            login = f"{system.gateway_url}/api/login"
            request = urllib.request.Request(
                f"{system.gateway_url}/api/register",
                data=json.dumps({"email": "new.user@example.com", "password": PASSWORD}).encode(),
                headers={"Content-Type": "application/json"}, method="POST",
            )
            urllib.request.urlopen(request, timeout=30).read()
            argon2_hash = subprocess.run(
                [sys.executable, "-c", "import django; django.setup(); from django.contrib.auth.hashers import make_password;"
                 f" print(make_password({PASSWORD!r}))"],
                cwd=REPO_ROOT / "auth_project", env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
                capture_output=True, text=True, check=True,
            ).stdout.strip()
            new_body = [json.dumps({"email": "new.user@example.com", "password": PASSWORD})]
            migrated_bodies = [
                json.dumps({"email": f"migrated{i}@example.com", "password": PASSWORD})
                for i in range(1, options.migrated_users + 1)
            ]
            lua = work / "login.lua"
            meter = CpuMeter(system)
            wrk_logins(login, new_body, 2, options.connections, lua)  # warm-up
            events_wait(system.config.env)  # its events are not the idle system's background
            new = measure("new", argon2_hash, login, new_body, options, system.config.env, meter, lua)
            migrated = measure(
                "migrated", f"bcrypt${legacy_hash}", login, migrated_bodies, options, system.config.env, meter, lua
            )
        finally:
            system.stop()
    if migrated["count"] > options.migrated_users:
        print(f"note: more logins than migrated users ({options.migrated_users}); later ones were Argon2 logins")
    print(
        f"POST /api/login through the gateway, {mode_label(options)}, {options.connections} connections, "
        f"{options.duration} s, {os.cpu_count()} cores"
    )
    for label, figures, target in (
        ("new user (Argon2 verify)", new, 0.8),
        ("migrated user, first login (bcrypt verify + Argon2 rehash)", migrated, 0.9),
    ):
        print(
            f"  {label}: {figures['rate']:.1f} logins/s, raw hasher {figures['raw']:.1f}/s, "
            f"ratio {figures['rate'] / figures['raw']:.2f} (target >= {target}), non-2xx {figures['errors']}, "
            f"timeouts {figures['timeouts']}, load {figures['load']:.1f}"
        )
        total = sum(figures["cpu"].values())
        print(
            f"    CPU per login {format_cpu(figures['cpu'])}; raw hash {figures['raw_cpu']:.1f} ms: "
            f"the hash is {figures['raw_cpu'] / total:.0%} of a login's CPU (idle system's own "
            f"{1000 * figures['background']:.0f} ms/s taken off)"
        )
        # On a machine running nothing else both are CPU-bound: the ratio is what a hash costs
        # against what a login costs everything.
        print(f"    CPU-bound estimate (idle machine): ratio {figures['raw_cpu'] / total:.2f}")


if __name__ == "__main__":
    main()
