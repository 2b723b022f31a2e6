"""A rule's grammar, in plain Python: what a rule definition may say, checked whole when it is
saved (created, or edited: the edit merged into the rule as it is), by the API and admin alike.

``rule_validated`` answers the definition as the model stores it (a condition's values as JSON
holds them, an effect's value as the exact decimal's text) or raises ``RuleInvalid``, a 400
whose ``fields`` name what is wrong, in the words the API has always used. The language it
checks against (fields, ops, triggers, effects) is ``language``.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.limits import MAX_BIGINT, MAX_POINTS_PER_ENTRY
from core.validation import (
    Anything,
    Boolean,
    Choice,
    DateTime,
    DecimalNumber,
    Integer,
    Invalid,
    Object,
    ObjectList,
    Text,
    plain_errors,
    visible_text,
)
from rewards.errors import RuleInvalid
from rewards.models import CapPeriod, RuleStatus, RuleTrigger
from rewards.program.language import (
    EFFECT_TYPES,
    FIELDS,
    LIST_OPS,
    MAX_LIST_VALUES,
    NUMBER,
    OPS,
    ORDER_TRIGGERS,
    ORDERING_OPS,
    PROPERTIES_PREFIX,
    PROPERTY_NAME_RULE,
    RATE_SCOPE_MATCHING_ITEMS,
    RATE_TRIGGERS,
    REFERRAL_ROLES,
    TEXT,
    FieldSpec,
    as_number,
    decimal_text,
    field_spec,
    is_number,
    is_property_name,
    json_number,
)

# Rule numbers: exact decimals with at most 6 places and 15 significant digits, so a JSON float
# holds them exactly (language.json_number).
RULE_DECIMAL_PLACES = 6
RULE_NUMBER_DIGITS = 15
MAX_RATE = Decimal(1_000_000)
MAX_MULTIPLIER = Decimal(100)
MAX_RULE_DAYS = 36_500
MAX_CONDITIONS = 20
MAX_TEXT_VALUE = 255
MAX_PROPERTIES = 50


def rule_number(value: Any, *, what: str) -> Decimal:
    """A number a rule or an activity holds: exact, at most 6 places and 15 digits."""
    number = as_number(value)
    if number is None:
        raise Invalid(f"{what} must be a number.")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > RULE_DECIMAL_PLACES:
        raise Invalid(f"{what} may have at most {RULE_DECIMAL_PLACES} decimal places.")
    if len(number.normalize().as_tuple().digits) > RULE_NUMBER_DIGITS or abs(number) >= 10**RULE_NUMBER_DIGITS:
        raise Invalid(f"{what} is too large.")
    return number


def rule_decimal(**kwargs: Any) -> DecimalNumber:
    """A rate or a multiplier: a decimal string ("0.05") or number, at most 6 places."""
    return DecimalNumber(max_digits=RULE_NUMBER_DIGITS, decimal_places=RULE_DECIMAL_PLACES, **kwargs)


def activity_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """An activity's properties, flat: texts, numbers (as JSON holds them) and booleans, under
    the names a rule's ``properties.<name>`` may use."""
    if len(properties) > MAX_PROPERTIES:
        raise Invalid(f"At most {MAX_PROPERTIES} properties.")
    cleaned = {}
    for name, value in properties.items():
        if not is_property_name(name):
            raise Invalid(f"{name!r}: {PROPERTY_NAME_RULE}.")
        if isinstance(value, str | bool):
            if isinstance(value, str) and len(value) > MAX_TEXT_VALUE:
                raise Invalid(f"{name}: a text of at most {MAX_TEXT_VALUE} characters.")
            cleaned[name] = value
        elif is_number(value):
            cleaned[name] = json_number(rule_number(value, what=name))
        else:
            raise Invalid(f"{name}: a text, a number or a boolean (the object is flat).")
    return cleaned


# ---- the parts of a rule -----------------------------------------------------------------------


def _effect_whole(effect: dict[str, Any]) -> dict[str, Any]:
    kind = effect["type"]
    allowed = {"rate": {"value", "scope"}, "fixed": {"points"}, "multiplier": {"value"}}[kind] | {"type", "role"}
    extra = sorted(set(effect) - allowed)
    if extra:
        raise Invalid({key: [f"A {kind} effect does not take {key}."] for key in extra})
    if kind == "fixed":
        if "points" not in effect:
            raise Invalid({"points": ["A fixed effect needs points."]})
        return effect
    if "value" not in effect:
        raise Invalid({"value": [f"A {kind} effect needs a value."]})
    value = effect["value"]
    if kind == "rate" and not Decimal(0) < value <= MAX_RATE:
        raise Invalid({"value": [f"A rate must be above 0 and at most {MAX_RATE}."]})
    if kind == "multiplier" and not Decimal(1) <= value <= MAX_MULTIPLIER:
        raise Invalid({"value": [f"A multiplier must be at least 1 and at most {MAX_MULTIPLIER}."]})
    return effect


def _caps_whole(caps: dict[str, Any]) -> dict[str, Any]:
    if "period" in caps and "per_customer" not in caps:
        raise Invalid({"period": ["A period is the period of per_customer."]})
    if "per_customer" in caps:
        caps.setdefault("period", CapPeriod.EVER)
    return caps


CONDITION = Object(
    {"field": Text(max_length=100), "op": Choice(OPS), "value": Anything()},
)
EFFECT = Object(
    {
        "type": Choice(EFFECT_TYPES),
        "value": rule_decimal(required=False),
        "points": Integer(min_value=1, max_value=MAX_POINTS_PER_ENTRY, required=False),
        "scope": Choice([RATE_SCOPE_MATCHING_ITEMS], required=False),
        "role": Choice(REFERRAL_ROLES, required=False),
    },
    whole=_effect_whole,
)
CAPS = Object(
    {
        "per_event": Integer(min_value=1, max_value=MAX_BIGINT, required=False),
        "per_customer": Integer(min_value=1, max_value=MAX_BIGINT, required=False),
        "period": Choice(CapPeriod.choices, required=False),
        "budget": Integer(min_value=1, max_value=MAX_BIGINT, required=False),
    },
    whole=_caps_whole,
    default=dict,
)


def _rule_whole(rule: dict[str, Any]) -> dict[str, Any]:
    trigger = rule["trigger"]
    if trigger == RuleTrigger.ACTIVITY and not rule["activity_name"].strip():
        raise Invalid({"activity_name": ["An activity rule names its activity."]})
    if trigger != RuleTrigger.ACTIVITY and rule["activity_name"]:
        raise Invalid({"activity_name": ["Only activity rules name an activity."]})
    if rule["starts_at"] and rule["ends_at"] and rule["starts_at"] >= rule["ends_at"]:
        raise Invalid({"ends_at": ["Must be after starts_at."]})
    rule["effect"] = _effect_for(rule["effect"], trigger)
    rule["conditions"] = conditions_for(rule["conditions"], trigger)
    return rule


def conditions_for(conditions: list[dict[str, Any]], trigger: str) -> list[dict[str, Any]]:
    """Conditions (each read by ``CONDITION``) as the events of ``trigger`` have their fields,
    their values as JSON holds them; else ``Invalid`` naming each by its index under
    ``conditions``. A rule's and a challenge's goal are checked by this one grammar."""
    errors = {}
    for index, condition in enumerate(conditions):
        try:
            condition["value"] = _condition_value(condition, trigger)
        except Invalid as error:
            errors[str(index)] = error.detail
    if errors:
        raise Invalid({"conditions": errors})
    return conditions


def _effect_for(effect: dict[str, Any], trigger: str) -> dict[str, Any]:
    """The effect as the rule's trigger allows it, its value stored as the exact decimal sent."""
    kind = effect["type"]
    if kind in ("rate", "multiplier") and trigger not in RATE_TRIGGERS:
        raise Invalid({"effect": {"type": [f"A {kind} needs money: {trigger} events have none; use fixed."]}})
    if "scope" in effect and trigger not in ORDER_TRIGGERS:
        raise Invalid({"effect": {"scope": ["Only order rules have items to match."]}})
    if (trigger == RuleTrigger.REFERRAL) != ("role" in effect):
        message = (
            "A referral rule says whose award it is."
            if trigger == RuleTrigger.REFERRAL
            else ("Only referral rules have a role.")
        )
        raise Invalid({"effect": {"role": [message]}})
    if "value" in effect:
        effect = {**effect, "value": decimal_text(effect["value"])}
    return effect


def _condition_value(condition: dict[str, Any], trigger: str) -> Any:
    """A condition's value as JSON holds it, once its field, op and value fit together and the
    trigger's events have the field."""
    name, op, value = condition["field"], condition["op"], condition["value"]
    spec = field_spec(name)
    if spec is None and name.startswith(PROPERTIES_PREFIX):
        raise Invalid({"field": [f"{name!r}: {PROPERTY_NAME_RULE}; no activity carries it."]})
    if spec is None:
        known = ", ".join([*FIELDS, f"{PROPERTIES_PREFIX}<name>"])
        raise Invalid({"field": [f"Unknown field {name!r}; the fields are: {known}."]})
    if trigger not in spec.triggers:
        raise Invalid(
            {"field": [f"{name} is not a field of {trigger} events (it is of: {', '.join(sorted(spec.triggers))})."]}
        )
    if op in ORDERING_OPS and spec.kind == TEXT:
        raise Invalid({"op": [f"{op} compares numbers; {name} is text."]})
    if op in LIST_OPS:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST_VALUES:
            raise Invalid({"value": [f"{op} takes a list of 1 to {MAX_LIST_VALUES} values."]})
        return [_scalar(item, spec, name, op) for item in value]
    return _scalar(value, spec, name, op)


def _scalar(value: Any, spec: FieldSpec, name: str, op: str) -> Any:
    try:
        if spec.kind == NUMBER or (op in ORDERING_OPS):
            number = rule_number(value, what=f"The value of {name}")
            if spec.values is not None and number not in spec.values:
                raise Invalid(spec.values_rule)
            return json_number(number)
        if spec.kind == TEXT:
            if not isinstance(value, str) or len(value) > MAX_TEXT_VALUE:
                raise Invalid(f"The value of {name} must be a text of at most {MAX_TEXT_VALUE} characters.")
            return value
        if isinstance(value, str | bool) and len(str(value)) <= MAX_TEXT_VALUE:
            return value
        return json_number(rule_number(value, what=f"The value of {name}"))
    except Invalid as error:
        raise Invalid({"value": error.detail}) from None


RULE = Object(
    {
        "name": visible_text(max_length=100),
        "trigger": Choice(RuleTrigger.choices),
        "activity_name": Text(max_length=100, allow_blank=True, default=""),
        "status": Choice(RuleStatus.choices, default=RuleStatus.DRAFT),
        "starts_at": DateTime(allow_null=True, default=None),
        "ends_at": DateTime(allow_null=True, default=None),
        "priority": Integer(min_value=-1_000_000, max_value=1_000_000, default=100),
        "exclusive": Boolean(default=False),
        "conditions": ObjectList(CONDITION, max_length=MAX_CONDITIONS, default=list),
        "effect": EFFECT,
        "caps": CAPS,
        "pending_days": Integer(min_value=0, max_value=MAX_RULE_DAYS, allow_null=True, default=None),
        "validity_days": Integer(min_value=1, max_value=MAX_RULE_DAYS, allow_null=True, default=None),
    },
    whole=_rule_whole,
    nul_refused=True,
)


def rule_validated(definition: Mapping[str, Any]) -> dict[str, Any]:
    """The definition as the rule stores it, or ``RuleInvalid`` naming what is wrong."""
    try:
        return RULE.validate(definition)
    except Invalid as error:
        raise RuleInvalid(fields=plain_errors(error.detail)) from None
