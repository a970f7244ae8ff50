"""A profile deleted: the import forgets the person's address, in the deletion's transaction, without the users app."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.legacy_import.models import Status
from common.legacy_testing import assert_forgotten_with_the_deletion, modules_importing
from legacy_import.models import LegacyRowState

pytestmark = pytest.mark.django_db(databases=["default", "users"])


def test_whatever_deletes_a_profile_the_address_the_import_kept_is_erased_with_it(make_profile):
    ada, grace = make_profile("ada@example.com"), make_profile("grace@example.com")
    LegacyRowState.objects.create(pk=ada.pk, status=Status.CONFLICT, email="ada@example.com", detail="changed")
    LegacyRowState.objects.create(pk=grace.pk, status=Status.SKIPPED, email="grace@example.com", detail="kept")

    assert_forgotten_with_the_deletion(ada, grace, LegacyRowState)


def test_the_users_app_never_imports_the_import_app():
    assert modules_importing(Path(__file__).resolve().parents[2] / "users", "legacy_import") == []
