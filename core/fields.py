"""Strict serializer fields: a careless client's input is refused, never coerced.

DRF by default reads ``"5"``, ``5.0`` and even ``True`` as the integer 5 and the
number 5 as the string ``"5"``. For an API that moves points those are client
bugs, so these fields refuse them. Query strings carry only text, so a field
reads digits from text only when the serializer's context says ``query=True``.
"""

import copy
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from rest_framework import serializers
from rest_framework.relations import ManyRelatedField, RelatedField
from rest_framework.utils import html

from core.exceptions import InvalidInput
from core.limits import MAX_BIGINT, MAX_POINTS_PER_ENTRY
from core.validation import MAX_MONEY, NUL_MESSAGE, has_visible_character, holds_nul

_DIGITS = re.compile(r"^-?[0-9]{1,30}$")
# Only ASCII digits are numbers: Python's int() and Decimal() also read other scripts' digits.
_DECIMAL_TEXT = re.compile(r"^\s*[+-]?[0-9]{1,30}(\.[0-9]{1,30})?\s*$")

MAX_USER_ID = MAX_BIGINT


class QueryBlankIsInvalid:
    """``?limit=`` is a mistake, not an omission: DRF would quietly use the default."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)


class StrictIntegerField(QueryBlankIsInvalid, serializers.IntegerField):
    default_error_messages = {
        "invalid": "A whole number is required (not a string, decimal or boolean).",
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            value = data
        elif isinstance(data, str) and self.context.get("query") and _DIGITS.match(data.strip()):
            value = int(data.strip())
        else:
            self.fail("invalid")
        # The bounds (min_value, max_value) are checked by run_validation after this, once.
        return value


class StrictCharField(QueryBlankIsInvalid, serializers.CharField):
    default_error_messages = {"invalid": "A string is required."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def user_id_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_USER_ID, **kwargs)


def points_field(**kwargs: Any) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=MAX_POINTS_PER_ENTRY, **kwargs)


class VisibleTextValidator(RegexValidator):
    """Text must show something. The schema states it as ``\\S`` (its regex has no Unicode
    categories); the check itself is :func:`has_visible_character`."""

    def __init__(self) -> None:
        super().__init__(r"\S", "This field may not be blank.")

    def __call__(self, value: Any) -> None:
        if not has_visible_character(str(value)):
            raise ValidationError(self.message, code="blank")


_NOT_BLANK = VisibleTextValidator()


def text_field(*, max_length: int, **kwargs: Any) -> StrictCharField:
    """Text with something visible in it, stored as sent (not trimmed), so the length the
    schema states is the length checked."""
    return StrictCharField(
        min_length=1,
        max_length=max_length,
        allow_blank=False,
        trim_whitespace=False,
        validators=[_NOT_BLANK],
        **kwargs,
    )


# A day as YYYY-MM-DD in ASCII digits and nothing else. DRF reads days with date.fromisoformat,
# which also takes 20261207, 2026-W49-1 and 2026-341, and Python's digits include other
# scripts' (Arabic-Indic ٢٠٢٦): none of them is the documented form.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class StrictDateField(QueryBlankIsInvalid, serializers.DateField):
    """A day written ``YYYY-MM-DD`` only; a blank query parameter is refused, not defaulted."""

    default_error_messages = {
        "invalid": "A date written YYYY-MM-DD is required.",
        "blank": "This field may not be blank.",
    }

    def to_internal_value(self, data: Any) -> date:
        if data == "":
            self.fail("blank")
        if not isinstance(data, str) or not _ISO_DAY.fullmatch(data):
            self.fail("invalid")
        try:
            return date.fromisoformat(data)
        except ValueError:  # 2026-02-30
            self.fail("invalid")


# A moment: a day and a time to the second (a fraction allowed), with Z or an offset; a moment
# with no offset names no moment (midnight where?) and is refused.
_ISO_MOMENT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)


PLUS_UNENCODED = "A moment's + offset must be sent as %2B in a query string (a + there reads as a space)."


def _plus_unencoded(data: str) -> bool:
    """A moment whose + offset a query string turned into a space."""
    return data.count(" ") == 1 and bool(_ISO_MOMENT.fullmatch(data.replace(" ", "+")))


class QueryDateTimeField(serializers.DateTimeField):
    """DRF's date and time, which says so when a query string's + became a space."""

    default_error_messages = {"plus_unencoded": PLUS_UNENCODED}

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str) and _plus_unencoded(value):
            self.fail("plus_unencoded")
        return super().to_internal_value(value)


class AsOfField(QueryBlankIsInvalid, serializers.Field):
    """``as_of``: a day ``YYYY-MM-DD`` (its end, UTC, as the reports read it) or a moment
    ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` with ``Z`` or an offset; a date for a day, a datetime in
    UTC for a moment."""

    default_error_messages = {
        "invalid": "A day YYYY-MM-DD or a moment YYYY-MM-DDTHH:MM:SSZ (or with an offset) is required.",
        "blank": "This field may not be blank.",
        "out_of_range": "This moment is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z in UTC.",
        "plus_unencoded": PLUS_UNENCODED,
    }

    def to_internal_value(self, data: Any) -> date | datetime:
        if data == "":
            self.fail("blank")
        if not isinstance(data, str):
            self.fail("invalid")
        if _plus_unencoded(data):
            self.fail("plus_unencoded")
        try:
            if _ISO_DAY.fullmatch(data):
                value: date | datetime = date.fromisoformat(data)
            elif _ISO_MOMENT.fullmatch(data):
                value = datetime.fromisoformat(data)
            else:
                self.fail("invalid")
        except ValueError:  # 2026-02-30, 25:00, an offset past a day
            self.fail("invalid")
        if isinstance(value, datetime):
            try:
                value = value.astimezone(UTC)
            except OverflowError:  # a real moment, but before year 1 or after 9999 in UTC
                self.fail("out_of_range")
        self.run_validators(value)
        return value

    def to_representation(self, value: date | datetime) -> str:
        return value.isoformat()


class StrictDecimalField(serializers.DecimalField):
    """A decimal from a JSON number or from plain ASCII text ("5.00"); never a boolean."""

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or (isinstance(data, str) and not _DECIMAL_TEXT.match(data)):
            self.fail("invalid")
        return super().to_internal_value(data)


def money_field(*, max_value: Decimal = MAX_MONEY, **kwargs: Any) -> serializers.DecimalField:
    """A positive amount with at most 2 decimal places, read as an exact Decimal.

    JSON numbers arrive as Decimal (our parser never makes floats); numeric
    strings such as "5.00" are accepted too, as money is often sent that way.
    """
    return StrictDecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=max_value,
        **kwargs,
    )


class StrictUUIDField(serializers.UUIDField):
    """A UUID as text only; DRF would also read an integer as a UUID."""

    def to_internal_value(self, data: Any):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class StrictChoiceField(QueryBlankIsInvalid, serializers.ChoiceField):
    default_error_messages = {"blank": "This field may not be blank."}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        if data == "" and not self.allow_blank:
            self.fail("blank")
        return super().to_internal_value(data)


def with_settings_max(field: serializers.Field, maximum: Any) -> None:
    """Give a field a maximum that comes from settings (read per request, so tests and
    operators can change it); the schema shows it too."""
    field.max_value = maximum
    field.validators = [v for v in field.validators if not isinstance(v, MaxValueValidator)]
    field.validators.append(
        MaxValueValidator(maximum, message=field.error_messages["max_value"].format(max_value=maximum))
    )


class StrictBooleanField(serializers.BooleanField):
    """true or false only; DRF would also read "yes", 1 and "on"."""

    default_error_messages = {"invalid": "true or false is required."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class NoUnknownKeysMixin:
    """A key the serializer does not have is refused by name: a misspelt ``prority`` must not
    be dropped quietly, leaving a rule that does something else than its author meant."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                known = ", ".join(self.fields)
                raise serializers.ValidationError(
                    {key: [f"Unknown key {key!r}; the keys are: {known}."] for key in unknown}
                )
        return super().to_internal_value(data)


class NulRefusedMixin:
    """For an input whose values are stored as JSON: PostgreSQL's jsonb cannot hold a NUL, so
    a field whose value holds one anywhere (a condition's value, an activity's properties, an
    item's key) is refused by its name before it is read, as text fields refuse it, instead of
    failing in the database. Checked on the whole body, so no nested field can forget it."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            refused = {str(key): [NUL_MESSAGE] for key, value in data.items() if holds_nul(key) or holds_nul(value)}
            if refused:
                raise serializers.ValidationError(refused)
        return super().to_internal_value(data)


class DomainValidated:
    """A body a domain's grammar checks (``core.validation``): the serializer's fields document
    it (the OpenAPI schema), and validating it calls ``domain_validator``, whose refusal becomes
    the same 400, field by field, as a serializer's own."""

    domain_validator: Any

    def to_internal_value(self, data: Any) -> Any:
        try:
            return self.domain_validator(data)
        except InvalidInput as error:
            raise serializers.ValidationError(error.fields) from None


def unbound_copy(field: serializers.Field) -> serializers.Field:
    """A declared field's copy for one serializer instance, as ``copy.deepcopy`` makes it.

    DRF deep-copies every declared field for every serializer it builds, which runs each
    field's ``__init__`` again (its validators, lazy messages and all): most of what validating
    a small body costs. A plain field's state is its ``__dict__`` of settings, the validators'
    list and the messages' dict, so a copy of those three is the same field unbound. A field
    that holds other fields (a nested serializer, a list's child) or a queryset is deep-copied.
    """
    if isinstance(field, serializers.BaseSerializer | RelatedField | ManyRelatedField) or hasattr(field, "child"):
        return copy.deepcopy(field)
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    if "_validators" in clone.__dict__:
        clone._validators = list(clone._validators)
    clone.error_messages = dict(clone.error_messages)
    return clone


class Input(serializers.Serializer):
    """An API input: a serializer whose fields are copied per instance by ``unbound_copy``."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: unbound_copy(field) for name, field in self._declared_fields.items()}
