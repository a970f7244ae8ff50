"""Legacy ``users.db`` files for the import's tests: the monolith's quirks, with real bcryptjs-style hashes.

Every suite that tests ``migrate_from_sqlite`` (users, auth, the cross-service
tests) builds its file from ``legacy_rows()``, so they all see the same users.
Both services' import apps also share their fixtures and checks from here.
"""

from __future__ import annotations

import ast
import csv
import functools
import io
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest
from django.core.management import call_command
from django.db import router, transaction

from common.legacy_import.source import create_legacy_database

# Over 72 bytes in UTF-8 (é and the emoji take 2 and 4 bytes): bcryptjs hashed only a prefix of it.
LONG_PASSWORD = "correct horse battery staple, é, 🦄, and a tail that bcryptjs never read: 0123456789"
LONG_NAME = "Ada " + "λ" * 5000


@functools.cache
def bcryptjs_hash(password: str, prefix: str = "2a") -> str:
    """The hash bcryptjs stored for ``password`` (cost 10, ``$2a$`` unless told): of its first 72 bytes only."""
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(10, prefix=prefix.encode())).decode()


@dataclass(frozen=True)
class LegacyUser:
    """A row of the legacy file, and the password its hash is of (``None``: not a bcrypt hash)."""

    id: int
    email: str
    password: str | None
    name: str | None
    created_at: object
    stored_hash: str | None = None

    @property
    def row(self) -> tuple:
        stored = self.stored_hash or bcryptjs_hash(self.password)
        return (self.id, self.email, stored, self.name, self.created_at)


def legacy_users() -> dict[str, LegacyUser]:
    """The test file's users by a short name. Ids have gaps; every quirk of docs/api.md is here once."""
    users = [
        # The three created_at forms the monolith wrote.
        LegacyUser(1, "alice@example.com", "alice-password", "Alice", "2019-01-01 00:00:37"),
        # Stored normalised; the user types "New.Person+x@Gmail.com".
        LegacyUser(2, "newperson@gmail.com", "gmail-password", None, "2019-01-01T00:00:37.000Z"),
        LegacyUser(3, "padded@example.com", "alice-password", "  Padded Name  ", "2019-01-01T00:00:37"),
        # A case-variant pair: 5 is in canonical form (the monolith's login found it), 9 is not.
        LegacyUser(5, "user5@example.com", "five-password", "Five", "2019-02-02 02:02:02"),
        LegacyUser(6, "zoe@example.com", "alice-password", "Zoë 山田 🎉", "2019-03-03T03:03:03.123Z"),
        LegacyUser(9, "User5@EXAMPLE.com", "variant-password", "Five again", "2019-04-04 04:04:04"),
        # Neither in canonical form: the lower id keeps the address.
        LegacyUser(10, "Mixed@Example.com", "alice-password", "Mixed", "2019-05-05 05:05:05"),
        LegacyUser(11, "", "alice-password", "No address", "2019-06-06 06:06:06"),
        LegacyUser(12, "sha@example.com", None, "Not bcrypt", "2019-07-07 07:07:07", stored_hash="sha1$abc$def"),
        LegacyUser(13, "long.name@example.com", "alice-password", LONG_NAME, "2019-08-08 08:08:08"),
        LegacyUser(14, "MIXED@example.com", "alice-password", "Mixed too", "2019-09-09 09:09:09"),
        LegacyUser(
            15, "long.password@example.com", LONG_PASSWORD, "Long", "2019-10-10 10:10:10",
            stored_hash=bcryptjs_hash(LONG_PASSWORD, prefix="2b"),
        ),
        LegacyUser(20, "when@example.com", "alice-password", "When", "sometime in 2019"),
    ]
    names = ["alice", "gmail", "padded", "five", "zoe", "five_variant", "mixed", "empty", "sha", "long_name",
             "mixed_variant", "long_password", "unreadable_date"]
    return dict(zip(names, users))


def legacy_database(path: Path, users: dict[str, LegacyUser] | None = None) -> Path:
    """A ``users.db`` at ``path`` holding ``users`` (``legacy_users()`` by default)."""
    return create_legacy_database(path, [user.row for user in (users or legacy_users()).values()])


# FIXTURES: the same in both services' import tests (their conftest.py imports them)
# ------------------------------------------------------------------------------


@dataclass
class CommandRun:
    """What one run of ``migrate_from_sqlite`` printed and the exit status it chose."""

    status: int
    stdout: str
    stderr: str


@pytest.fixture
def legacy_path(tmp_path) -> Path:
    """users.db holding ``common.legacy_testing.legacy_users()``."""
    return legacy_database(tmp_path / "users.db")


@pytest.fixture
def report_dir(tmp_path) -> Path:
    return tmp_path / "reports"


@pytest.fixture
def migrate_from_sqlite(report_dir, import_command):
    """``migrate_from_sqlite(path, *options)``: the command as ``manage.py`` runs it; a ``CommandRun``.

    ``import_command`` is the project's own command class, a fixture of the project's tests.
    """

    def run(path: Path, *options: str) -> CommandRun:
        command = import_command()
        stdout, stderr = io.StringIO(), io.StringIO()
        call_command(command, str(path), "--report-dir", str(report_dir), *options, stdout=stdout, stderr=stderr)
        return CommandRun(command.exit_status, stdout.getvalue(), stderr.getvalue())

    return run


@pytest.fixture
def report_rows(report_dir, import_command):
    """``report_rows(kind="report")``: the report file's rows as dicts."""

    def read(kind: str = "report") -> list[dict[str, str]]:
        with (report_dir / f"legacy-import-{import_command.mapping.service}-{kind}.csv").open(encoding="utf-8") as file:
            return list(csv.DictReader(file))

    return read


# THE IMPORT APP BESIDE ITS DOMAIN APP: bookkeeping on deletion, imports one way
# ------------------------------------------------------------------------------


def assert_forgotten_with_the_deletion(instance, other, state_model) -> None:
    """Deleting ``instance`` erases the address its legacy row's state kept, in the deletion's transaction.

    ``state_model`` must have a row, with an address kept, for the keys of
    ``instance`` and of ``other``: the deletion rolled back leaves the first as
    it was; committed, it keeps its status but no address; ``other``'s stays.
    """
    model, key = type(instance), instance.pk
    states = state_model.objects.filter(pk__in=[key, other.pk]).order_by("pk")
    before = {state.pk: (state.status, state.email, state.detail) for state in states}
    with pytest.raises(RuntimeError), transaction.atomic(using=router.db_for_write(model)):
        instance.delete()
        assert state_model.objects.filter(pk=key).values_list("email", "detail").get() == ("", "")
        raise RuntimeError("the deletion fails after the row went")
    assert model.objects.filter(pk=key).exists()
    assert {state.pk: (state.status, state.email, state.detail) for state in states.all()} == before

    model.objects.filter(pk=key).delete()  # as any code could, the admin's included

    after = {state.pk: (state.status, state.email, state.detail) for state in states.all()}
    assert after == {**before, key: (before[key][0], "", "")}


def modules_importing(package: Path, imported: str) -> list[str]:
    """The modules of ``package`` (a folder; its tests left out) that import ``imported`` or a module in it."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if "tests" in path.relative_to(package).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            if any(name == imported or name.startswith(f"{imported}.") for name in names):
                found.append(str(path.relative_to(package)))
    return found
