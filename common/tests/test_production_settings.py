"""The three projects' production settings, loaded for real in child processes.

Each child gets a clean environment (nothing inherited, so a CI run's database URLs
cannot hide a missing variable). Nothing connects anywhere: ``check --deploy`` and
the requests below touch neither PostgreSQL nor Redis.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import jwt
import pytest
from common.jwt_keys import new_private_key_pem, public_pem_from_private
from common.tests.keys import UNSUPPORTED, pem_of

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIRS = {"users": "users_project", "auth": "auth_project", "gateway": "gateway_project"}
POSTGRES = "postgres://postgres@127.0.0.1:5432"

# What each project refuses to start without, in the order its message names them.
REQUIRED = {
    "users": [
        "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "INTERNAL_AUTH_USERS_KEY", "INTERNAL_AUTH_GATEWAY_KEY",
        "USERS_DB_DEFAULT_URL", "USERS_DB_USERS_URL", "REDIS_URL", "AUTH_SERVICE_URL",
    ],
    "auth": [
        "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS",
        "INTERNAL_AUTH_AUTH_KEY", "INTERNAL_AUTH_GATEWAY_KEY", "INTERNAL_AUTH_USERS_KEY",
        "AUTH_DB_DEFAULT_URL", "AUTH_DB_CREDENTIALS_URL", "REDIS_URL", "JWT_PRIVATE_KEY",
    ],
    "gateway": [
        "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "INTERNAL_AUTH_GATEWAY_KEY",
        "REDIS_URL", "USERS_SERVICE_URL", "AUTH_SERVICE_URL", "JWT_PUBLIC_KEY",
    ],
}


def key_pair_of(algorithm: str) -> tuple[str, str]:
    """(private PEM, public PEM) of a key signing ``algorithm``: ES256 as keys are made now, RS256 as before."""
    private_pem = new_private_key_pem(algorithm)
    return private_pem, public_pem_from_private(private_pem)


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    return key_pair_of("ES256")


@pytest.fixture
def bare_env(tmp_path) -> dict[str, str]:
    """What any process needs to run, and nothing of the system's configuration."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "SYSTEMROOT") if name in os.environ}
    env.update(VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="config.settings.production", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def production_env(bare_env, key_pair) -> dict[str, str]:
    """A complete production environment for all three projects: dummy values, valid shapes."""
    private_pem, public_pem = key_pair
    return {
        **bare_env,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "accounts.example.com, users, auth",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://accounts.example.com",
        "INTERNAL_AUTH_GATEWAY_KEY": secrets.token_urlsafe(48),
        "INTERNAL_AUTH_USERS_KEY": secrets.token_urlsafe(48),
        "INTERNAL_AUTH_AUTH_KEY": secrets.token_urlsafe(48),
        "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens: no test writes to a real Redis
        "USERS_DB_DEFAULT_URL": f"{POSTGRES}/users_default",
        "USERS_DB_USERS_URL": f"{POSTGRES}/users",
        "AUTH_DB_DEFAULT_URL": f"{POSTGRES}/auth_default",
        "AUTH_DB_CREDENTIALS_URL": f"{POSTGRES}/auth_credentials",
        "USERS_SERVICE_URL": "http://users:8000",
        "AUTH_SERVICE_URL": "http://auth:8000",
        "JWT_PRIVATE_KEY": private_pem,
        "JWT_PUBLIC_KEY": public_pem,
    }


def run(project: str, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *argv], cwd=REPO_ROOT / PROJECT_DIRS[project], env=env,
        capture_output=True, text=True, timeout=120,
    )


def manage_check(project: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run(project, ["manage.py", "check"], env)


def settings_and_responses(project: str, env: dict[str, str]) -> dict:
    """Some settings of ``project``, and how it answers a few requests, as JSON from a child."""
    script = textwrap.dedent(
        """
        import json
        import django
        from django.conf import settings
        from django.test import Client

        django.setup()
        client = Client()

        def answer(path, **headers):
            response = client.get(path, **headers)
            return {
                "status": response.status_code,
                "location": response.get("Location"),
                "hsts": response.get("Strict-Transport-Security"),
                "frame_options": response.get("X-Frame-Options"),
            }

        print(json.dumps({
            "DEBUG": settings.DEBUG,
            "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
            "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
            "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
            "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
            "CSRF_TRUSTED_ORIGINS": settings.CSRF_TRUSTED_ORIGINS,
            "SIMPLE_JWT": {
                key: getattr(settings, "SIMPLE_JWT", {}).get(key) for key in ("SIGNING_KEY", "VERIFYING_KEY", "ALGORITHM")
            },
            "JWT_PUBLIC_KEYS": getattr(settings, "JWT_PUBLIC_KEYS", None),
            "health_over_http": answer("/health", HTTP_HOST="localhost"),
            "health_over_https": answer("/health", HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https"),
            "internal_over_http": answer("/internal/anything", HTTP_HOST=settings.ALLOWED_HOSTS[0]),
            "admin_over_http": answer("/admin/", HTTP_HOST=settings.ALLOWED_HOSTS[0]),
        }))
        """
    )
    result = run(project, ["-c", script], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------
# Refusing to start
# ---------------------------------------------------------------------------------


@pytest.mark.parametrize("project", list(PROJECT_DIRS))
def test_without_its_variables_a_project_refuses_to_start_naming_every_one(project, bare_env):
    result = manage_check(project, bare_env)
    assert result.returncode != 0
    # One error, not a chain of them.
    assert result.stderr.count("Traceback (most recent call last)") == 1, result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("django.core.exceptions.ImproperlyConfigured:")
    named = message.split("unset or empty now: ", 1)[1].split(". ", 1)[0].split(", ")
    assert named == REQUIRED[project]


@pytest.mark.parametrize("project", list(PROJECT_DIRS))
def test_only_what_is_missing_is_named(project, production_env):
    env = dict(production_env)
    del env["DJANGO_SECRET_KEY"]
    env["INTERNAL_AUTH_GATEWAY_KEY"] = "  "
    result = manage_check(project, env)
    assert result.returncode != 0
    assert "unset or empty now: DJANGO_SECRET_KEY, INTERNAL_AUTH_GATEWAY_KEY." in result.stderr


@pytest.mark.parametrize(
    ("project", "variable", "value", "message"),
    [
        ("gateway", "INTERNAL_AUTH_GATEWAY_KEY", "local-only-gateway-internal-auth-key-not-secret",
         "INTERNAL_AUTH_GATEWAY_KEY is a local-only default; production needs a secret of its own."),
        ("users", "INTERNAL_AUTH_USERS_KEY", "local-only-auth-internal-auth-key-not-secret",
         "INTERNAL_AUTH_USERS_KEY is a local-only default"),
        ("auth", "INTERNAL_AUTH_USERS_KEY", "short-key",
         "INTERNAL_AUTH_USERS_KEY is 9 bytes long; production takes at least 32."),
    ],
    ids=["default", "another-callers-default", "short"],
)
def test_a_local_default_or_short_internal_key_is_refused_by_name(project, variable, value, message, production_env):
    result = manage_check(project, {**production_env, variable: value})

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr


@pytest.mark.parametrize("project", ["users", "auth"])
def test_one_key_for_two_callers_is_refused(project, production_env):
    shared = {**production_env, "INTERNAL_AUTH_USERS_KEY": production_env["INTERNAL_AUTH_GATEWAY_KEY"]}

    result = manage_check(project, shared)

    assert result.returncode != 0
    assert "hold the same key; each caller needs one of its own." in result.stderr
    assert "INTERNAL_AUTH_GATEWAY_KEY" in result.stderr.splitlines()[-1]


@pytest.mark.parametrize("project", ["users", "auth"])
def test_a_database_on_sqlite_is_refused(project, production_env, tmp_path):
    variable = next(name for name in REQUIRED[project] if "_DB_" in name)
    result = manage_check(project, {**production_env, variable: f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    assert result.returncode != 0
    assert f"{variable} point at SQLite" in result.stderr


@pytest.mark.parametrize(
    ("project", "variable"), [("auth", "JWT_PRIVATE_KEY"), ("gateway", "JWT_PUBLIC_KEY")]
)
def test_a_signing_key_that_is_not_a_pem_is_refused_by_name(project, variable, production_env):
    result = manage_check(project, {**production_env, variable: "not a key"})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {variable} is not" in result.stderr


def test_the_gateway_refuses_a_legacy_jwt_secret_too_short_to_be_a_secret(production_env):
    short = manage_check("gateway", {**production_env, "LEGACY_JWT_SECRET": "legacy-secret"})
    long_enough = manage_check("gateway", {**production_env, "LEGACY_JWT_SECRET": secrets.token_urlsafe(32)})

    assert short.returncode != 0
    assert "ImproperlyConfigured: LEGACY_JWT_SECRET is 13 bytes long; production takes at least 32." in short.stderr
    assert long_enough.returncode == 0, long_enough.stderr


def test_the_gateway_refuses_a_legacy_cutover_instant_without_an_offset(production_env):
    result = manage_check("gateway", {**production_env, "LEGACY_JWT_ISSUED_BEFORE": "2026-12-06T03:00:00"})

    assert result.returncode != 0
    assert "ImproperlyConfigured: LEGACY_JWT_ISSUED_BEFORE must be an ISO 8601 instant" in result.stderr


# ---------------------------------------------------------------------------------
# A complete production environment
# ---------------------------------------------------------------------------------


def test_check_deploy_is_clean_in_every_project(production_env):
    result = subprocess.run(
        [sys.executable, "manage_all.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO_ROOT, env=production_env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("System check identified no issues") == 3, result.stdout + result.stderr


@pytest.mark.parametrize("project", list(PROJECT_DIRS))
def test_https_settings_and_plain_http_probes(project, production_env):
    seen = settings_and_responses(project, production_env)
    assert seen["DEBUG"] is False
    assert seen["SECURE_SSL_REDIRECT"] is True
    assert seen["SESSION_COOKIE_SECURE"] is True and seen["CSRF_COOKIE_SECURE"] is True
    assert seen["CSRF_TRUSTED_ORIGINS"] == ["https://accounts.example.com"]
    assert seen["ALLOWED_HOSTS"] == ["accounts.example.com", "users", "auth", "localhost", "127.0.0.1", "[::1]"]
    # The orchestrator's probe over plain HTTP is answered, not redirected ...
    assert seen["health_over_http"]["status"] == 200
    # ... as are calls between services; everything else goes to HTTPS.
    assert seen["internal_over_http"]["status"] != 301
    assert seen["admin_over_http"]["status"] == 301
    assert seen["admin_over_http"]["location"].startswith("https://")
    assert seen["health_over_https"]["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert seen["health_over_https"]["frame_options"] == "DENY"


def test_hsts_and_redirect_come_from_the_environment(production_env):
    env = {**production_env, "DJANGO_SECURE_HSTS_SECONDS": "3600", "DJANGO_SECURE_HSTS_PRELOAD": "false",
           "DJANGO_SECURE_SSL_REDIRECT": "false"}
    seen = settings_and_responses("gateway", env)
    assert seen["SECURE_SSL_REDIRECT"] is False
    assert seen["health_over_https"]["hsts"] == "max-age=3600; includeSubDomains"


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_tokens_the_auth_service_signs_verify_with_the_gateways_key(production_env, algorithm):
    private_pem, public_pem = key_pair_of(algorithm)
    # One line with "\n" escapes, as some secret stores and env files hold a PEM.
    env = {**production_env, "JWT_PRIVATE_KEY": private_pem.strip().replace("\n", "\\n"), "JWT_PUBLIC_KEY": public_pem}
    auth = settings_and_responses("auth", env)["SIMPLE_JWT"]
    gateway = settings_and_responses("gateway", env)["SIMPLE_JWT"]
    assert auth["ALGORITHM"] == gateway["ALGORITHM"] == algorithm
    assert auth["SIGNING_KEY"] == private_pem
    assert auth["VERIFYING_KEY"] == gateway["VERIFYING_KEY"] == public_pem
    token = jwt.encode({"userId": 7}, auth["SIGNING_KEY"], algorithm=auth["ALGORITHM"])
    assert jwt.decode(token, gateway["VERIFYING_KEY"], algorithms=[gateway["ALGORITHM"]]) == {"userId": 7}


@pytest.fixture(scope="module")
def new_key_pair() -> tuple[str, str]:
    """A second pair: the key rotated in."""
    return key_pair_of("ES256")


@pytest.fixture(scope="module")
def rsa_key_pair() -> tuple[str, str]:
    """An RSA pair, as the auth service signed with before ES256: the key rotated out."""
    return key_pair_of("RS256")


@pytest.mark.parametrize("old", ["rsa", "ec"])
def test_while_rotating_both_sides_accept_old_and_new_keys_and_the_auth_service_signs_with_the_new(
    production_env, key_pair, rsa_key_pair, new_key_pair, old
):
    old_public, (new_private, new_public) = (rsa_key_pair if old == "rsa" else key_pair)[1], new_key_pair
    # The same value on both sides; the second key on one line with "\n" escapes.
    both = old_public + new_public.strip().replace("\n", "\\n")
    env = {**production_env, "JWT_PRIVATE_KEY": new_private, "JWT_PUBLIC_KEY": both}

    gateway = settings_and_responses("gateway", env)
    auth = settings_and_responses("auth", env)

    assert gateway["JWT_PUBLIC_KEYS"] == [old_public, new_public]
    assert auth["JWT_PUBLIC_KEYS"] == [new_public, old_public]  # the signing key's first
    assert auth["SIMPLE_JWT"]["SIGNING_KEY"] == new_private
    # The auth service signs in its key's algorithm; the gateway names its first key's (it signs nothing).
    assert auth["SIMPLE_JWT"]["ALGORITHM"] == "ES256"
    assert gateway["SIMPLE_JWT"]["ALGORITHM"] == ("RS256" if old == "rsa" else "ES256")


def test_without_jwt_public_key_the_auth_service_accepts_its_signing_key_only(production_env, key_pair):
    env = {name: value for name, value in production_env.items() if name != "JWT_PUBLIC_KEY"}

    assert settings_and_responses("auth", env)["JWT_PUBLIC_KEYS"] == [key_pair[1]]


@pytest.mark.parametrize("project", ["gateway", "auth"])
def test_a_bad_key_among_several_is_refused_by_its_place(project, production_env, key_pair):
    bad = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"
    result = manage_check(project, {**production_env, "JWT_PUBLIC_KEY": key_pair[1] + bad})

    assert result.returncode != 0
    assert "ImproperlyConfigured: JWT_PUBLIC_KEY (key 2 of 2) is not a PEM public key" in result.stderr


@pytest.mark.parametrize(
    ("project", "variable", "value", "message"),
    [
        ("auth", "JWT_PRIVATE_KEY", lambda pair: pem_of(UNSUPPORTED["ec-p384"]()),
         "JWT_PRIVATE_KEY must be an RSA key or an EC P-256 key, not an EC key on secp384r1"),
        ("gateway", "JWT_PUBLIC_KEY", lambda pair: pem_of(UNSUPPORTED["ed25519"]().public_key()),
         "JWT_PUBLIC_KEY must be an RSA key or an EC P-256 key, not a key of type Ed25519"),
        ("auth", "JWT_PUBLIC_KEY", lambda pair: pair[1] + pem_of(UNSUPPORTED["ec-p384"]().public_key()),
         "JWT_PUBLIC_KEY (key 2 of 2) must be an RSA key or an EC P-256 key, not an EC key on secp384r1"),
    ],
    ids=["auth-p384-private", "gateway-ed25519-public", "auth-p384-among-several"],
)
def test_a_key_neither_rsa_nor_ec_p256_is_refused_by_name(project, variable, value, message, production_env, key_pair):
    result = manage_check(project, {**production_env, variable: value(key_pair)})

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message} (tokens are signed with RS256 or ES256)" in result.stderr


def test_the_auth_service_refuses_to_sign_with_a_key_its_jwt_public_key_does_not_list(
    production_env, key_pair, new_key_pair
):
    env = {**production_env, "JWT_PRIVATE_KEY": new_key_pair[0], "JWT_PUBLIC_KEY": key_pair[1]}

    result = manage_check("auth", env)

    assert result.returncode != 0
    assert "ImproperlyConfigured: JWT_PUBLIC_KEY does not include the public half of JWT_PRIVATE_KEY" in result.stderr
