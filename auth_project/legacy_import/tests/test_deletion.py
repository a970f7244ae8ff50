"""A credential deleted: the import forgets the address it kept, in the same transaction, unseen by credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.legacy_import.models import Status
from common.legacy_testing import assert_forgotten_with_the_deletion, modules_importing
from legacy_import.models import LegacyRowState

pytestmark = pytest.mark.django_db(databases=["default", "credentials"])


def test_whatever_deletes_a_credential_the_address_the_import_kept_is_erased_with_it(make_credential):
    ada, grace = make_credential(email="ada@example.com"), make_credential(email="grace@example.com")
    LegacyRowState.objects.create(pk=ada.pk, status=Status.IMPORTED_WITH_ISSUE, email="ada@example.com", detail="sha")
    LegacyRowState.objects.create(pk=grace.pk, status=Status.SKIPPED, email="grace@example.com", detail="kept")

    assert_forgotten_with_the_deletion(ada, grace, LegacyRowState)


def test_the_credentials_app_never_imports_the_import_app():
    assert modules_importing(Path(__file__).resolve().parents[2] / "credentials", "legacy_import") == []
