"""What a customer attribute may be: a key as a rule's property name is
(``[A-Za-z0-9_.-]{1,50}``), a value that is a visible text of at most 200 characters, a
number (at most 15 significant digits, 6 decimal places) or a boolean. At most 50 per
customer. Plain Python: the errors are the domain's."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.validation import NUL_MESSAGE, has_visible_character, holds_nul
from rewards.errors import AttributesInvalid
from rewards.program.language import as_number, is_property_name, json_number

MAX_ATTRIBUTES = 50
MAX_TEXT_LENGTH = 200
MAX_NUMBER_DIGITS = 15
MAX_DECIMAL_PLACES = 6
KEY_RULE = "a key is 1 to 50 ASCII letters, digits, _, . or -"


def number_checked(value: Any) -> Decimal | None:
    """The exact number, or None when it is no number this language stores (text, a boolean,
    NaN, too many digits or places)."""
    number = as_number(value)
    if number is None:
        return None
    normal = number.normalize()
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMAL_PLACES:
        return None
    if len(normal.as_tuple().digits) > MAX_NUMBER_DIGITS or abs(number) >= 10**MAX_NUMBER_DIGITS:
        return None
    return number


def _value_error(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if "\x00" in value:
            return NUL_MESSAGE
        if len(value) > MAX_TEXT_LENGTH or not has_visible_character(value):
            return f"A text attribute shows something and has at most {MAX_TEXT_LENGTH} characters."
        return None
    if as_number(value) is not None:
        if number_checked(value) is None:
            return f"A number attribute has at most {MAX_NUMBER_DIGITS} digits and {MAX_DECIMAL_PLACES} decimal places."
        return None
    return "A value is a text, a number, a boolean, or null to remove the key."


def attributes_merged(current: Mapping[str, Any], changes: Any) -> dict[str, Any]:
    """``current`` with ``changes`` merged in (a null removes its key), every key and value of
    the changes checked; at most 50 keys after. Raises ``AttributesInvalid`` naming each bad key."""
    if not isinstance(changes, Mapping):
        raise AttributesInvalid(fields={"non_field_errors": ["A JSON object of attributes is required."]})
    errors: dict[str, list[str]] = {}
    merged = dict(current)
    for key, value in changes.items():
        if not isinstance(key, str) or holds_nul(key):
            errors[str(key).replace("\x00", "\\u0000")] = [NUL_MESSAGE]
            continue
        if not is_property_name(key):
            errors[key] = [f"{key!r}: {KEY_RULE}."]
            continue
        if value is None:
            merged.pop(key, None)
            continue
        problem = _value_error(value)
        if problem:
            errors[key] = [problem]
            continue
        merged[key] = value if isinstance(value, str | bool) else json_number(as_number(value))
    if errors:
        raise AttributesInvalid(fields=errors)
    if len(merged) > MAX_ATTRIBUTES:
        raise AttributesInvalid(
            f"A customer has at most {MAX_ATTRIBUTES} attributes; these changes leave {len(merged)}.",
            fields={"non_field_errors": [f"At most {MAX_ATTRIBUTES} attributes (null removes one)."]},
        )
    return merged
