#!/usr/bin/env python
"""The profile read and a forwarded write through the gateway, against the legacy monolith in the same run.

    .venv/bin/python bench/api_profile.py [--monolith DIR] [--duration 8] [--connections 16] [--rounds 3] [--postgres [URL]]

Needs `wrk` (Debian: apt-get install wrk) and Node.js with npm (the monolith; see
``common/legacy_monolith.py``). Starts the monolith and the whole system as `make run`
does (free ports, the gateway's rate limits lifted so the load generator is not
throttled), registers a user on each, then runs wrk (``--rounds`` rounds; in each,
every case once, one after the other, so all see the same machine; medians
reported):

- ``GET /api/profile``: the monolith; through the gateway, whose edge reads answer
  it from the copy in Redis (token check, revocation and copy in one round trip);
- ``PUT /api/profile`` with the name it already has: the monolith; through the
  gateway, forwarded to the users service (the lean forwarding path);
- ``GET /api/profile`` forwarded: through a second gateway of the same system
  with edge reads off (``GATEWAY_EDGE_READS=false``), against the monolith's read;
- the gateway's own ``/health``: gunicorn, Django and the middleware with nothing
  behind them, the least a request through the gateway can cost.

Prints p50/p99, requests/s and non-2xx answers of each, the CPU one request cost
each process (wrk included), the ratios to the monolith and the load average:
wall-clock rates depend on what else the machine runs, ratios taken in the same
run much less. Targets (issue 11): the read >= 1.3x the monolith with a p99 no
worse, 0 non-2xx; the forwarded write >= 0.6x.

``--postgres [postgres://postgres@127.0.0.1:5432]``: production-like, on fresh
PostgreSQL databases (dropped afterwards) and the Redis of ``--redis-url``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import (  # noqa: E402
    CpuMeter,
    add_mode_options,
    children_cpu_seconds,
    format_cpu,
    mode_label,
    per_unit_ms,
    production_like,
    start_ids_high,
)
from common.legacy_monolith import Monolith, MonolithUnavailable, monolith_source  # noqa: E402
from common.testing import free_port  # noqa: E402
from system import System, gunicorn_spec  # noqa: E402

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
READ_TARGET = 1.3
FORWARDED_TARGET = 0.6
PASSWORD = "a long enough passphrase"
NAME = "Bench"
LEGACY_JWT_SECRET = "bench-legacy-secret"


def environment(var_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URL") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        VAR_DIR=var_dir,
        GATEWAY_PORT=str(free_port()),
        USERS_PORT=str(free_port()),
        AUTH_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
        GATEWAY_RATE_LIMIT_GLOBAL="100000000/m",
        LOG_LEVEL="WARNING",
    )
    return env


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wrk(url: str, headers: dict[str, str], duration: int, connections: int, script: Path | None = None) -> dict:
    """Run wrk; p50/p99 in ms, requests/s, and the count of non-2xx answers."""
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        argv += ["-s", str(script)]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout

    def latency(percentile: str) -> float:
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * UNITS[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "p50": latency("50"),
        "p99": latency("99"),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
    }


def median_run(runs: list[dict]) -> dict:
    """Each figure's median over the rounds."""
    return {key: statistics.median(run[key] for run in runs) for key in ("p50", "p99", "rps", "errors", "load")} | {
        "cpu": {
            name: statistics.median(run["cpu"].get(name, 0.0) for run in runs)
            for name in {name for run in runs for name in run["cpu"]}
        },
    }


def start_forwarding_gateway(system) -> str:
    """A second gateway of ``system`` with edge reads off, on a port of its own: its base URL."""
    port = free_port()
    spec = gunicorn_spec(system.config, "gateway", "gateway-forwarding", port)
    spec.env["GATEWAY_EDGE_READS"] = "false"
    spec.env["METRICS_BIND"] = ""
    system.specs[spec.name] = spec
    system.start_process(spec.name)
    system.wait_ready([spec.name], 60)
    return f"http://{system.config.host}:{port}"


def put_script(directory: str) -> Path:
    """A wrk script that sends ``PUT /api/profile`` with the name the user already has."""
    path = Path(directory) / "put_profile.lua"
    path.write_text(
        'wrk.method = "PUT"\n'
        f"wrk.body = '{json.dumps({'name': NAME})}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every case; medians are reported")
    add_mode_options(parser)
    parser.add_argument(
        "--monolith",
        default=os.environ.get("LEGACY_MONOLITH_DIR"),
        metavar="DIR",
        help="the legacy monolith's folder (index.js, package.json, package-lock.json), the peer every ratio is "
        "taken against (default: $LEGACY_MONOLITH_DIR, else the copy pinned in tests/legacy_monolith/)",
    )
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    runs: dict[str, list[dict]] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as var_dir, production_like(environment(var_dir), options) as env:
        try:
            monolith = Monolith(
                monolith_source(options.monolith), Path(var_dir) / "monolith-users.db", jwt_secret=LEGACY_JWT_SECRET
            )
        except MonolithUnavailable as exc:
            sys.exit(str(exc))
        system = System(env, sink=lambda name, line: None)
        try:
            system.start(timeout=120)
            start_ids_high(system.config.env)
            gateway = system.gateway_url
            forwarding = start_forwarding_gateway(system)
            token = post_json(
                f"{gateway}/api/register", {"email": "bench@example.com", "password": PASSWORD, "name": NAME}
            )["token"]
            legacy_token = monolith.register("bench@example.com", PASSWORD, NAME)
            put = put_script(var_dir)
            cases = [
                ("read, monolith", f"{monolith.url}/api/profile", legacy_token, None),
                ("read, gateway", f"{gateway}/api/profile", token, None),
                ("forwarded write, monolith", f"{monolith.url}/api/profile", legacy_token, put),
                ("forwarded write, gateway", f"{gateway}/api/profile", token, put),
                ("forwarded read, gateway", f"{forwarding}/api/profile", token, None),
                ("gateway /health", f"{gateway}/health", None, None),
            ]
            # Warm every path (connection pools, first-request imports, the edge copy) before measuring.
            for _, url, bearer, script in cases:
                wrk(url, {"Authorization": f"Bearer {bearer}"} if bearer else {}, 1, options.connections, script)
            meter = CpuMeter(system, others={"monolith": monolith.pid})
            for _ in range(options.rounds):
                for label, url, bearer, script in cases:
                    load = os.getloadavg()[0]
                    meter.restart()
                    wrk_cpu = children_cpu_seconds()
                    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
                    figures = wrk(url, headers, options.duration, options.connections, script)
                    requests = figures["rps"] * options.duration
                    used = {**meter.used(), "wrk": children_cpu_seconds() - wrk_cpu}
                    runs.setdefault(label, []).append({**figures, "cpu": per_unit_ms(used, requests), "load": load})
        finally:
            system.stop()
            monolith.stop()
    load_after = os.getloadavg()
    report(options, {label: median_run(label_runs) for label, label_runs in runs.items()}, load_before, load_after)


def report(options, figures: dict[str, dict], load_before, load_after) -> None:
    print(
        f"{mode_label(options)}, {options.connections} connections, {options.duration} s per run, median of "
        f"{options.rounds} rounds, wrk -t2, on {os.cpu_count()} cores; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after"
    )
    for label, run in figures.items():
        print(
            f"  {label:<27} {run['rps']:8.1f} req/s  p50 {run['p50']:6.2f} ms  p99 {run['p99']:6.2f} ms  "
            f"non-2xx {run['errors']:.0f}  load {run['load']:.1f}"
        )
        print(f"  {'':<27} CPU per request {format_cpu(run['cpu'])}")
    comparisons = (
        ("read", "read", READ_TARGET),
        ("forwarded write", "forwarded write", FORWARDED_TARGET),
        ("forwarded read", "read", FORWARDED_TARGET),
    )
    cores = os.cpu_count() or 1
    for kind, peer, target in comparisons:
        ours, theirs = figures[f"{kind}, gateway"], figures[f"{peer}, monolith"]
        our_cpu, their_cpu = sum(ours["cpu"].values()), theirs["cpu"].get("monolith", 0.0)
        # On a machine running nothing else both are CPU-bound: the system on every core, the
        # monolith (one Node.js thread) on one, wrk on what is left.
        estimate = (cores / our_cpu) / (1 / their_cpu) if our_cpu and their_cpu else float("nan")
        print(
            f"  {kind}: gateway / monolith {ours['rps'] / theirs['rps']:.2f}x (target >= {target}x); "
            f"p99 {ours['p99']:.1f} vs {theirs['p99']:.1f} ms; CPU per request {our_cpu:.2f} vs "
            f"{sum(theirs['cpu'].values()):.2f} ms; idle-machine estimate {estimate:.2f}x"
        )


if __name__ == "__main__":
    main()
