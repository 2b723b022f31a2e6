"""The earning rules' language and arithmetic, with no database: which fields and operators a
condition may use on which trigger, whether a rule applies to an event, and how many points
its effect asks for. ``rewards.serializers.RuleInput`` validates a rule against this once,
when it is saved; ``rewards.services.program`` loads the active rules, takes their caps and
posts the awards.

Arithmetic is exact (``Fraction``), and every award is floored on its own.
"""

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from rewards.models import CapPeriod, Rule, RuleTrigger

# ---- the language -------------------------------------------------------------------------

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in")
ORDERING_OPS = frozenset({"gt", "gte", "lt", "lte"})
LIST_OPS = frozenset({"in", "not_in"})
MAX_LIST_VALUES = 100

EFFECT_TYPES = ("rate", "fixed", "multiplier")
RATE_SCOPE_MATCHING_ITEMS = "matching_items"
REFERRAL_ROLES = ("referrer", "referee")
CAP_KEYS = ("per_event", "per_customer", "period", "budget")

NUMBER, TEXT, ANY = "number", "text", "any"
_ALL_TRIGGERS = frozenset(RuleTrigger.values)
_ORDER_TRIGGERS = frozenset({RuleTrigger.ORDER, RuleTrigger.REFERRAL})


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # NUMBER, TEXT or ANY (an activity's properties)
    triggers: frozenset[str]  # the events that have the field


FIELDS: dict[str, FieldSpec] = {
    "total_cost": FieldSpec(NUMBER, _ORDER_TRIGGERS),
    "amount": FieldSpec(NUMBER, frozenset({RuleTrigger.PURCHASE})),
    "channel": FieldSpec(TEXT, _ORDER_TRIGGERS),
    "item.sku": FieldSpec(TEXT, _ORDER_TRIGGERS),  # true when any of the order's items has it
    "item.category": FieldSpec(TEXT, _ORDER_TRIGGERS),
    "customer.orders_placed": FieldSpec(NUMBER, _ORDER_TRIGGERS),  # before this order, returned ones included
    "customer.tier": FieldSpec(TEXT, _ALL_TRIGGERS),  # none while no tier ladder is set
    "weekday": FieldSpec(NUMBER, _ALL_TRIGGERS),  # 1 = Monday, in the program's time zone
}
PROPERTIES_PREFIX = "properties."
PROPERTIES_SPEC = FieldSpec(ANY, frozenset({RuleTrigger.ACTIVITY}))
# An activity's property names (what properties.<name> may name): ASCII only, so a name looks
# the same to every client.
_PROPERTY_NAME = re.compile(r"[A-Za-z0-9_.-]{1,50}")
# Which base an effect of type rate multiplies: the event's money.
RATE_TRIGGERS = frozenset({RuleTrigger.ORDER, RuleTrigger.PURCHASE, RuleTrigger.REFERRAL})


def is_property_name(name: str) -> bool:
    return _PROPERTY_NAME.fullmatch(name) is not None


def field_spec(name: str) -> FieldSpec | None:
    """What a condition's field is, or None for a field the language does not have (a property
    no activity can carry among them)."""
    if name.startswith(PROPERTIES_PREFIX):
        return PROPERTIES_SPEC if is_property_name(name[len(PROPERTIES_PREFIX) :]) else None
    return FIELDS.get(name)


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


# ---- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventItem:
    sku: str
    category: str
    quantity: int
    price: int  # per unit, in the unit of the order's total_cost

    def field(self, name: str) -> Any:
        return {"item.sku": self.sku, "item.category": self.category}[name]


@dataclass(frozen=True)
class ProgramEvent:
    """What rules see of one event: an order, a purchase, feedback or an activity."""

    trigger: str
    user_id: int
    occurred_at: datetime
    money: Decimal | None = None  # total_cost of an order, amount of a purchase
    coefficient: Fraction = Fraction(1)  # an order's penalty coefficient: multiplies its rate awards
    channel: str | None = None
    items: tuple[EventItem, ...] = ()
    orders_placed: int | None = None
    tier: str | None = None
    activity_name: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        """A non-item field's value for this event; None when the event has none."""
        if name.startswith(PROPERTIES_PREFIX):
            return self.properties.get(name[len(PROPERTIES_PREFIX) :])
        if name == "weekday":
            return program_time(self.occurred_at).isoweekday()
        return {
            "total_cost": self.money if self.trigger in _ORDER_TRIGGERS else None,
            "amount": self.money if self.trigger == RuleTrigger.PURCHASE else None,
            "channel": self.channel,
            "customer.orders_placed": self.orders_placed,
            "customer.tier": self.tier,
        }[name]


def program_time(moment: datetime) -> datetime:
    """A moment in the program's time zone (weekdays and cap periods are counted there)."""
    return moment.astimezone(ZoneInfo(settings.PROGRAM_TIME_ZONE))


# ---- does a rule apply ------------------------------------------------------------------


def _equal(actual: Any, wanted: Any) -> bool:
    """Numbers by value (5 equals 5.0); anything else only to a value of its own type."""
    if is_number(actual) and is_number(wanted):
        return as_number(actual) == as_number(wanted)
    return type(actual) is type(wanted) and actual == wanted


def compare(actual: Any, op: str, wanted: Any) -> bool:
    """One condition on one value. A missing value (no channel, no such property) meets only
    ``ne`` and ``not_in``; ordering needs two numbers."""
    if actual is None:
        return op in ("ne", "not_in")
    if op in LIST_OPS:
        found = any(_equal(actual, choice) for choice in wanted)
        return found if op == "in" else not found
    if op in ("eq", "ne"):
        return _equal(actual, wanted) == (op == "eq")
    actual_number, wanted_number = as_number(actual), as_number(wanted)
    if actual_number is None or wanted_number is None:
        return False
    return {
        "gt": actual_number > wanted_number,
        "gte": actual_number >= wanted_number,
        "lt": actual_number < wanted_number,
        "lte": actual_number <= wanted_number,
    }[op]


def _item_holds(item: EventItem, condition: Mapping[str, Any]) -> bool:
    return compare(item.field(condition["field"]), condition["op"], condition["value"])


def condition_holds(condition: Mapping[str, Any], event: ProgramEvent) -> bool:
    """An ``item.*`` condition holds when any of the event's items meets it."""
    if condition["field"].startswith("item."):
        return any(_item_holds(item, condition) for item in event.items)
    return compare(event.value(condition["field"]), condition["op"], condition["value"])


def rule_applies(rule: Rule, event: ProgramEvent) -> bool:
    """Its trigger, its dates (judged at the event's time) and all its conditions. The caller
    has loaded active rules only."""
    if rule.trigger != event.trigger:
        return False
    if rule.starts_at is not None and event.occurred_at < rule.starts_at:
        return False
    if rule.ends_at is not None and event.occurred_at >= rule.ends_at:
        return False
    if rule.trigger == RuleTrigger.ACTIVITY and rule.activity_name != event.activity_name:
        return False
    return all(condition_holds(condition, event) for condition in rule.conditions)


def rules_matching(rules: Iterable[Rule], event: ProgramEvent) -> list[Rule]:
    """The rules that apply, in the order they run (priority, then id): an exclusive rule that
    applies is the last."""
    matched = []
    for rule in sorted(rules, key=lambda rule: (rule.priority, rule.pk)):
        if rule_applies(rule, event):
            matched.append(rule)
            if rule.exclusive:
                break
    return matched


# ---- what a rule's effect asks for ----------------------------------------------------------


def is_multiplier(rule: Rule) -> bool:
    return rule.effect["type"] == "multiplier"


def is_rate(rule: Rule) -> bool:
    return rule.effect["type"] == "rate"


def _rate_base(rule: Rule, event: ProgramEvent) -> Fraction:
    if rule.effect.get("scope") == RATE_SCOPE_MATCHING_ITEMS:
        item_conditions = [c for c in rule.conditions if c["field"].startswith("item.")]
        matching = [item for item in event.items if all(_item_holds(item, c) for c in item_conditions)]
        return sum((Fraction(item.price) * item.quantity for item in matching), Fraction(0))
    return Fraction(event.money or 0)


def points_wanted(rule: Rule, event: ProgramEvent, *, rate_points: int) -> int:
    """What the rule's effect gives for the event before its caps, at most ``per_event``:
    a rate: floor(base x rate x the order's coefficient); fixed: its points; a multiplier:
    floor(rate_points x (value - 1)), ``rate_points`` being the event's rate awards."""
    effect = rule.effect
    if effect["type"] == "rate":
        points = math.floor(_rate_base(rule, event) * Fraction(effect["value"]) * event.coefficient)
    elif effect["type"] == "fixed":
        points = effect["points"]
    else:
        points = math.floor(rate_points * (Fraction(effect["value"]) - 1))
    per_event = rule.caps.get("per_event")
    return points if per_event is None else min(points, per_event)


def period_start(moment: datetime, period: str) -> date:
    """The first day of the cap period holding ``moment`` (program time zone); weeks start on
    Monday, and ``ever`` is one period."""
    day = program_time(moment).date()
    if period == CapPeriod.DAY:
        return day
    if period == CapPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    if period == CapPeriod.MONTH:
        return day.replace(day=1)
    if period == CapPeriod.YEAR:
        return day.replace(month=1, day=1)
    return date.min
