"""pytest fixtures every suite shares (loaded with ``-p common.testing``).

Tests use real parts: a Redis is the ``REDIS_URL`` one when set (CI's
production-like run), otherwise a real redis-server, the one ``make run`` would
start (``common.embedded_redis``), started here on a free port and stopped at the end.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
import redis

from common.embedded_redis import redis_server_binary


def gevent_scenario(**scenario) -> dict:
    """Run ``scenario`` in a process gevent has patched (``common.gevent_testing``) and return what it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "common.gevent_testing", json.dumps(scenario)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,  # a wait that never ends fails the test instead of hanging it
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A real redis-server in a directory of its own, that a test may stop and start again."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory = directory
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._argv = [
            redis_server_binary().path,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(directory),
            "--appendonly", "yes",
            "--save", "",
            "--maxmemory-policy", "noeviction",
        ]
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(self._argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} did not start")
                time.sleep(0.05)

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        self._process = None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A reachable Redis: ``REDIS_URL`` when set, else an embedded one for this session."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def unreachable_redis_url() -> str:
    """A Redis URL where nothing listens."""
    return f"redis://127.0.0.1:{free_port()}/0"


def table_placement_problems() -> list[str]:
    """Every model table that is missing from the database the routers chose, or present elsewhere.

    Run after the test databases were migrated: it holds when ``migrate`` put
    every table in the right database and nowhere else.
    """
    from django.apps import apps
    from django.db import connections, router

    tables_by_alias = {alias: set(connections[alias].introspection.table_names()) for alias in connections}
    problems = []
    for model in apps.get_models(include_auto_created=True):
        if not model._meta.managed or model._meta.proxy:
            continue
        table = model._meta.db_table
        expected = router.db_for_write(model)
        for alias, tables in tables_by_alias.items():
            if alias == expected and table not in tables:
                problems.append(f"{table} missing from {alias!r}")
            elif alias != expected and table in tables:
                problems.append(f"{table} also in {alias!r} (belongs in {expected!r})")
    return problems


class InternalAuthClientMixin:
    """A Django test client whose every request carries ``X-Internal-Auth`` made for it (its method and path).

    ``signer(method, path)`` makes the header: an assertion is good for one request only.
    """

    def __init__(self, *args, signer, **kwargs):
        super().__init__(*args, **kwargs)
        self.signer = signer

    def request(self, **request):
        request["HTTP_X_INTERNAL_AUTH"] = self.signer(request["REQUEST_METHOD"], request["PATH_INFO"])
        return super().request(**request)


# The staff admin's middleware (common.staff_admin), as both services' config/tests/test_staff_admin.py check it
# ------------------------------------------------------------------------------


def every_middleware_for_every_path(settings) -> list[str]:
    """``MIDDLEWARE`` as it was before ``common.staff_admin.StaffAdminMiddleware``: the admin's for every path."""
    return [
        *(name for name in settings.MIDDLEWARE if name != "common.staff_admin.StaffAdminMiddleware"),
        *settings.STAFF_ADMIN_MIDDLEWARE,
    ]


def staff_admin_misconfigurations(settings) -> list[dict]:
    """Settings each of which ``staff_admin_middleware_check`` must refuse: a middleware of the chain missing,
    the chain not in ``MIDDLEWARE``, the admin's path or everything skipped (for ``override_settings``)."""
    return [
        {"STAFF_ADMIN_MIDDLEWARE": [name for name in settings.STAFF_ADMIN_MIDDLEWARE if "csrf" not in name]},
        {"MIDDLEWARE": [name for name in settings.MIDDLEWARE if name != "common.staff_admin.StaffAdminMiddleware"]},
        {"STAFF_ADMIN_SKIPPED_PATHS": [*settings.STAFF_ADMIN_SKIPPED_PATHS, "/adm"]},
        {"STAFF_ADMIN_SKIPPED_PATHS": ["/"]},
    ]


def answer_compared(response, masked=("token", "refresh")) -> tuple:
    """A response's status, every header in its order, its cookies and body, to hold two answers equal.

    The request id is a new random one each time, and so are the tokens of a JSON body's ``masked`` keys.
    """
    headers = [(name, "<id>" if name == "X-Request-ID" else value) for name, value in response.items()]
    body = response.content
    if response.get("Content-Type") == "application/json" and body.startswith(b"{"):
        data = json.loads(body)
        if masked_here := [key for key in masked if key in data]:
            body = json.dumps({**data, **dict.fromkeys(masked_here, "<token>")}).encode()
    return response.status_code, headers, response.cookies.output(), body


def assert_the_admins_paths_go_through_its_middleware(settings, client) -> None:
    """The admin's login page through its chain: the CSRF cookie and framing on the page, a post without a token refused.

    ``client`` enforces CSRF checks (``Client(enforce_csrf_checks=True)``).
    """
    page = client.get("/admin/login/")
    refused = client.post("/admin/login/", {"username": "a", "password": "b"})

    assert page.status_code == 200
    assert settings.CSRF_COOKIE_NAME in page.cookies  # the CSRF middleware, its process_response
    assert page["X-Frame-Options"] == "DENY"
    assert refused.status_code == 403  # its process_view: no CSRF token


# A service's database router, as both services' config/tests/test_routers.py check it
# ------------------------------------------------------------------------------


def assert_read_and_written_in(router, model, alias: str) -> None:
    """``model`` is read and written in the ``alias`` database."""
    assert router.db_for_read(model) == alias
    assert router.db_for_write(model) == alias


def assert_left_to_default(router, model) -> None:
    """The router says nothing about ``model``: Django's ``default`` takes it."""
    assert router.db_for_read(model) is None
    assert router.db_for_write(model) is None


def assert_migrates_into_only(router, alias: str, app_label: str) -> None:
    """``app_label`` migrates into the ``alias`` database and not into ``default``."""
    assert router.allow_migrate(alias, app_label) is True
    assert router.allow_migrate("default", app_label) is False


def assert_not_migrated_into(router, alias: str, app_label: str) -> None:
    """``app_label`` never migrates into the ``alias`` database, and the router leaves ``default`` to Django."""
    assert router.allow_migrate(alias, app_label) is False
    assert router.allow_migrate("default", app_label) is None
