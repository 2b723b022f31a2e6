"""The language of a segment: its fields, the ops (those of the earning rules, imported from
``rewards.program``), what a condition's value and ``window_days`` may be, and the validation
of a whole segment. Plain Python: a refusal is ``SegmentInvalid`` naming what is wrong.

A condition is ``{"field", "op", "value"}`` and, on a field that counts orders, an optional
``window_days`` (the last that many days; default: ever). All of a segment's conditions must
hold; no condition is every customer.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.validation import NUL_MESSAGE, has_visible_character, holds_nul
from rewards.errors import SegmentInvalid
from rewards.program.language import LIST_OPS, MAX_LIST_VALUES, OPS, ORDERING_OPS, is_property_name, json_number
from rewards.segments.attributes import KEY_RULE, MAX_TEXT_LENGTH, number_checked

NUMBER, TEXT, ANY = "number", "text", "any"
ATTRIBUTES_PREFIX = "attributes."
MAX_CONDITIONS = 20
MAX_WINDOW_DAYS = 3660
CODE_PATTERN = re.compile(r"[a-z0-9_-]{1,50}")
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 500
SEGMENT_KEYS = ("code", "name", "description", "conditions")
CONDITION_KEYS = frozenset({"field", "op", "value", "window_days"})


@dataclass(frozen=True)
class SegmentField:
    kind: str  # NUMBER, TEXT or ANY (an attribute: a text, a number or a boolean)
    counts: bool = False  # counts orders: takes window_days
    what: str = ""


FIELDS: dict[str, SegmentField] = {
    "tier": SegmentField(TEXT, what="the customer's tier code now (none while no ladder is set)"),
    "orders_placed": SegmentField(NUMBER, counts=True, what="orders completed, returned ones included"),
    "orders_returned": SegmentField(NUMBER, counts=True, what="orders returned, wholly or in part"),
    "spent": SegmentField(NUMBER, counts=True, what="the orders' total_cost less what was returned"),
    "points.available": SegmentField(NUMBER, what="points that can be spent now (negative while owed)"),
    "points.earned_lifetime": SegmentField(NUMBER, what="every point ever credited"),
    "days_since_last_order": SegmentField(NUMBER, what="days since the last order (none: no order yet)"),
    "days_since_first_seen": SegmentField(NUMBER, what="days since the customer's first order or account"),
    "birthday_month": SegmentField(NUMBER, what="1 to 12 (none: no birthday set)"),
}
ATTRIBUTE_FIELD = SegmentField(ANY, what="the customer's attribute of that name (none: not set)")
# badge joins FIELDS once badges exist.


def field_of(name: str) -> SegmentField | None:
    if name.startswith(ATTRIBUTES_PREFIX):
        return ATTRIBUTE_FIELD if is_property_name(name[len(ATTRIBUTES_PREFIX) :]) else None
    return FIELDS.get(name)


def _scalar(value: Any, spec: SegmentField, name: str, op: str) -> Any:
    if spec.kind == NUMBER or op in ORDERING_OPS:
        number = number_checked(value)
        if number is None:
            raise ValueError(f"The value of {name} is a number (at most 15 digits, 6 decimal places).")
        if name == "birthday_month" and op not in ORDERING_OPS and number not in range(1, 13):
            raise ValueError("A birthday_month is 1 to 12.")
        return json_number(number)
    if isinstance(value, bool) and spec.kind == ANY:
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT_LENGTH or not value:
            raise ValueError(f"The value of {name} is a text of 1 to {MAX_TEXT_LENGTH} characters.")
        return value
    if spec.kind == ANY and number_checked(value) is not None:
        return json_number(number_checked(value))
    raise ValueError(
        f"The value of {name} is a text." if spec.kind == TEXT else f"The value of {name} is a text, number or boolean."
    )


def condition_validated(condition: Any) -> dict[str, Any]:
    """One condition, its value normalised (numbers as JSON stores them); raises ValueError
    with a message that names what is wrong."""
    if not isinstance(condition, Mapping):
        raise ValueError("A condition is an object with field, op and value.")
    unknown = sorted(set(condition) - CONDITION_KEYS)
    if unknown:
        raise ValueError(f"Unknown key {unknown[0]!r}; a condition has field, op, value and window_days.")
    missing = [key for key in ("field", "op", "value") if key not in condition]
    if missing:
        raise ValueError(f"A condition needs {', '.join(missing)}.")
    name, op, value = condition["field"], condition["op"], condition["value"]
    spec = field_of(name) if isinstance(name, str) else None
    if spec is None:
        if isinstance(name, str) and name.startswith(ATTRIBUTES_PREFIX):
            raise ValueError(f"Unknown field {name!r}: after attributes., {KEY_RULE}.")
        known = ", ".join([*FIELDS, "attributes.<name>"])
        raise ValueError(f"Unknown field {name!r}; the fields are: {known}.")
    if op not in OPS:
        raise ValueError(f"Unknown op {op!r}; the ops are: {', '.join(OPS)}.")
    if op in ORDERING_OPS and spec.kind == TEXT:
        raise ValueError(f"{op} compares numbers; {name} is text.")
    valid: dict[str, Any] = {"field": name, "op": op}
    if op in LIST_OPS:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST_VALUES:
            raise ValueError(f"{op} takes a list of 1 to {MAX_LIST_VALUES} values.")
        valid["value"] = [_scalar(item, spec, name, op) for item in value]
    else:
        valid["value"] = _scalar(value, spec, name, op)
    if "window_days" in condition:
        days = condition["window_days"]
        if not spec.counts:
            raise ValueError(
                f"{name} counts nothing over days: window_days is for orders_placed, orders_returned, spent."
            )
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WINDOW_DAYS:
            raise ValueError(f"window_days is a whole number of days, 1 to {MAX_WINDOW_DAYS}.")
        valid["window_days"] = days
    return valid


def _text(definition: Mapping[str, Any], key: str, max_length: int, *, required: bool) -> str:
    value = definition.get(key, None if required else "")
    if not isinstance(value, str) or (required and not has_visible_character(value)) or len(value) > max_length:
        raise ValueError(
            f"A visible text of at most {max_length} characters." if required else f"At most {max_length} characters."
        )
    return value


def segment_validated(definition: Any) -> dict[str, Any]:
    """A whole segment (code, name, description, conditions), normalised; ``SegmentInvalid``
    naming every field that is wrong (a condition by its index)."""
    if not isinstance(definition, Mapping):
        raise SegmentInvalid(fields={"non_field_errors": ["A JSON object is required."]})
    errors: dict[str, list[str]] = {}
    for key in sorted(set(definition) - set(SEGMENT_KEYS)):
        errors[str(key)] = ["Unknown key; a segment has code, name, description and conditions."]
    for key, value in definition.items():
        if holds_nul(key) or holds_nul(value):
            errors[str(key).replace("\x00", "\\u0000")] = [NUL_MESSAGE]
    if errors:
        raise SegmentInvalid(fields=errors)
    valid: dict[str, Any] = {}
    code = definition.get("code")
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        errors["code"] = ["1 to 50 lowercase letters, digits, _ and -."]
    else:
        valid["code"] = code
    for key, length, required in (("name", MAX_NAME_LENGTH, True), ("description", MAX_DESCRIPTION_LENGTH, False)):
        try:
            valid[key] = _text(definition, key, length, required=required)
        except ValueError as error:
            errors[key] = [str(error)]
    conditions = definition.get("conditions", [])
    if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
        errors["conditions"] = [f"A list of at most {MAX_CONDITIONS} conditions."]
    else:
        valid["conditions"] = []
        for index, condition in enumerate(conditions):
            try:
                valid["conditions"].append(condition_validated(condition))
            except ValueError as error:
                errors.setdefault("conditions", []).append(f"{index}: {error}")
    if errors:
        raise SegmentInvalid(fields=errors)
    return valid
