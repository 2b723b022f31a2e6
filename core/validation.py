"""Plain-Python validation of JSON bodies: the fields a domain grammar is built of, with no DRF.

A domain (the earning rules, the tier ladder, the catalog) declares its input as an
:class:`Object` of fields and checks of its own; validating raises :class:`Invalid` with its
errors shaped as the API's serializers shape theirs (a list of messages per field, nested
objects and lists inside), and :func:`plain_errors` flattens them into the error body's
``fields`` (``{"conditions": ["0: field: …"]}``). The fields keep the API's strict reading: a
careless client's input is refused, never coerced (no ``"5"`` for 5, no 1 for true), and each
refusal says what it says in every part of the API.
"""

import decimal
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

# ---- the messages, as every field of the API words them ------------------------------------------

REQUIRED = "This field is required."
NULL = "This field may not be null."
BLANK = "This field may not be blank."
NOT_A_STRING = "A string is required."
NOT_AN_INTEGER = "A whole number is required (not a string, decimal or boolean)."
NOT_A_BOOLEAN = "true or false is required."
NOT_A_NUMBER = "A valid number is required."
# What text fields answer for a NUL (Django's ProhibitNullCharactersValidator), so every NUL is
# refused in the same words.
NUL_MESSAGE = "Null characters are not allowed."
DATETIME_FORMAT = "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]"
NON_FIELD = "non_field_errors"


class Invalid(Exception):
    """Input refused: ``detail`` is a list of messages, or a dict of them by field (nested)."""

    def __init__(self, detail: Any) -> None:
        self.detail = [detail] if isinstance(detail, str) else detail
        super().__init__(detail)


class _Empty:
    def __repr__(self) -> str:
        return "<absent>"


EMPTY: Any = _Empty()  # a key the body does not have


class _Skip(Exception):
    """An optional key that is absent and has no default: the result leaves it out."""


def plain_errors(detail: Mapping[Any, Any]) -> dict[str, list[str]]:
    """Errors as ``{field: [message, ...]}``: nested errors (a list's items, a nested object's
    fields) become messages prefixed with where they are."""
    return {str(field): _messages(errors) for field, errors in detail.items()}


def _messages(errors: Any, where: str = "") -> list[str]:
    if isinstance(errors, dict):
        return [message for key, value in errors.items() for message in _messages(value, f"{where}{key}: ")]
    if isinstance(errors, list):
        return [message for item in errors for message in _messages(item, where)]
    return [f"{where}{errors}"]


def holds_nul(value: Any) -> bool:
    """A NUL (U+0000) in a string anywhere in a JSON value: in a text, a key, a list's item.
    Walked with a stack of its own: no nesting can exhaust Python's recursion limit."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
    return False


# Blank-looking letters: Hangul fillers and the Braille blank are letters or symbols to
# Unicode, yet draw nothing.
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def has_visible_character(text: str) -> bool:
    """Some letter, number, punctuation or symbol: spaces of every kind (no-break, ideographic),
    format characters (zero-width space, joiners, direction marks), controls and marks alone
    draw nothing a person could read."""
    return any(unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK_GLYPHS for ch in text)


# ---- fields ------------------------------------------------------------------------------------------

Check = Callable[[Any], str | None]  # a message when the value is refused


class Field:
    """One key of an object: absent (required, or its default), null, then its value read and
    checked (every check's message is collected)."""

    def __init__(
        self,
        *,
        required: bool | None = None,
        default: Any = EMPTY,
        allow_null: bool = False,
        checks: Sequence[Check] = (),
    ) -> None:
        self.default = default
        self.required = default is EMPTY if required is None else required
        self.allow_null = allow_null
        self.checks = list(checks)

    def run(self, data: Any) -> Any:
        if data is EMPTY:
            if self.required:
                raise Invalid([REQUIRED])
            if self.default is EMPTY:
                raise _Skip
            return self.default() if callable(self.default) else self.default
        if data is None:
            if not self.allow_null:
                raise Invalid([NULL])
            return None
        value = self.read(data)
        messages = [message for check in self.checks if (message := check(value)) is not None]
        if messages:
            raise Invalid(messages)
        return value

    def read(self, data: Any) -> Any:
        return data


def at_most(maximum: Any) -> Check:
    return lambda value: f"Ensure this value is less than or equal to {maximum}." if value > maximum else None


def at_least(minimum: Any) -> Check:
    return lambda value: f"Ensure this value is greater than or equal to {minimum}." if value < minimum else None


class Integer(Field):
    """A JSON integer, never a boolean, a decimal or digits in a string."""

    def __init__(self, *, min_value: int | None = None, max_value: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.min_value, self.max_value = min_value, max_value
        if max_value is not None:
            self.checks.append(at_most(max_value))
        if min_value is not None:
            self.checks.append(at_least(min_value))

    def read(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise Invalid([NOT_AN_INTEGER])
        return data


def _surrogate(value: str) -> str | None:
    for ch in value:
        if 0xD800 <= ord(ch) <= 0xDFFF:
            return f"Surrogate characters are not allowed: U+{ord(ch):X}."
    return None


def _visible(value: str) -> str | None:
    return None if has_visible_character(value) else BLANK


class Text(Field):
    """A string. ``trim``: read without its surrounding whitespace (blank then is blank);
    ``visible``: it must show something (text as sent, not trimmed, so the length the schema
    states is the length checked)."""

    def __init__(
        self,
        *,
        max_length: int | None = None,
        min_length: int | None = None,
        allow_blank: bool = False,
        trim: bool = True,
        visible: bool = False,
        checks: Sequence[Check] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(checks=[*((_visible,) if visible else ()), *checks], **kwargs)
        self.max_length, self.min_length = max_length, min_length
        self.allow_blank, self.trim = allow_blank, trim
        if max_length is not None:
            self.checks.append(
                lambda value: (
                    f"Ensure this field has no more than {max_length} characters." if len(value) > max_length else None
                )
            )
        if min_length is not None:
            self.checks.append(
                lambda value: (
                    f"Ensure this field has at least {min_length} characters." if len(value) < min_length else None
                )
            )
        self.checks.append(lambda value: NUL_MESSAGE if "\x00" in value else None)
        self.checks.append(_surrogate)

    def run(self, data: Any) -> Any:
        if data == "" or (self.trim and isinstance(data, str) and data.strip() == ""):
            if not self.allow_blank:
                raise Invalid([BLANK])
            return ""
        return super().run(data)

    def read(self, data: Any) -> str:
        if not isinstance(data, str):
            raise Invalid([NOT_A_STRING])
        return data.strip() if self.trim else data


def visible_text(*, max_length: int, **kwargs: Any) -> Text:
    """Text with something visible in it, stored as sent (not trimmed)."""
    return Text(min_length=1, max_length=max_length, trim=False, visible=True, **kwargs)


def pattern(regex: str, message: str) -> Check:
    compiled = re.compile(regex)
    return lambda value: None if compiled.search(value) else message


class Choice(Field):
    """One of the choices, as text."""

    def __init__(self, choices: Iterable[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        keys = [choice[0] if isinstance(choice, tuple | list) else choice for choice in choices]
        self.choices = {str(key): key for key in keys}

    def read(self, data: Any) -> Any:
        if not isinstance(data, str) or data not in self.choices:
            raise Invalid([f'"{data}" is not a valid choice.'])
        return self.choices[data]


class Boolean(Field):
    """true or false only (no "yes", 1 or "on")."""

    def read(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise Invalid([NOT_A_BOOLEAN])
        return data


# Only ASCII digits are numbers: Python's Decimal() also reads other scripts' digits.
_DECIMAL_TEXT = re.compile(r"^\s*[+-]?[0-9]{1,30}(\.[0-9]{1,30})?\s*$")


class DecimalNumber(Field):
    """An exact decimal from a JSON number or plain ASCII text ("5.00"), never a boolean, held to
    its digits and places and read at its places (``Decimal("0.050000")``)."""

    def __init__(
        self,
        *,
        max_digits: int,
        decimal_places: int,
        min_value: Decimal | None = None,
        max_value: Decimal | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_digits, self.decimal_places = max_digits, decimal_places
        self.min_value, self.max_value = min_value, max_value
        if max_value is not None:
            self.checks.append(at_most(max_value))
        if min_value is not None:
            self.checks.append(at_least(min_value))

    def read(self, data: Any) -> Decimal:
        if isinstance(data, bool) or (isinstance(data, str) and not _DECIMAL_TEXT.match(data)):
            raise Invalid([NOT_A_NUMBER])
        text = str(data).strip()
        if len(text) > 1000:
            raise Invalid(["String value too large."])
        try:
            value = Decimal(text)
        except decimal.DecimalException:
            raise Invalid([NOT_A_NUMBER]) from None
        if not value.is_finite():
            raise Invalid([NOT_A_NUMBER])
        self._precision_check(value)
        context = decimal.getcontext().copy()
        context.prec = self.max_digits
        return value.quantize(Decimal(".1") ** self.decimal_places, context=context)

    def _precision_check(self, value: Decimal) -> None:
        _, digits, exponent = value.as_tuple()
        if exponent >= 0:
            total = whole = len(digits) + exponent
            places = 0
        elif len(digits) > abs(exponent):
            total, places = len(digits), abs(exponent)
            whole = total - places
        else:
            total = places = abs(exponent)
            whole = 0
        if total > self.max_digits:
            raise Invalid([f"Ensure that there are no more than {self.max_digits} digits in total."])
        if places > self.decimal_places:
            raise Invalid([f"Ensure that there are no more than {self.decimal_places} decimal places."])
        if whole > self.max_digits - self.decimal_places:
            raise Invalid(
                [
                    "Ensure that there are no more than "
                    f"{self.max_digits - self.decimal_places} digits before the decimal point."
                ]
            )


MAX_MONEY = Decimal("9999999999.99")


def money(*, max_value: Decimal = MAX_MONEY, **kwargs: Any) -> DecimalNumber:
    """A positive amount with at most 2 decimal places, read as an exact Decimal."""
    return DecimalNumber(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), max_value=max_value, **kwargs)


class DateTime(Field):
    """An ISO 8601 moment, read in the current time zone when it names none."""

    def read(self, data: Any) -> datetime:
        if isinstance(data, date) and not isinstance(data, datetime):
            raise Invalid(["Expected a datetime but got a date."])
        if isinstance(data, datetime):
            return self._aware(data)
        try:
            parsed = parse_datetime(data)
        except (ValueError, TypeError):
            parsed = None
        if parsed is None:
            raise Invalid([f"Datetime has wrong format. Use one of these formats instead: {DATETIME_FORMAT}."])
        return self._aware(parsed)

    @staticmethod
    def _aware(value: datetime) -> datetime:
        zone = timezone.get_current_timezone()
        if timezone.is_aware(value):
            try:
                return value.astimezone(zone)
            except OverflowError:
                raise Invalid(["Datetime value out of range."]) from None
        return timezone.make_aware(value, zone)


class Anything(Field):
    """Any JSON value (a condition's value: its own grammar checks it)."""


class ListOf(Field):
    """A JSON list of ``child`` values; an item's errors are named by its index."""

    def __init__(self, child: Field, *, max_length: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.child, self.max_length = child, max_length
        if max_length is not None:
            self.checks.append(
                lambda value: (
                    f"Ensure this field has no more than {max_length} elements." if len(value) > max_length else None
                )
            )

    def read(self, data: Any) -> list[Any]:
        if isinstance(data, str | Mapping) or not hasattr(data, "__iter__"):
            raise Invalid([f'Expected a list of items but got type "{type(data).__name__}".'])
        result, errors = [], {}
        for index, item in enumerate(data):
            try:
                result.append(self.child.run(item))
            except Invalid as error:
                errors[index] = error.detail
        if errors:
            raise Invalid(errors)
        return result


Whole = Callable[[dict[str, Any]], dict[str, Any]]  # an object's own checks, once its fields are read


class Object(Field):
    """A JSON object of named fields, read in their order (every field's errors are collected),
    then checked whole by ``whole``. ``unknown_refused``: a key it does not have is refused by
    name (a misspelt ``prority`` must not be dropped quietly). ``nul_refused``: a value holding
    a NUL anywhere is refused by its key before anything is read (PostgreSQL's jsonb cannot
    hold one). ``each``: a field's own check of its read value."""

    def __init__(
        self,
        fields: Mapping[str, Field],
        *,
        whole: Whole | None = None,
        each: Mapping[str, Callable[[Any], Any]] | None = None,
        unknown_refused: bool = True,
        nul_refused: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.fields = dict(fields)
        self.whole, self.each = whole, dict(each or {})
        self.unknown_refused, self.nul_refused = unknown_refused, nul_refused

    def validate(self, data: Any) -> dict[str, Any]:
        """The object read whole, as a body is: ``Invalid`` with every field's errors."""
        return self.run(data)

    def read(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            if self.nul_refused:
                refused = {str(key): [NUL_MESSAGE] for key, value in data.items() if holds_nul(key) or holds_nul(value)}
                if refused:
                    raise Invalid(refused)
            if self.unknown_refused:
                unknown = sorted(set(data) - set(self.fields))
                if unknown:
                    known = ", ".join(self.fields)
                    raise Invalid({key: [f"Unknown key {key!r}; the keys are: {known}."] for key in unknown})
        if not isinstance(data, Mapping):
            raise Invalid({NON_FIELD: [f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]})
        result, errors = {}, {}
        for name, field in self.fields.items():
            try:
                value = field.run(data.get(name, EMPTY))
                if name in self.each:
                    value = self.each[name](value)
            except Invalid as error:
                errors[name] = error.detail
            except _Skip:
                pass
            else:
                result[name] = value
        if errors:
            raise Invalid(errors)
        if self.whole is not None:
            try:
                result = self.whole(result)
            except Invalid as error:
                raise Invalid(_as_fields(error.detail)) from None
        return result


def _as_fields(detail: Any) -> dict[str, Any]:
    """An object's own refusal by field; one that names none is its ``non_field_errors``."""
    if isinstance(detail, dict):
        return {key: value if isinstance(value, list | dict) else [value] for key, value in detail.items()}
    return {NON_FIELD: detail}


class ObjectList(Field):
    """A JSON list of objects, an object's errors named by its index; a list that is not one,
    or too long, is refused whole."""

    def __init__(self, child: Object, *, max_length: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.child, self.max_length = child, max_length

    def read(self, data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, list):
            raise Invalid({NON_FIELD: [f'Expected a list of items but got type "{type(data).__name__}".']})
        if self.max_length is not None and len(data) > self.max_length:
            raise Invalid({NON_FIELD: [f"Ensure this field has no more than {self.max_length} elements."]})
        result, errors = [], {}
        for index, item in enumerate(data):
            try:
                result.append(self.child.run(item))
            except Invalid as error:
                errors[index] = error.detail
        if errors:
            raise Invalid(errors)
        return result
