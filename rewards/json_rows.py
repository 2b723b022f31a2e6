"""Rows a statement reads as one JSON value, loaded as model instances.

A read on the write path (an event's active rules and challenges) is a scalar subquery answering
its rows as one JSON array, so one statement can read several of them beside a write (an order's
counter, its rules, the ladder and its challenges, in one round trip), and a read on its own is
the same subquery. The driver parses the JSON; only the times need converting (JSON has none).
"""

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    IntegerField,
    JSONField,
    Model,
)

M = TypeVar("M", bound=Model)

# What a column's JSON value becomes, by the field (others pass as JSON gave them: text, numbers,
# booleans, and jsonb columns already parsed as the ORM parses them).
_PASSED = (BooleanField, CharField, IntegerField, JSONField)


def json_rows_sql(function_call: str) -> str:
    """A scalar subquery: the rows of a set-returning function, in its order, as one JSON array
    (NULL when there are none)."""
    return f"(SELECT json_agg(r ORDER BY r.ordinality) FROM {function_call} WITH ORDINALITY AS r)"


def _converter(field: Any) -> Callable[[Any], Any] | None:
    if isinstance(field, DateTimeField):
        return datetime.fromisoformat
    if isinstance(field, DateField):
        return date.fromisoformat
    if isinstance(field, _PASSED):
        return None
    raise TypeError(f"{field} has no JSON conversion here: add one before reading it as JSON.")


def json_rows_loader(model: type[M]) -> Callable[[Sequence[dict[str, Any]] | None], list[M]]:
    """Loads what ``json_rows_sql`` read of ``model``'s rows as instances, as if the ORM had
    loaded them."""
    fields = [(field.column, _converter(field)) for field in model._meta.concrete_fields]

    def load(rows: Sequence[dict[str, Any]] | None) -> list[M]:
        return [
            model.from_db(
                connection.alias,
                None,
                [
                    convert(row[column]) if convert is not None and row[column] is not None else row[column]
                    for column, convert in fields
                ],
            )
            for row in rows or ()
        ]

    return load
