"""Statements written in SQL for the hottest paths, built from the models so names never drift.

The event consumer's and its handlers' statements per event, and a login's, are
written here: building them with the ORM cost more than running them
(docs/performance.md, "Settings and connections").
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Mapping
from types import MappingProxyType

from django.db import connections


@functools.cache
def quoted_table(model, using: str) -> tuple[str, Mapping[str, str]]:
    """The quoted table name of ``model`` and of each concrete field's column, by field name; built once per database."""
    quote = connections[using].ops.quote_name
    columns = {field.name: quote(field.column) for field in model._meta.concrete_fields}
    return quote(model._meta.db_table), MappingProxyType(columns)


@functools.cache
def _db_preps(model, names: tuple[str, ...]) -> tuple:
    # Each field's get_db_prep_value, looked up once per model and field names (the connection is passed per call).
    return tuple(model._meta.get_field(name).get_db_prep_value for name in names)


def db_values(model, using: str, values: dict) -> list:
    """``values`` (field name → Python value) as the database takes them, in order.

    Each field's ``get_db_prep_value``, found once per model and field names (``_db_preps``).
    """
    connection = connections[using]
    preps = _db_preps(model, tuple(values))
    return [prep(value, connection) for prep, value in zip(preps, values.values())]


def update_by_key(model, using: str, key, values: dict) -> int:
    """``UPDATE`` one row of ``model`` by primary key with ``values``; the rows changed."""
    table, columns = quoted_table(model, using)
    assignments = ", ".join(f"{columns[name]} = %s" for name in values)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} WHERE {columns[model._meta.pk.name]} = %s",
            [*db_values(model, using, values), key],
        )
        return cursor.rowcount


def select_by_key_for_update(model, using: str, key, names: list[str]) -> tuple | None:
    """The fields ``names`` of ``model``'s row ``key``, locked until the transaction ends; ``None`` without one.

    Values come back as the database gives them (SQLite: booleans as 0 and 1);
    on SQLite the whole database is locked by the write transaction anyway.
    """
    connection = connections[using]
    table, columns = quoted_table(model, using)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns[name] for name in names)} FROM {table} "
            f"WHERE {columns[model._meta.pk.name]} = %s{lock}",
            [key],
        )
        return cursor.fetchone()


def model_from_row(model, using: str, names: list[str], row: tuple):
    """An instance of ``model`` from a row of the fields ``names``, as the ORM would have read it.

    The backend's and the fields' converters are applied (SQLite: text to
    datetimes, integers to booleans), then ``Model.from_db``.
    """
    connection = connections[using]
    converters = _row_converters(model, connection, tuple(names))
    if len(row) != len(names):
        raise ValueError(f"a row of {len(row)} values for {len(names)} fields")
    values = list(row)
    for index, column, functions in converters:
        value = values[index]
        for converter in functions:
            value = converter(value, column, connection)
        values[index] = value
    return model.from_db(using, names, values)


# Per connection (each thread has its own, and the backend's converters are its methods), per model and names.
_converters_by_connection: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _row_converters(model, connection, names: tuple[str, ...]) -> tuple:
    """``(index, column, converters)`` of each field of ``names`` that has converters: the ORM's, looked up once."""
    by_model = _converters_by_connection.get(connection)
    if by_model is None:
        by_model = _converters_by_connection[connection] = {}
    converters = by_model.get((model, names))
    if converters is None:
        converters = []
        for index, name in enumerate(names):
            field = model._meta.get_field(name)
            column = field.get_col(model._meta.db_table)
            functions = (*connection.ops.get_db_converters(column), *field.get_db_converters(connection))
            if functions:
                converters.append((index, column, functions))
        converters = by_model[(model, names)] = tuple(converters)
    return converters


def insert_row(model, using: str, values: dict, *, unless_conflict_on: str | None = None) -> int:
    """``INSERT`` one row of ``model`` with ``values``; the rows inserted.

    With ``unless_conflict_on`` (a field name), a row whose value there is taken
    already is skipped (``ON CONFLICT … DO NOTHING``): 0.
    """
    with connections[using].cursor() as cursor:
        cursor.execute(
            _insert_statement(model, using, tuple(values), unless_conflict_on), db_values(model, using, values)
        )
        return cursor.rowcount


@functools.cache
def _insert_statement(model, using: str, names: tuple[str, ...], unless_conflict_on: str | None) -> str:
    # Written once per model, database and field names: a login inserts two rows.
    table, columns = quoted_table(model, using)
    conflict = f" ON CONFLICT ({columns[unless_conflict_on]}) DO NOTHING" if unless_conflict_on else ""
    return (
        f"INSERT INTO {table} ({', '.join(columns[name] for name in names)}) "
        f"VALUES ({', '.join(['%s'] * len(names))}){conflict}"
    )


@functools.cache
def model_statement(model, using: str, template: str) -> str:
    """``template`` with ``{table}`` and ``{<field name>}`` replaced by the quoted names, built once per database.

    For a statement the helpers above do not write (a conditional ``UPDATE …
    RETURNING``): its text is formatted on the first call only.
    """
    table, columns = quoted_table(model, using)
    return template.format(table=table, **columns)
