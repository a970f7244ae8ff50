"""Writing many rows at once: COPY on PostgreSQL (its text format made a column at a time), executemany on SQLite."""

from __future__ import annotations

import io
import re
from datetime import datetime

from django.db import connections, models

_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_NULL = "\\N"
_NONE = type(None)


def _copy_column(values: tuple) -> list[str]:
    """One column of rows as COPY text: its type looked at once, every value converted by C code where it can be."""
    kinds = set(map(type, values))
    nulls = _NONE in kinds
    if kinds <= {str, _NONE}:
        texts = ["" if value is None else value for value in values] if nulls else list(values)
        # Escaping is rare (a tab or a newline in a name): one search of the whole column says whether it is needed.
        if _COPY_SPECIAL.search("".join(texts)):
            texts = [text.translate(_COPY_ESCAPES) for text in texts]
    elif kinds <= {int, _NONE}:
        texts = list(map(str, values))
    elif kinds <= {datetime, _NONE}:
        texts = ["" if value is None else value.isoformat() for value in values]
    else:
        texts = [_copy_value(value) for value in values]
    if nulls:
        texts = [_COPY_NULL if value is None else text for value, text in zip(values, texts)]
    return texts


def _copy_value(value: object) -> str:
    if value is None:
        return ""
    if value.__class__ is bool:
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _copy_text(rows: list[tuple], tail: str = "\n") -> str:
    """``rows`` in PostgreSQL's COPY text format, each line ending with ``tail``.

    Converted a column at a time rather than a value at a time: the per-value
    work of a million rows is what the import spends its CPU on.
    """
    columns = [_copy_column(column) for column in zip(*rows)]
    return tail.join(map("\t".join, zip(*columns))) + tail


class BulkWriter:
    """Inserts and updates many rows of a model in few statements, on the database ``using``."""

    def __init__(self, using: str):
        self.connection = connections[using]
        self.postgresql = self.connection.vendor == "postgresql"

    def _table(self, model, field_names) -> tuple[str, list[models.Field]]:
        quote = self.connection.ops.quote_name
        return quote(model._meta.db_table), [model._meta.get_field(name) for name in field_names]

    def _sqlite_row(self, row: tuple, model_fields: list[models.Field]) -> tuple:
        # Each value as its field stores it: a datetime given as ISO text included.
        return tuple(f.get_db_prep_value(value, self.connection) for f, value in zip(model_fields, row))

    def insert(
        self, model, field_names: tuple[str, ...], rows: list[tuple], defaults: dict[str, object] | None = None
    ) -> None:
        """Insert ``rows`` of ``field_names`` values, the fields in ``defaults`` set the same in every row.

        On PostgreSQL the rows go in with COPY, the defaults' part of each line
        written once per call. A datetime may come as its ISO 8601 text.
        """
        if not rows:
            return
        defaults = defaults or {}
        quote = self.connection.ops.quote_name
        table, model_fields = self._table(model, (*field_names, *defaults))
        columns = ", ".join(quote(f.column) for f in model_fields)
        with self.connection.cursor() as cursor:
            if self.postgresql:
                tail = ("\t" + _copy_text([tuple(defaults.values())])) if defaults else "\n"
                # Bytes, so that neither io.StringIO nor the driver makes copies of a batch's text.
                data = _copy_text(rows, tail).encode("utf-8")
                # The driver's own cursor, so wrapped by hand: a unique violation must be Django's IntegrityError.
                # The whole batch in one read: psycopg2 gives up the GIL and takes it back for every chunk it
                # sends (8 KB by default), and each time the reader thread holds it, the chunk waits up to 5 ms.
                with self.connection.wrap_database_errors:
                    cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", io.BytesIO(data), size=len(data))
            else:
                placeholders = ", ".join(["%s"] * len(model_fields))
                constants = tuple(defaults.values())
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
                    [self._sqlite_row(row + constants, model_fields) for row in rows],
                )

    def update(self, model, field_names: tuple[str, ...], rows: list[tuple]) -> None:
        """Set ``field_names`` of the rows whose key is each row's first value to its other values.

        A datetime may come as its ISO 8601 text, as in ``insert``.
        """
        if not rows:
            return
        quote = self.connection.ops.quote_name
        table, model_fields = self._table(model, field_names)
        key = quote(model._meta.pk.column)
        with self.connection.cursor() as cursor:
            if self.postgresql:
                from psycopg2.extras import execute_values

                names = ["k", *(f"v{i}" for i in range(len(model_fields)))]
                assignments = ", ".join(f"{quote(f.column)} = v.v{i}" for i, f in enumerate(model_fields))
                casts = [model._meta.pk.db_type(self.connection), *(f.db_type(self.connection) for f in model_fields)]
                template = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
                with self.connection.wrap_database_errors:
                    execute_values(
                        cursor.cursor,
                        f"UPDATE {table} AS t SET {assignments} FROM (VALUES %s) AS v({', '.join(names)}) "
                        f"WHERE t.{key} = v.k",
                        rows,
                        template=template,
                        page_size=len(rows),
                    )
            else:
                assignments = ", ".join(f"{quote(f.column)} = %s" for f in model_fields)
                cursor.executemany(
                    f"UPDATE {table} SET {assignments} WHERE {key} = %s",
                    [self._sqlite_row((*row[1:], row[0]), [*model_fields, model._meta.pk]) for row in rows],
                )

    def delete(self, model, keys: list) -> None:
        if keys:
            model._default_manager.using(self.connection.alias).filter(pk__in=keys).delete()

