"""The locked dependency tree: every installed package pinned with its hashes, and installed only that way."""

import re
from importlib import metadata

import pytest
from packaging.requirements import Requirement

from common.env import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "requirements"
LOCKS = ("local.txt", "production.txt")


def locked(name: str) -> dict[str, tuple[Requirement, list[str]]]:
    """The lock ``name``: each requirement with its hashes, by normalised package name."""
    entries = {}
    text = (REQUIREMENTS / name).read_text()
    for entry in re.split(r"\n(?=[^\s#])", text):
        lines = [line.split("#", 1)[0].strip().rstrip("\\").strip() for line in entry.splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            continue
        requirement = Requirement(lines[0])
        hashes = [line.removeprefix("--hash=") for line in lines[1:] if line.startswith("--hash=sha256:")]
        entries[normalised(requirement.name)] = (requirement, hashes)
    return entries


def intent(name: str) -> dict[str, Requirement]:
    """The top-level packages ``name`` (a ``.in`` file) asks for, following its ``-r`` includes."""
    requirements = {}
    for line in (REQUIREMENTS / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            requirements.update(intent(line.removeprefix("-r ").strip()))
        elif line:
            requirement = Requirement(line)
            requirements[normalised(requirement.name)] = requirement
    return requirements


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_is_pinned_with_hashes(lock):
    entries = locked(lock)
    assert entries
    for name, (requirement, hashes) in entries.items():
        assert len(requirement.specifier) == 1 and next(iter(requirement.specifier)).operator == "==", name
        assert hashes, f"{name} has no --hash in requirements/{lock}"


@pytest.mark.parametrize("lock", LOCKS)
def test_the_lock_holds_what_its_in_file_asks_for(lock):
    """Editing a ``.in`` file without ``make lock`` fails here, not on someone's install."""
    entries = locked(lock)
    for name, requirement in intent(lock.replace(".txt", ".in")).items():
        assert name in entries, f"{name} is not in requirements/{lock}: run make lock"
        version = next(iter(entries[name][0].specifier)).version
        assert requirement.specifier.contains(version), f"requirements/{lock} has {name}=={version}: run make lock"


def test_local_and_production_share_their_versions():
    local, production = locked("local.txt"), locked("production.txt")
    for name, (requirement, _) in production.items():
        assert str(local[name][0].specifier) == str(requirement.specifier), name


@pytest.mark.parametrize("lock", LOCKS)
@pytest.mark.parametrize("python", ["3.11.0", "3.11.7", "3.12.0", "3.13.0"])
def test_the_lock_holds_every_package_needed_on_linux_with_python(lock, python):
    """Locked for every Python from 3.11 on (markers), not only for the one that wrote it.

    Walks the dependencies from the ``.in`` file's packages through their
    metadata (as installed here) for a Linux machine with ``python``: each
    package needed must be in the lock, with a marker that keeps it there.
    A lock written for Python 3.11.7 alone would lack ``async-timeout``, which
    ``redis`` needs before 3.11.3.
    """
    machine = {
        "python_full_version": python,
        "python_version": python.rsplit(".", 1)[0],
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "platform_machine": "x86_64",
    }
    entries = locked(lock)
    pending = [(requirement, "") for requirement in intent(lock.replace(".txt", ".in")).values()]
    seen = set()
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({**machine, "extra": extra}):
            continue
        name = normalised(requirement.name)
        assert name in entries, f"requirements/{lock} lacks {name} for Python {python}"
        marker = entries[name][0].marker
        assert marker is None or marker.evaluate(machine), f"requirements/{lock} leaves {name} out for Python {python}"
        for wanted_extra in requirement.extras or {""}:
            if (name, wanted_extra) in seen:
                continue
            seen.add((name, wanted_extra))
            try:
                needs = metadata.requires(name) or []
            except metadata.PackageNotFoundError:
                continue  # not needed by this machine's Python: its own needs are not installed to read
            pending.extend((Requirement(need), wanted_extra) for need in needs)


def test_installs_check_every_hash():
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r requirements/local.txt" in makefile
    dockerfile = (REPO_ROOT / "compose" / "production" / "django" / "Dockerfile").read_text()
    assert "pip wheel --no-cache-dir --require-hashes" in dockerfile
    assert "--require-hashes --requirement /requirements/production.txt" in dockerfile
