#!/usr/bin/env python
"""The floor of a login: the least any design of this product can do, against the raw hasher.

    .venv/bin/python bench/login_floor.py [--duration 10] [--connections 8] [--variants two-commits,one-commit]
                                          [--postgres URL | --sqlite] [--redis-url URL]

Needs `wrk`, a PostgreSQL server (default postgres://postgres@127.0.0.1:5432; with ``--sqlite``
the auth service's database is a SQLite file instead, as on embedded defaults) and a Redis
(default redis://127.0.0.1:6379/1). Not the system: a probe of what its parts allow (issue 11,
part 3, "Logins"). Two Django projects, each one file written here and served by gunicorn as the
system's are, do only what a login must do, every shortcut in their favour:

- a gateway (gevent worker): one django-ratelimit limit on the client's address (django-redis),
  the request forwarded over a kept-alive connection; no request id, metrics, CORS, access log,
  internal assertion or body checks;
- an auth service (threads; the hash on one thread per core, as the system's): the attempt
  counted before the hash in one statement that also reads the credential (its commit), the
  Argon2 verify of the auth service's own hash (its parameters), two ES256 signatures (PyJWT, as
  SimpleJWT signs), and the success, the refresh token's record and the outbox row in one
  statement (the second commit); no middleware, DRF, revocation lookup, logging or metrics;
  nothing consumes the events.

What neither can skip: two processes with Django's request handling, an HTTP hop between them,
a Redis round trip for the limit, the commits, the hash and the two signatures. Variant
``one-commit`` only reads the credential before the hash (the lockout's guarantee given up) to
show what even that would leave. Logins of one account per second through it, against the raw
rate of the same hash with one process per core (``bench/logins.py``'s), measured before and
after; the CPU one login cost each process (PostgreSQL's backends of the probe's database
included), and the hash's own CPU on the auth service's hashing threads against the raw hash's:
the best ratio a new user's login can reach on this machine with the database on the same cores
(PostgreSQL) or in the auth service's process (SQLite).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from _support import DEFAULT_POSTGRES, DEFAULT_REDIS, CpuMeter, format_cpu, per_unit_ms  # noqa: E402
from logins import PASSWORD, raw_rate, wrk_logins  # noqa: E402
from common.testing import free_port  # noqa: E402
from system import postgres_execute  # noqa: E402

EMAIL = "floor@example.com"

# What the two projects' settings share (their common/).
SETTINGS = textwrap.dedent(
    '''
    """The floor's projects' settings: no apps, no middleware; a refused or failed request printed, nothing else."""
    import django
    from django.conf import settings

    LOGGING = {"version": 1, "handlers": {"console": {"class": "logging.StreamHandler"}},
               "loggers": {"django.request": {"handlers": ["console"], "level": "WARNING"}}}


    def configure(urls, **more):
        settings.configure(
            DEBUG=False, SECRET_KEY="floor", ALLOWED_HOSTS=["*"], ROOT_URLCONF=urls, MIDDLEWARE=[],
            INSTALLED_APPS=[], USE_TZ=True, LOGGING=LOGGING, **more,
        )
        django.setup()
    '''
)

GATEWAY = textwrap.dedent(
    '''
    """The floor's gateway: POST /api/login under one django-ratelimit limit, forwarded."""
    import http.client
    import os

    import floor_settings

    floor_settings.configure(__name__, CACHES={"default": {
        "BACKEND": "django_redis.cache.RedisCache", "LOCATION": os.environ["FLOOR_REDIS_URL"],
        "KEY_PREFIX": os.environ["FLOOR_RUN"],
    }})

    from django.core.wsgi import get_wsgi_application
    from django.http import HttpResponse, JsonResponse
    from django.urls import path
    from django_ratelimit.core import is_ratelimited

    UPSTREAM = ("127.0.0.1", int(os.environ["FLOOR_AUTH_PORT"]))
    idle = []


    def forward(body):
        for attempt in (1, 2):  # a kept-alive connection the upstream closed: once more on a new one
            reuse = attempt == 1 and idle
            connection = idle.pop() if reuse else http.client.HTTPConnection(*UPSTREAM, timeout=30)
            try:
                connection.request("POST", "/api/login", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                if attempt == 2:
                    raise
                continue
            idle.append(connection)
            return response.status, data


    def login(request):
        if is_ratelimited(request, group="login", key="ip", rate="100000000/m", increment=True):
            return JsonResponse({"error": "Too many requests"}, status=429)
        status, data = forward(request.body)
        return HttpResponse(data, status=status, content_type="application/json")


    urlpatterns = [path("api/login", login)]
    application = get_wsgi_application()
    '''
)

AUTH = textwrap.dedent(
    '''
    """The floor's auth service: an attempt counted, the hash, two signatures, the success recorded."""
    import json
    import os
    import time
    import uuid
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime, timedelta, timezone

    import floor_settings

    floor_settings.configure(__name__, DATABASES={"default": json.loads(os.environ["FLOOR_DATABASE"])})

    import argon2
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.core.wsgi import get_wsgi_application
    from django.db import connection, transaction
    from django.http import JsonResponse
    from django.urls import path

    # "two-commits": the attempt counted before the hash (the system's lockout); "one-commit": only read, the
    # lockout's guarantee given up, to show what even that would leave.
    COUNTED = os.environ["FLOOR_VARIANT"] == "two-commits"
    HASHER = argon2.PasswordHasher()
    HASHING = ThreadPoolExecutor(max_workers=os.cpu_count())
    HASHED = {"count": 0, "cpu": 0.0}  # the hashes' own CPU on their threads: what the hash cost in here
    KEY = ec.generate_private_key(ec.SECP256R1())
    POSTGRESQL = connection.vendor == "postgresql"
    ATTEMPT = (
        "UPDATE credential SET failed_login_count = failed_login_count + 1, updated_at = %(now)s"
        " WHERE email = %(email)s AND is_active AND failed_login_count < 1000"
        " AND (locked_until IS NULL OR locked_until <= %(now)s) RETURNING user_id, password, token_version"
    )
    READ = (
        "SELECT user_id, password, token_version FROM credential WHERE email = %(email)s AND is_active"
        " AND failed_login_count < 1000 AND (locked_until IS NULL OR locked_until <= %(now)s)"
    )
    UPDATED = (
        "UPDATE credential SET failed_login_count = 0, locked_until = NULL, last_login_at = %(now)s,"
        " updated_at = %(now)s, event_version = event_version + 1 WHERE user_id = %(user)s RETURNING event_version"
    )
    RECORDED = (
        "INSERT INTO refresh_token (jti, credential_id, family, issued_at, expires_at)"
        " VALUES (%(jti)s, %(user)s, %(family)s, %(now)s, %(expires)s)"
    )
    PUBLISHED = (
        "INSERT INTO outbox (id, type, aggregate_id, version, payload, occurred_at, attempts)"
        " SELECT %(event)s, 'auth.login.success', %(user)s, {version}, %(payload)s, %(now)s, 0"
    )
    # PostgreSQL: one statement, its own transaction. SQLite (no data-modifying WITH): three in one transaction,
    # calls into the process's own library.
    SUCCESS = f"WITH s AS ({UPDATED}), r AS ({RECORDED}) {PUBLISHED.format(version='s.event_version')} FROM s"


    def verify(encoded, password):
        started = time.thread_time()
        try:
            return HASHER.verify(encoded, password)
        except argon2.exceptions.VerificationError:
            return False
        finally:
            HASHED["cpu"] += time.thread_time() - started  # one hashing thread per core: += under the GIL
            HASHED["count"] += 1


    def hashed(request):
        return JsonResponse({"count": HASHED["count"], "cpu": HASHED["cpu"]})


    def sign(claims):
        return jwt.encode(claims, KEY, algorithm="ES256", headers={"kid": "floor"})


    def login(request):
        try:
            body = json.loads(request.body)
            email, password = body["email"], body["password"]
        except (ValueError, KeyError, TypeError):
            return JsonResponse({"error": "Invalid input"}, status=400)
        at = datetime.now(timezone.utc)
        with connection.cursor() as cursor:  # autocommit: the statement is its transaction
            cursor.execute(ATTEMPT if COUNTED else READ, {"email": email, "now": at})
            row = cursor.fetchone()
        if row is None or not HASHING.submit(verify, row[1], password).result():
            return JsonResponse({"error": "Invalid credentials"}, status=401)
        user_id, _, version = row
        now, family = int(time.time()), str(uuid.uuid4())
        refresh = {"token_type": "refresh", "exp": now + 86400, "iat": now, "jti": uuid.uuid4().hex,
                   "user_id": user_id, "ver": version, "fam": family}
        access = {**refresh, "token_type": "access", "exp": now + 900, "jti": uuid.uuid4().hex, "email": email}
        token, refresh_token = sign(access), sign(refresh)
        values = {"user": user_id, "jti": refresh["jti"], "family": family, "event": str(uuid.uuid4()),
                  "payload": json.dumps({"user_id": user_id}), "now": at, "expires": at + timedelta(days=1)}
        if POSTGRESQL:
            with connection.cursor() as cursor:
                cursor.execute(SUCCESS, values)
        else:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(UPDATED, values)
                version = cursor.fetchone()[0]
                cursor.execute(RECORDED, values)
                cursor.execute(PUBLISHED.format(version=int(version)), values)
        return JsonResponse({"token": token, "refresh": refresh_token, "user": {"id": user_id, "email": email}})


    urlpatterns = [path("api/login", login), path("hashed", hashed)]
    application = get_wsgi_application()
    '''
)

SCHEMA = [
    "CREATE TABLE credential (user_id bigint PRIMARY KEY, email varchar(254) UNIQUE NOT NULL,"
    " password varchar(128) NOT NULL, is_active boolean NOT NULL, failed_login_count integer NOT NULL,"
    " locked_until timestamptz, last_login_at timestamptz, updated_at timestamptz NOT NULL,"
    " event_version bigint NOT NULL, token_version integer NOT NULL)",
    "CREATE TABLE refresh_token (jti varchar(64) PRIMARY KEY, credential_id bigint NOT NULL REFERENCES credential,"
    " family uuid NOT NULL, issued_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, used_at timestamptz,"
    " revoked_at timestamptz, replaced_by varchar(64) NOT NULL DEFAULT '')",
    "CREATE INDEX refresh_token_family ON refresh_token (family)",
    "CREATE TABLE outbox (id uuid PRIMARY KEY, type varchar(64) NOT NULL, aggregate_id varchar(64) NOT NULL,"
    " version bigint NOT NULL, payload jsonb NOT NULL, occurred_at timestamptz NOT NULL, sent_at timestamptz,"
    " attempts integer NOT NULL, request_id varchar(64) NOT NULL DEFAULT '')",
    "CREATE INDEX outbox_unsent ON outbox (occurred_at) WHERE sent_at IS NULL",
]


def system_argon2_hash() -> tuple[str, str]:
    """The auth service's own Argon2 hash of the password (its parameters): as Django stores it, as argon2-cffi reads it."""
    encoded = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.contrib.auth.hashers import make_password;"
         f" print(make_password({PASSWORD!r}))"],
        cwd=REPO_ROOT / "auth_project", env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"},
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    return encoded, encoded.removeprefix("argon2")


def database_prepare(connection, encoded: str) -> None:
    """The floor's tables and its one credential, on a DB-API ``connection`` (psycopg2's or sqlite3's)."""
    cursor = connection.cursor()
    for statement in SCHEMA:
        cursor.execute(statement)
    marker = "%s" if connection.__class__.__module__.startswith("psycopg2") else "?"
    cursor.execute(
        f"INSERT INTO credential VALUES (1, {marker}, {marker}, true, 0, NULL, NULL, {marker}, 0, 1)",
        [EMAIL, encoded, datetime.now(timezone.utc).isoformat(" ")],
    )
    connection.commit()
    connection.close()


@contextmanager
def floor_database(options, run: str, work: Path, encoded: str) -> Iterator[tuple[dict, dict]]:
    """(the auth service's ``DATABASES["default"]``, the environment CpuMeter reads): a fresh database, dropped after.

    PostgreSQL, or with ``--sqlite`` a SQLite file as the services' own (the write-ahead log, ``IMMEDIATE``
    transactions, ``synchronous=NORMAL``).
    """
    if options.sqlite:
        path = work / "credentials.sqlite3"
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA journal_mode=WAL")
        database_prepare(connection, encoded)
        yield {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), "OPTIONS": {
            "timeout": 5, "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }}, {}
        return
    import psycopg2

    name = f"{run}_auth_credentials"  # bench/_support's naming: its CpuMeter counts the backends
    server = urlsplit(options.postgres)
    url = urlunsplit(server._replace(path=f"/{name}"))
    postgres_execute(options.postgres, f'CREATE DATABASE "{name}"')
    try:
        database_prepare(psycopg2.connect(url), encoded)
        yield {"ENGINE": "django.db.backends.postgresql", "NAME": name, "USER": server.username or "postgres",
               "HOST": server.hostname or "127.0.0.1", "PORT": server.port or 5432, "CONN_MAX_AGE": None}, {
            "AUTH_DB_CREDENTIALS_URL": url
        }
    finally:
        postgres_execute(options.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def gunicorn(work: Path, module: str, port: int, env: dict[str, str], *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--log-level", "warning", *options, f"{module}:application"],
        cwd=work, env={**env, "PYTHONPATH": str(work)}, stdout=subprocess.DEVNULL,
    )


def login_answered(url: str, deadline: float) -> None:
    """Until a login through the gateway answers 200 (both processes up, the database reached)."""
    body = json.dumps({"email": EMAIL, "password": PASSWORD}).encode()
    while True:
        try:
            request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError) as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the floor's login does not answer: {exc}") from exc
        time.sleep(0.1)


def floor_run(variant: str, options, encoded: str, argon2_encoded: str) -> dict:
    """Start the floor's two processes on a fresh database, measure its logins against the raw hasher, stop."""
    run = f"loginfloor_{uuid.uuid4().hex[:8]}"
    processes: dict[str, subprocess.Popen] = {}
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        with floor_database(options, run, work, argon2_encoded) as (database, meter_env):
            try:
                (work / "floor_settings.py").write_text(SETTINGS)
                (work / "floor_gateway.py").write_text(GATEWAY)
                (work / "floor_auth.py").write_text(AUTH)
                auth_port, gateway_port = free_port(), free_port()
                env = {
                    **os.environ, "FLOOR_RUN": run, "FLOOR_VARIANT": variant, "FLOOR_REDIS_URL": options.redis_url,
                    "FLOOR_AUTH_PORT": str(auth_port), "FLOOR_DATABASE": json.dumps(database),
                }
                processes["auth"] = gunicorn(work, "floor_auth", auth_port, env, "--worker-class", "gthread",
                                             "--threads", "8")
                processes["gateway"] = gunicorn(work, "floor_gateway", gateway_port, env, "--worker-class", "gevent")
                login = f"http://127.0.0.1:{gateway_port}/api/login"
                login_answered(login, time.monotonic() + 60)
                meter = CpuMeter(SimpleNamespace(processes=processes, config=SimpleNamespace(env=meter_env)))
                bodies = [json.dumps({"email": EMAIL, "password": PASSWORD})]
                lua = work / "login.lua"
                wrk_logins(login, bodies, 2, options.connections, lua)  # warm-up
                raw_seconds = max(3.0, options.duration / 2)
                before, cpu_before = raw_rate("new", encoded, raw_seconds, os.environ)
                load = os.getloadavg()[0]
                hashed_before = hashes_counted(auth_port)
                meter.restart()
                logins = wrk_logins(login, bodies, options.duration, options.connections, lua)
                used = meter.used()
                hashed = {key: value - hashed_before[key] for key, value in hashes_counted(auth_port).items()}
                after, cpu_after = raw_rate("new", encoded, raw_seconds, os.environ)
            finally:
                for process in processes.values():
                    process.terminate()
                for process in processes.values():
                    process.wait(timeout=30)
    return {**logins, "raw": (before + after) / 2, "raw_cpu": (cpu_before + cpu_after) / 2, "load": load,
            "cpu": per_unit_ms(used, logins["count"]), "hash_cpu": 1000 * hashed["cpu"] / max(hashed["count"], 1)}


def hashes_counted(port: int) -> dict:
    """The floor's auth service's hashes so far and the CPU seconds they took on its hashing threads."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/hashed", timeout=30) as response:
        return json.loads(response.read())


VARIANTS = {
    "two-commits": "the attempt counted before the hash, the success after it (the system's lockout)",
    "one-commit": "the credential only read before the hash (no lockout count: what even that would leave)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--variants", default="two-commits,one-commit", help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="SERVER_URL")
    parser.add_argument("--sqlite", action="store_true", help="the auth service's database a SQLite file instead")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    variants = options.variants.split(",")
    if unknown := set(variants) - set(VARIANTS):
        sys.exit(f"unknown variants: {', '.join(sorted(unknown))}")
    encoded, argon2_encoded = system_argon2_hash()
    results = {variant: floor_run(variant, options, encoded, argon2_encoded) for variant in variants}
    database = "SQLite" if options.sqlite else "PostgreSQL"
    print(f"POST /api/login, the floor of a login (two minimal Django projects, {database}), "
          f"{options.connections} connections, {options.duration} s, {os.cpu_count()} cores")
    for variant, figures in results.items():
        total = sum(figures["cpu"].values())
        print(f"  {variant}, {VARIANTS[variant]}:")
        print(f"    {figures['rate']:.1f} logins/s, raw hasher {figures['raw']:.1f}/s, "
              f"ratio {figures['rate'] / figures['raw']:.2f} (a new user's target: >= 0.8), "
              f"non-2xx {figures['errors']}, timeouts {figures['timeouts']}, load {figures['load']:.1f}")
        print(f"    CPU per login {format_cpu(figures['cpu'])}; raw hash {figures['raw_cpu']:.1f} ms; "
              f"not the hash: {total - figures['raw_cpu']:.2f} ms; CPU-bound estimate (idle machine): "
              f"ratio {figures['raw_cpu'] / total:.2f}")
        print(f"    the hash in the auth service {figures['hash_cpu']:.1f} ms of its thread's CPU against the raw "
              f"{figures['raw_cpu']:.1f}: everything else {total - figures['hash_cpu']:.2f} ms a login")


if __name__ == "__main__":
    main()
