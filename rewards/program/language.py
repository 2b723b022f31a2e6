"""The earning rules' language, each part written once: the triggers and what their events
carry, the condition fields (their kind, the triggers that have them, their words in admin, what
the engine reads), the operators (their words, and what each means), the effects and the caps.
The validator (``validate``), the admin form (``rewards.forms``) and the engine (``engine``) all
read these; none keeps a list of its own.
"""

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rewards.models import RuleTrigger

# ---- the triggers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerSpec:
    money_field: str | None  # the event's money, which a rate multiplies: an order's total_cost
    has_items: bool  # the event carries an order's items, channel and the customer's orders
    has_properties: bool  # an activity's properties
    entry_field: str  # the body's field an award past the per-entry limit is named on


TRIGGERS: dict[str, TriggerSpec] = {
    RuleTrigger.ORDER: TriggerSpec("total_cost", has_items=True, has_properties=False, entry_field="total_cost"),
    # A referral's awards are of the referred customer's first order.
    RuleTrigger.REFERRAL: TriggerSpec("total_cost", has_items=True, has_properties=False, entry_field="total_cost"),
    RuleTrigger.PURCHASE: TriggerSpec("amount", has_items=False, has_properties=False, entry_field="amount"),
    RuleTrigger.FEEDBACK: TriggerSpec(None, has_items=False, has_properties=False, entry_field="points"),
    RuleTrigger.BIRTHDAY: TriggerSpec(None, has_items=False, has_properties=False, entry_field="points"),
    RuleTrigger.ACTIVITY: TriggerSpec(None, has_items=False, has_properties=True, entry_field="properties"),
}

ALL_TRIGGERS = frozenset(TRIGGERS)
# The events of an order: items, a channel, the customer's orders before it.
ORDER_TRIGGERS = frozenset(name for name, spec in TRIGGERS.items() if spec.has_items)
# Which events have money, the base an effect of type rate (or a multiplier of rates) needs.
RATE_TRIGGERS = frozenset(name for name, spec in TRIGGERS.items() if spec.money_field)
PROPERTY_TRIGGERS = frozenset(name for name, spec in TRIGGERS.items() if spec.has_properties)


def _money_triggers(field: str) -> frozenset[str]:
    return frozenset(name for name, spec in TRIGGERS.items() if spec.money_field == field)


# ---- the condition fields -----------------------------------------------------------------------

NUMBER, TEXT, ANY = "number", "text", "any"
MONEY = "money"  # the source of the money fields: ProgramEvent.money
SEGMENTS = "segments"  # the source of the segment field: the codes of the customer's segments
TIER = "tier"  # the customer's tier code, known once a ladder is set


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # NUMBER, TEXT or ANY (an activity's properties)
    triggers: frozenset[str]  # the events that have the field
    label: str  # the admin form's words for it
    # What the engine reads: the event's attribute (an item's, for item.* fields); "money" is the
    # field of the triggers whose money_field it is.
    source: str
    values: range | None = None  # the numbers the field can have, when they are few
    values_rule: str = ""  # the refusal of any other


FIELDS: dict[str, FieldSpec] = {
    "total_cost": FieldSpec(NUMBER, _money_triggers("total_cost"), "Order total", MONEY),
    "amount": FieldSpec(NUMBER, _money_triggers("amount"), "Purchase amount", MONEY),
    "channel": FieldSpec(TEXT, ORDER_TRIGGERS, "Order channel", "channel"),
    # An item's field holds when any of the order's items meets it.
    "item.sku": FieldSpec(TEXT, ORDER_TRIGGERS, "An item's SKU", "sku"),
    "item.category": FieldSpec(TEXT, ORDER_TRIGGERS, "An item's category", "category"),
    # Before this order, returned ones included.
    "customer.orders_placed": FieldSpec(NUMBER, ORDER_TRIGGERS, "Customer's earlier orders", "orders_placed"),
    # None while no tier ladder is set.
    "customer.tier": FieldSpec(TEXT, ALL_TRIGGERS, "Customer's tier", TIER),
    # A segment's code: eq, in hold when the customer is a member (of one), ne, not_in when not;
    # judged by the segments' one query in the event's transaction.
    "customer.segment": FieldSpec(TEXT, ALL_TRIGGERS, "Customer's segment", SEGMENTS),
    # In the program's time zone.
    "weekday": FieldSpec(
        NUMBER,
        ALL_TRIGGERS,
        "Weekday (1 = Monday)",
        "weekday",
        values=range(1, 8),
        values_rule="A weekday is 1 (Monday) to 7 (Sunday).",
    ),
}
ITEM_PREFIX = "item."
PROPERTIES_PREFIX = "properties."
PROPERTIES_SPEC = FieldSpec(ANY, PROPERTY_TRIGGERS, "Activity property (name it)", "properties")
FIELD_NAMES_TEXT = f"{', '.join(FIELDS)} or {PROPERTIES_PREFIX}<name>"  # as the API's schema words it
# An activity's property names (what properties.<name> may name): ASCII only, so a name looks
# the same to every client.
_PROPERTY_NAME = re.compile(r"[A-Za-z0-9_.-]{1,50}")
PROPERTY_NAME_RULE = "a property's name is 1 to 50 ASCII letters, digits, _, . or -"


def is_property_name(name: str) -> bool:
    return _PROPERTY_NAME.fullmatch(name) is not None


def field_spec(name: str) -> FieldSpec | None:
    """What a condition's field is, or None for a field the language does not have (a property
    no activity can carry among them)."""
    if name.startswith(PROPERTIES_PREFIX):
        return PROPERTIES_SPEC if is_property_name(name[len(PROPERTIES_PREFIX) :]) else None
    return FIELDS.get(name)


# ---- the operators -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpSpec:
    words: str  # the admin form's words for it
    takes_list: bool = False  # in, not_in: the value is a list of choices
    negated: bool = False  # ne, not_in: what a missing value (no channel, no such property) meets
    ordering: Callable[[Decimal, Decimal], bool] | None = None  # compares two numbers


OP_SPECS: dict[str, OpSpec] = {
    "eq": OpSpec("is"),
    "ne": OpSpec("is not", negated=True),
    "gt": OpSpec("is more than", ordering=operator.gt),
    "gte": OpSpec("is at least", ordering=operator.ge),
    "lt": OpSpec("is less than", ordering=operator.lt),
    "lte": OpSpec("is at most", ordering=operator.le),
    "in": OpSpec("is one of", takes_list=True),
    "not_in": OpSpec("is none of", takes_list=True, negated=True),
}
OPS = tuple(OP_SPECS)
ORDERING_OPS = frozenset(op for op, spec in OP_SPECS.items() if spec.ordering)
LIST_OPS = frozenset(op for op, spec in OP_SPECS.items() if spec.takes_list)
MAX_LIST_VALUES = 100

# ---- effects and caps -----------------------------------------------------------------------------

EFFECT_TYPES = ("rate", "fixed", "multiplier")
RATE_SCOPE_MATCHING_ITEMS = "matching_items"
REFERRAL_ROLES = ("referrer", "referee")
CAP_KEYS = ("per_event", "per_customer", "period", "budget")

# ---- numbers ------------------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def as_number(value: Any) -> Decimal | None:
    """A number as an exact Decimal (a float by its shortest repr, which is what JSON sent);
    None for anything else: text, booleans, NaN."""
    if not is_number(value):
        return None
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return number if number.is_finite() else None


def decimal_text(value: Decimal) -> str:
    """An exact decimal as plain text, no trailing zeros and no exponent: "1.5", "100"."""
    return format(value.normalize(), "f")


def json_number(value: Decimal) -> int | float:
    """A validated number as JSON stores it: an int when whole, else a float whose repr is
    the decimal sent (validated numbers have at most 15 significant digits)."""
    return int(value) if value == value.to_integral_value() else float(value)
