"""The cutover against the real monolith: the system in front of it, then the whole move, rehearsed.

Runs the monolith pinned in ``tests/legacy_monolith/`` with Node.js and npm;
skipped without them, saying so.
"""

from __future__ import annotations

import os

import pytest
from accounts import call
from conftest import launched_system
from monolith_support import monolith_environment, running_monolith


@pytest.fixture(scope="module")
def monolith_system(tmp_path_factory):
    """Phase 1: every legacy route on the monolith, the rest on the services."""
    directory = tmp_path_factory.mktemp("monolith-system")
    with running_monolith(directory) as monolith:
        embedded_redis = not os.environ.get("REDIS_URL")
        with launched_system(directory, embedded_redis=embedded_redis, extra_env=monolith_environment(monolith)) as (
            system,
            _,
        ):
            yield system, monolith


def test_the_system_starts_healthy_with_the_monolith_as_an_upstream(monolith_system):
    system, _ = monolith_system

    status, _, body = call(system.gateway_url, "GET", "/api/health")

    assert status == 200, body
    assert body["status"] == "OK"
    assert body["services"]["legacy"]["status"] == "up"
    assert {"users", "auth", "legacy"} <= set(body["services"])
