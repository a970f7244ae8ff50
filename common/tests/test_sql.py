"""The hand-written statements of the hot paths, on a real model."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from common.sql import insert_row, quoted_table, select_by_key_for_update, update_by_key

pytestmark = pytest.mark.django_db


def test_a_row_is_read_and_updated_by_its_key_with_values_as_the_database_takes_them():
    user = User.objects.create(username="ana", is_active=True)
    joined = user.date_joined.replace(year=2001)

    assert update_by_key(User, "default", user.pk, {"is_active": False, "date_joined": joined, "first_name": "Ana"}) == 1

    user.refresh_from_db()
    assert (user.is_active, user.date_joined, user.first_name) == (False, joined, "Ana")
    is_active, first_name = select_by_key_for_update(User, "default", user.pk, ["is_active", "first_name"])
    assert (bool(is_active), first_name) == (False, "Ana")


def test_a_missing_row_reads_as_none_and_updates_nothing():
    assert select_by_key_for_update(User, "default", 404, ["is_active"]) is None
    assert update_by_key(User, "default", 404, {"is_active": False}) == 0


def test_a_row_is_inserted_once_and_a_conflict_skipped_when_asked():
    joined = User(username="x").date_joined
    values = {
        "username": "ana",
        "password": "!",
        "is_active": True,
        "is_staff": False,
        "is_superuser": False,
        "first_name": "",
        "last_name": "",
        "email": "",
        "date_joined": joined,
    }

    assert insert_row(User, "default", values) == 1
    assert insert_row(User, "default", values, unless_conflict_on="username") == 0

    assert User.objects.get(username="ana").date_joined == joined


def test_a_models_names_are_quoted_once_per_database_and_cannot_be_changed():
    table, columns = quoted_table(User, "default")

    assert quoted_table(User, "default")[1] is columns
    assert (table, columns["first_name"]) == ('"auth_user"', '"first_name"')
    with pytest.raises(TypeError):
        columns["first_name"] = "name"
