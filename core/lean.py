"""A hot read's plain case, declared beside its DRF view: which query it takes, the SQL of its
answer, and how a row becomes the answer. ``loyalty.lean.lean_view`` serves that case in one
statement, outside DRF's request machinery; every other request goes to the DRF view as it is.

This module holds what needs no app: the declaration and the reading of its query.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.validators import MaxValueValidator, MinValueValidator
from rest_framework import serializers
from rest_framework.fields import empty

# A query value the lean path reads: plain ASCII digits (a sign, a space, an escape: DRF's).
_MAX_DIGITS = 20


@dataclass(frozen=True)
class LeanRead:
    """A read's plain case.

    ``query``: the whole-number query parameters it takes, in the order ``sql`` takes them; a
    request with any other parameter, or one of these out of what the view's input serializer
    accepts, is the DRF view's. ``sql``: a SELECT with ``%s`` parameters, run in the same
    statement as the token's check. ``answer``: the parameters and that row to what the view's
    renderer writes (``orjson.Fragment`` for bytes PostgreSQL built).
    """

    query: tuple[str, ...]
    sql: str
    answer: Callable[[dict[str, int], Sequence[Any]], Any]


@dataclass(frozen=True)
class _Whole:
    """A whole-number parameter as its serializer field accepts it."""

    name: str
    min_value: int
    max_value: int
    default: int | None  # None: required


def _whole(field: serializers.Field, name: str) -> _Whole:
    extra = [v for v in field.validators if not isinstance(v, (MinValueValidator, MaxValueValidator))]
    if not isinstance(field, serializers.IntegerField) or extra or field.min_value is None or field.max_value is None:
        raise ImproperlyConfigured(f"A lean read takes bounded whole numbers only; {name!r} is not one.")
    return _Whole(name, field.min_value, field.max_value, None if field.default is empty else field.default)


class LeanQuery:
    """The query a ``LeanRead`` takes, with the bounds and defaults of the view's serializer
    fields (read from them, never restated): ``params`` of a query string, or None when the
    request is not the plain case (DRF answers it, errors included)."""

    def __init__(self, read: LeanRead, serializer_class: type[serializers.Serializer]) -> None:
        fields = serializer_class().fields
        if set(fields) - set(read.query) - {name for name, field in fields.items() if not field.required}:
            raise ImproperlyConfigured(f"{serializer_class.__name__} requires a field the lean read does not take.")
        self.wholes = {name: _whole(fields[name], name) for name in read.query}

    def params(self, query_string: str) -> dict[str, int] | None:
        params: dict[str, int] = {}
        for pair in query_string.split("&") if query_string else ():
            name, _, value = pair.partition("=")
            whole = self.wholes.get(name)
            if whole is None or name in params or not (value.isascii() and value.isdigit()):
                return None
            if len(value) > _MAX_DIGITS or not whole.min_value <= int(value) <= whole.max_value:
                return None
            params[name] = int(value)
        for whole in self.wholes.values():
            if whole.name not in params:
                if whole.default is None:
                    return None
                params[whole.name] = whole.default
        return params
