"""The legacy monolith beside a system under test: the cutover's starting point.

The monolith is the copy pinned in ``tests/legacy_monolith/`` (or the folder
``LEGACY_MONOLITH_DIR`` names); without Node.js and npm the tests that need it
are skipped and say why.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from common.legacy_monolith import Monolith, MonolithUnavailable, monolith_source

LEGACY_SECRET = "rehearsal-legacy-secret-long-enough-for-hs256"
# Every route the monolith had, sent to it: where a company starts the cutover.
LEGACY_ROUTES = ("/api/register", "/api/login", "/api/profile", "/api/change-password")


@contextmanager
def running_monolith(directory: Path):
    """The monolith on a free port, its users.db in ``directory``; skips the test when it cannot run here."""
    try:
        source = monolith_source()
    except MonolithUnavailable as exc:
        pytest.skip(f"no legacy monolith to run against: {exc}")
    monolith = Monolith(source, directory / "users.db", jwt_secret=LEGACY_SECRET)
    try:
        yield monolith
    finally:
        monolith.stop()


def monolith_environment(monolith: Monolith, **extra: str) -> dict[str, str]:
    """A system's variables for phase 1: every legacy route on the monolith, its tokens honoured."""
    return {
        "LEGACY_UPSTREAM_URL": monolith.url,
        "GATEWAY_ROUTE_OVERRIDES": ",".join(f"{prefix}=legacy" for prefix in LEGACY_ROUTES),
        "LEGACY_JWT_SECRET": LEGACY_SECRET,
        **extra,
    }
