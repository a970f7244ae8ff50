"""The legacy monolith as a peer process: installed once, started beside the system, stopped after.

Used by the benchmarks (ratios against the monolith) and the cutover rehearsal
(``tests/test_cutover.py``). Its source (``index.js``, ``package.json``,
``package-lock.json``) is the pinned copy in ``tests/legacy_monolith/``, or the
folder ``LEGACY_MONOLITH_DIR`` (or a benchmark's ``--monolith DIR``) names.
It is copied under ``var/legacy-monolith/`` and installed there with ``npm ci``
the first time (a minute or more: ``sqlite3`` builds), then started with
``node index.js`` on a free port, with a users.db and a JWT secret of the caller's.
"""

from __future__ import annotations

import fcntl
import filecmp
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from common.testing import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTALL_DIR = REPO_ROOT / "var" / "legacy-monolith"
SOURCE_FILES = ("index.js", "package.json", "package-lock.json")
SOURCE_VARIABLE = "LEGACY_MONOLITH_DIR"
PINNED_COPY = REPO_ROOT / "tests" / "legacy_monolith"


class MonolithUnavailable(Exception):
    """The monolith cannot be run here: no folder given, not its folder, no Node.js or npm, or it did not start."""


def monolith_source(given: str | None = None) -> Path:
    """The monolith's folder: ``given``, else ``LEGACY_MONOLITH_DIR``, else the pinned copy; checked, with node and
    npm on the PATH."""
    source = Path(given or os.environ.get(SOURCE_VARIABLE) or PINNED_COPY)
    missing = [name for name in SOURCE_FILES if not (source / name).is_file()]
    if missing:
        raise MonolithUnavailable(f"{source} is not the monolith's folder: no {', '.join(missing)}")
    tools = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if tools:
        raise MonolithUnavailable(f"the monolith needs Node.js and npm: {' and '.join(tools)} not on the PATH")
    return source


def install(source: Path) -> Path:
    """The monolith installed under ``var/legacy-monolith`` (``npm ci`` when its files changed or it never ran).

    One install at a time (a lock file): two runs starting together share it.
    """
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    with (INSTALL_DIR.parent / "legacy-monolith.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        same = all(
            (INSTALL_DIR / name).is_file() and filecmp.cmp(source / name, INSTALL_DIR / name, shallow=False)
            for name in SOURCE_FILES
        )
        if not same or not (INSTALL_DIR / "node_modules").is_dir():
            for name in SOURCE_FILES:
                shutil.copyfile(source / name, INSTALL_DIR / name)
            print(f"installing the monolith under {INSTALL_DIR} (npm ci) ...", flush=True)
            result = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"], cwd=INSTALL_DIR, capture_output=True, text=True
            )
            if result.returncode != 0:
                raise MonolithUnavailable(f"npm ci failed in {INSTALL_DIR}: {result.stderr.strip()[-500:]}")
    return INSTALL_DIR


class Monolith:
    """``node index.js`` on a free port with the users.db ``db_path``; stopped with ``stop``."""

    def __init__(self, source: Path, db_path: Path, *, jwt_secret: str):
        self.directory = install(source)
        self.db_path = db_path
        self.jwt_secret = jwt_secret
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DB_PATH": str(db_path), "PORT": str(self.port), "JWT_SECRET": jwt_secret}
        self.process = subprocess.Popen(
            ["node", "index.js"], cwd=self.directory, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._wait_ready()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise MonolithUnavailable(f"the monolith did not answer on {self.url}/api/health")
            time.sleep(0.1)

    def register(self, email: str, password: str, name: str) -> str:
        """A new user's token."""
        request = urllib.request.Request(
            f"{self.url}/api/register",
            data=json.dumps({"email": email, "password": password, "name": name}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["token"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
