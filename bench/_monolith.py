"""The legacy monolith as the benchmarks' peer: installed once, started beside the system, measured in the same run.

The monolith's source (``index.js``, ``package.json``, ``package-lock.json``) is
not part of this repository: benchmarks take its folder with ``--monolith DIR``
(or ``LEGACY_MONOLITH_DIR``). It is copied under ``var/legacy-monolith/`` and
installed there with ``npm ci`` the first time (a minute or more: ``sqlite3``
builds), then started with ``node index.js`` on a free port with a users.db of
the run's own.
"""

from __future__ import annotations

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
JWT_SECRET = "bench-legacy-secret"


def add_monolith_option(parser) -> None:
    parser.add_argument(
        "--monolith",
        default=os.environ.get("LEGACY_MONOLITH_DIR"),
        metavar="DIR",
        help="the legacy monolith's folder (index.js, package.json, package-lock.json), the peer every ratio is "
        "taken against (default: $LEGACY_MONOLITH_DIR)",
    )


def install(source: Path) -> Path:
    """The monolith installed under ``var/legacy-monolith`` (``npm ci`` when its files changed or it never ran)."""
    missing = [name for name in SOURCE_FILES if not (source / name).is_file()]
    if missing:
        raise SystemExit(f"{source} is not the monolith's folder: no {', '.join(missing)}")
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    same = all((INSTALL_DIR / name).is_file() and filecmp.cmp(source / name, INSTALL_DIR / name, shallow=False)
               for name in SOURCE_FILES)
    if not same or not (INSTALL_DIR / "node_modules").is_dir():
        for name in SOURCE_FILES:
            shutil.copyfile(source / name, INSTALL_DIR / name)
        print(f"installing the monolith under {INSTALL_DIR} (npm ci) ...", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=INSTALL_DIR, check=True, capture_output=True)
    return INSTALL_DIR


class Monolith:
    """``node index.js`` on a free port with a users.db of its own; stopped with ``stop``."""

    def __init__(self, source: Path, work_dir: Path):
        self.directory = install(source)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DB_PATH": str(work_dir / "monolith-users.db"), "PORT": str(self.port),
               "JWT_SECRET": JWT_SECRET}
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
                raise SystemExit(f"the monolith did not answer on {self.url}/api/health")
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
