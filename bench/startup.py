#!/usr/bin/env python
"""How fast the system comes up, and how fast /api/health answers when a service hangs.

    .venv/bin/python bench/startup.py [--runs 3]

Prints, for the embedded defaults (SQLite, embedded Redis), on free ports:
- cold start: empty state directory, so migrations run first, until /api/health is 200;
- warm start: the same directory again, already migrated;
- /api/health latency with every part up, and with the users service hanging
  (its gunicorn stopped with SIGSTOP: it accepts connections and never answers).
Targets (issue 2): healthy within 30 s of `make run` (aim 10 s); /api/health within 1 s
even when a service hangs.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.testing import free_port  # noqa: E402
from system import System  # noqa: E402


def environment(var_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_URL") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        VAR_DIR=var_dir,
        GATEWAY_PORT=str(free_port()),
        USERS_PORT=str(free_port()),
        AUTH_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
    )
    return env


def timed_get(url: str) -> tuple[float, int]:
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return (time.perf_counter() - start) * 1000, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    cold, warm, healthy_ms, hanging_ms = [], [], [], []
    for _ in range(options.runs):
        with tempfile.TemporaryDirectory() as var_dir:
            env = environment(var_dir)
            for bucket in (cold, warm):
                system = System(env, sink=lambda name, line: None)
                try:
                    bucket.append(system.start(timeout=120))
                    health = f"{system.gateway_url}/api/health"
                    if bucket is warm:
                        healthy_ms += [timed_get(health)[0] for _ in range(20)]
                        users = system.processes["users"]
                        users.signal(signal.SIGSTOP)
                        try:
                            for _ in range(5):
                                elapsed, status = timed_get(health)
                                assert status == 503, status
                                hanging_ms.append(elapsed)
                        finally:
                            users.signal(signal.SIGCONT)
                finally:
                    system.stop()
    print(f"cold start to healthy (migrations included): median {statistics.median(cold):.1f} s, max {max(cold):.1f} s over {len(cold)} runs")
    print(f"warm start to healthy:                       median {statistics.median(warm):.1f} s, max {max(warm):.1f} s over {len(warm)} runs")
    print(f"/api/health, every part up:                  median {statistics.median(healthy_ms):.1f} ms, max {max(healthy_ms):.1f} ms")
    print(f"/api/health, users service hanging (503):    median {statistics.median(hanging_ms):.1f} ms, max {max(hanging_ms):.1f} ms")


if __name__ == "__main__":
    main()
