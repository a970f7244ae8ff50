"""The production containers: compose/docker-compose.yml, the image and its start scripts.

``docker compose config`` is the authority on the compose file; it needs only the
Docker CLI and its compose plugin, no engine. The other tests read the files
themselves and hold them to what docs/deployment.md promises.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = REPO_ROOT / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
DJANGO_DIR = COMPOSE_DIR / "production" / "django"
DOCKERFILE = DJANGO_DIR / "Dockerfile"
INITDB_SCRIPT = COMPOSE_DIR / "production" / "postgres" / "initdb" / "10-create-service-databases.sh"
ENV_DIR = COMPOSE_DIR / "env"

# Image path of each role's script -> its file in the repository.
ROLE_SCRIPTS = {
    "/start": DJANGO_DIR / "start",
    "/migrate": DJANGO_DIR / "migrate",
    "/start-celeryworker": DJANGO_DIR / "celery" / "worker" / "start",
    "/start-celerybeat": DJANGO_DIR / "celery" / "beat" / "start",
}
DJANGO_SERVICES = {
    "gateway": ("gateway", "/start"),
    "users": ("users", "/start"),
    "auth": ("auth", "/start"),
    "users-worker": ("users", "/start-celeryworker"),
    "auth-worker": ("auth", "/start-celeryworker"),
    "users-beat": ("users", "/start-celerybeat"),
    "auth-beat": ("auth", "/start-celerybeat"),
    "users-migrate": ("users", "/migrate"),
    "auth-migrate": ("auth", "/migrate"),
}


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    """The compose services, YAML anchors and merge keys resolved."""
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def env_template(name: str) -> dict[str, str]:
    """The variables a ``compose/env/<name>.env.example`` sets (commented-out ones not included)."""
    variables = {}
    for line in (ENV_DIR / f"{name}.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            variables[key.strip()] = value.strip()
    return variables


# ---------------------------------------------------------------------------------
# docker compose config
# ---------------------------------------------------------------------------------


def test_docker_compose_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker CLI is not installed")
    if subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker CLI is installed without its compose plugin (docker-compose-plugin)")
    # As on a clean clone: the filled-in env files and any .env are not needed.
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMPOSE_")}
    result = subprocess.run(
        [docker, "compose", "--file", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------
# The compose file
# ---------------------------------------------------------------------------------


def test_every_part_of_the_system_is_a_service(services):
    assert set(services) == {"postgres", "redis", *DJANGO_SERVICES}


@pytest.mark.parametrize("name", list(DJANGO_SERVICES))
def test_each_django_container_runs_the_one_image_in_its_role(services, name):
    service_name, role = DJANGO_SERVICES[name]
    service = services[name]
    assert service["build"] == {"context": "..", "dockerfile": "compose/production/django/Dockerfile"}
    assert service["image"] == services["gateway"]["image"]
    assert service["command"] == [role]
    assert service["environment"]["SERVICE_NAME"] == service_name
    assert [entry["path"] for entry in service["env_file"]] == ["env/django.env", f"env/{service_name}.env"]
    # Secrets are in env files that may be absent from a clean clone, never in the YAML.
    assert all(entry["required"] is False for entry in service["env_file"])
    assert set(service["environment"]) == ({"SERVICE_NAME", "METRICS_BIND"} if name == "gateway" else {"SERVICE_NAME"})


def test_only_the_gateway_is_published(services):
    assert [name for name, service in services.items() if "ports" in service] == ["gateway"]
    assert services["gateway"]["ports"] == ["${GATEWAY_PUBLISH:-8000}:8000"]


def test_the_gateways_metrics_address_is_internal(services):
    gateway = services["gateway"]
    port = gateway["environment"]["METRICS_BIND"].rpartition(":")[2]
    assert port != "8000"
    assert gateway["expose"] == [port]
    assert not any(mapping.endswith(f":{port}") for mapping in gateway["ports"])


@pytest.mark.parametrize("name", ["users", "auth", "users-worker", "auth-worker", "users-beat", "auth-beat"])
def test_a_service_waits_for_its_migrations_and_healthy_state(services, name):
    service_name = DJANGO_SERVICES[name][0]
    assert services[name]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        f"{service_name}-migrate": {"condition": "service_completed_successfully"},
    }


@pytest.mark.parametrize("name", ["users-migrate", "auth-migrate"])
def test_migrations_run_once_after_postgres_is_healthy(services, name):
    assert services[name]["restart"] == "no"
    assert services[name]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_the_gateway_starts_with_redis_and_the_services(services):
    assert services["gateway"]["depends_on"] == {
        "redis": {"condition": "service_healthy"},
        "users": {"condition": "service_started"},
        "auth": {"condition": "service_started"},
    }


def test_web_roles_keep_the_images_health_check_and_the_others_disable_it(services):
    for name, (_, role) in DJANGO_SERVICES.items():
        if role == "/start":
            assert "healthcheck" not in services[name], name
        else:
            assert services[name]["healthcheck"] == {"disable": True}, name
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]


def test_exactly_one_beat_per_celery_app_with_its_schedule_on_a_volume(services):
    beats = {name: service for name, service in services.items() if service.get("command") == ["/start-celerybeat"]}
    assert sorted(service["environment"]["SERVICE_NAME"] for service in beats.values()) == ["auth", "users"]
    for name, service in beats.items():
        assert "deploy" not in service and "scale" not in service
        assert service["volumes"] == [f"{name}:/app/var"]


def test_redis_is_append_only_and_never_evicts(services):
    command = services["redis"]["command"]
    assert command[0] == "redis-server"
    options = dict(zip(command[1::2], command[2::2]))
    assert options["--appendonly"] == "yes"
    assert options["--maxmemory-policy"] == "noeviction"
    assert "redis-data:/data" in services["redis"]["volumes"]


def test_postgres_creates_each_services_databases_on_first_start(services):
    assert "./production/postgres/initdb:/docker-entrypoint-initdb.d:ro" in services["postgres"]["volumes"]
    script = INITDB_SCRIPT.read_text()
    assert 'create_service users_service "$USERS_DB_PASSWORD" users_default users\n' in script
    assert 'create_service auth_service "$AUTH_DB_PASSWORD" auth_default auth_credentials\n' in script
    # The database URLs of the templates name exactly those roles and databases.
    urls = {**env_template("users"), **env_template("auth")}
    assert urls["USERS_DB_DEFAULT_URL"].endswith("@postgres:5432/users_default")
    assert urls["USERS_DB_USERS_URL"].endswith("@postgres:5432/users")
    assert urls["AUTH_DB_DEFAULT_URL"].endswith("@postgres:5432/auth_default")
    assert urls["AUTH_DB_CREDENTIALS_URL"].endswith("@postgres:5432/auth_credentials")
    assert urls["USERS_DB_USERS_URL"].startswith("postgres://users_service:")
    assert urls["AUTH_DB_CREDENTIALS_URL"].startswith("postgres://auth_service:")


# ---------------------------------------------------------------------------------
# Environment templates
# ---------------------------------------------------------------------------------

SECRETS = {
    "gateway": ["DJANGO_SECRET_KEY", "INTERNAL_AUTH_GATEWAY_KEY", "JWT_PUBLIC_KEY"],
    "users": ["DJANGO_SECRET_KEY", "INTERNAL_AUTH_USERS_KEY", "INTERNAL_AUTH_GATEWAY_KEY"],
    "auth": [
        "DJANGO_SECRET_KEY", "INTERNAL_AUTH_AUTH_KEY", "INTERNAL_AUTH_GATEWAY_KEY", "INTERNAL_AUTH_USERS_KEY",
        "JWT_PRIVATE_KEY",
    ],
    "postgres": ["POSTGRES_PASSWORD", "USERS_DB_PASSWORD", "AUTH_DB_PASSWORD"],
}


@pytest.mark.parametrize("name", list(SECRETS))
def test_templates_hold_no_secret(name):
    variables = env_template(name)
    for secret in SECRETS[name]:
        assert variables[secret] == "", f"{secret} in {name}.env.example must be left for the operator"


@pytest.mark.parametrize("service_name", ["gateway", "users", "auth"])
def test_templates_set_everything_production_settings_require(service_name, tmp_path):
    """The names the production settings refuse to start without, read from their own error."""
    env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO_ROOT / f"{service_name}_project", env=env, capture_output=True, text=True, timeout=60,
    )
    required = re.search(r"unset or empty now: ([A-Z0-9_, ]+)\.", result.stderr).group(1).split(", ")
    templates = {**env_template("django"), **env_template(service_name)}
    assert sorted(set(required) - set(templates)) == []


def test_filled_in_env_files_are_never_committed():
    assert (ENV_DIR / ".gitignore").read_text().splitlines()[-1] == "*.env"


# ---------------------------------------------------------------------------------
# The image and its start scripts
# ---------------------------------------------------------------------------------


def final_stage(dockerfile: str) -> str:
    return dockerfile[dockerfile.rindex("\nFROM ") :]


def test_the_image_is_multi_stage_slim_and_runs_as_a_user():
    dockerfile = DOCKERFILE.read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.1[12]-slim", dockerfile, re.MULTILINE)
    assert "FROM ${PYTHON_IMAGE} AS builder" in dockerfile
    runtime = final_stage(dockerfile)
    assert runtime.startswith("\nFROM ${PYTHON_IMAGE} AS runtime")
    # Build tools only in the builder; the runtime installs wheels it did not build.
    assert "build-essential" not in runtime and "apt-get" not in runtime
    assert "pip install --no-index --find-links=/wheels" in runtime
    assert re.search(r"^USER 10001:10001$", runtime, re.MULTILINE)
    assert "DJANGO_SETTINGS_MODULE=config.settings.production" in runtime
    assert re.search(r"^HEALTHCHECK .*\n\s+CMD .*/health", runtime, re.MULTILINE)


def test_the_image_has_every_role_script():
    runtime = final_stage(DOCKERFILE.read_text())
    for image_path, source in ROLE_SCRIPTS.items():
        assert f"COPY --chmod=0755 {source.relative_to(REPO_ROOT)} {image_path}\n" in runtime


def test_no_local_state_or_secret_enters_the_build_context():
    lines = (DJANGO_DIR / "Dockerfile.dockerignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    # Everything is out unless let in, and nothing let in carries local state.
    assert patterns[0] == "*"
    assert not any(pattern.startswith("!") and (".env" in pattern or "var" in pattern) for pattern in patterns)
    for excluded in ("**/.env", "**/*.env", "**/var/", "**/*.pem"):
        assert excluded in patterns


@pytest.mark.parametrize(
    "script", [*ROLE_SCRIPTS.values(), INITDB_SCRIPT], ids=lambda path: str(path.relative_to(COMPOSE_DIR))
)
def test_start_scripts_fail_fast_and_exec(script):
    text = script.read_text()
    commands = [line for line in text.replace("\\\n", " ").splitlines() if line and not line.startswith("#")]
    assert text.startswith("#!/usr/bin/env bash\n")
    assert commands[0] == "set -o errexit -o pipefail -o nounset"
    assert script.stat().st_mode & stat.S_IXUSR
    if script != INITDB_SCRIPT:  # the role's process replaces the shell, so it gets the signals
        assert commands[-1].startswith("exec ")
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
