"""The hand-written statements of the hot paths, on a real model."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connections

from common.sql import db_values, insert_row, model_from_row, quoted_table, select_by_key_for_update, update_by_key

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


def test_a_row_becomes_the_instance_the_orm_reads_and_values_what_it_writes_every_time():
    # The converters and preps are looked up once per model and names: the second call takes the cached ones.
    user = User.objects.create(username="ana", is_active=False, first_name="Ana")
    names = ["id", "last_login", "username", "first_name", "is_active", "date_joined"]  # in the model's order
    table, columns = quoted_table(User, "default")
    for _ in range(2):
        with connections["default"].cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(columns[name] for name in names)} FROM {table}")
            read = model_from_row(User, "default", names, cursor.fetchone())
        assert (read.pk, read.username, read.is_active, read.date_joined, read.last_login, read.first_name) == (
            user.pk, "ana", False, user.date_joined, None, "Ana"
        )
        assert read.is_active is False and read._state.db == "default" and not read._state.adding
        assert db_values(User, "default", {"is_active": True, "date_joined": user.date_joined, "username": "b"}) == [
            User._meta.get_field(name).get_db_prep_value(value, connections["default"])
            for name, value in {"is_active": True, "date_joined": user.date_joined, "username": "b"}.items()
        ]
    with pytest.raises(ValueError):
        model_from_row(User, "default", names, (1, "ana"))
