"""A profile deleted: the import forgets the person's address, in the deletion's transaction, without the users app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.db import router, transaction

from common.legacy_import.models import Status
from legacy_import.models import LegacyRowState
from users.models import Profile

pytestmark = pytest.mark.django_db(databases=["default", "users"])


def kept(profile_id: int) -> tuple[str, str]:
    return LegacyRowState.objects.filter(pk=profile_id).values_list("email", "detail").get()


@pytest.fixture
def imported(make_profile):
    profile = make_profile("ada@example.com")
    LegacyRowState.objects.create(pk=profile.pk, status=Status.CONFLICT, email="ada@example.com", detail="changed")
    return profile


def test_whatever_deletes_the_profile_the_address_the_import_kept_is_erased(imported, make_profile):
    other = make_profile("grace@example.com")
    LegacyRowState.objects.create(pk=other.pk, status=Status.SKIPPED, email="grace@example.com", detail="kept")

    Profile.objects.filter(pk=imported.pk).delete()

    assert kept(imported.pk) == ("", "")
    assert LegacyRowState.objects.filter(pk=imported.pk).values_list("status", flat=True).get() == Status.CONFLICT
    assert kept(other.pk) == ("grace@example.com", "kept")


def test_a_deletion_rolled_back_leaves_the_address_kept(imported):
    key = imported.pk  # delete() sets the instance's to None
    with pytest.raises(RuntimeError), transaction.atomic(using=router.db_for_write(Profile)):
        imported.delete()
        assert kept(key) == ("", "")
        raise RuntimeError("the deletion fails after the profile went")

    assert Profile.objects.filter(pk=key).exists()
    assert kept(key) == ("ada@example.com", "changed")


def test_the_users_app_never_imports_the_import_app():
    users_app = Path(__file__).resolve().parents[2] / "users"
    importers = []
    for path in users_app.rglob("*.py"):
        if "tests" in path.relative_to(users_app).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            )
            if any(name == "legacy_import" or name.startswith("legacy_import.") for name in names):
                importers.append(str(path.relative_to(users_app)))
    assert importers == []
