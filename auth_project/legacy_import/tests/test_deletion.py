"""A credential deleted: the import forgets the person's address, in the deletion's transaction, without the
credentials app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.db import router, transaction

from common.legacy_import.models import Status
from credentials.models import Credential
from legacy_import.models import LegacyRowState

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])


def kept(user_id: int) -> tuple[str, str]:
    return LegacyRowState.objects.filter(pk=user_id).values_list("email", "detail").get()


@pytest.fixture
def imported(make_credential):
    credential = make_credential(email="ada@example.com")
    LegacyRowState.objects.create(
        pk=credential.pk, status=Status.IMPORTED_WITH_ISSUE, email="ada@example.com", detail="not bcrypt"
    )
    return credential


def test_whatever_deletes_the_credential_the_address_the_import_kept_is_erased(imported, make_credential):
    other = make_credential(email="grace@example.com")
    LegacyRowState.objects.create(pk=other.pk, status=Status.SKIPPED, email="grace@example.com", detail="kept")

    Credential.objects.filter(pk=imported.pk).delete()

    assert kept(imported.pk) == ("", "")
    assert kept(other.pk) == ("grace@example.com", "kept")


def test_a_deletion_rolled_back_leaves_the_address_kept(imported):
    key = imported.pk  # delete() sets the instance's to None
    with pytest.raises(RuntimeError), transaction.atomic(using=router.db_for_write(Credential)):
        imported.delete()
        assert kept(key) == ("", "")
        raise RuntimeError("the deletion fails after the credential went")

    assert Credential.objects.filter(pk=key).exists()
    assert kept(key) == ("ada@example.com", "not bcrypt")


def test_the_credentials_app_never_imports_the_import_app():
    credentials_app = Path(__file__).resolve().parents[2] / "credentials"
    importers = []
    for path in credentials_app.rglob("*.py"):
        if "tests" in path.relative_to(credentials_app).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            )
            if any(name == "legacy_import" or name.startswith("legacy_import.") for name in names):
                importers.append(str(path.relative_to(credentials_app)))
    assert importers == []
