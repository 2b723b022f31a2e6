"""The engine: what an event is to the rules, whether a rule applies to it, and the awards
its rules give (rate and fixed effects, then multipliers over the rate awards), each held to
its caps. ``rewards.services.program`` reads the active rules, calls ``awards_take`` inside
its transaction and posts the awards.

Arithmetic is exact (``Fraction``), and every award is floored on its own. Counted caps
(``per_customer`` per period, ``budget``) are taken by the database function
``program_cap_take`` (rewards/sql/program.sql) under the cap counts' row locks, so racing
events never award past them.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from rewards.models import CapPeriod, Rule, RuleTrigger
from rewards.program.language import (
    FIELDS,
    ITEM_PREFIX,
    MONEY,
    OP_SPECS,
    PROPERTIES_PREFIX,
    RATE_SCOPE_MATCHING_ITEMS,
    SEGMENTS,
    TIER,
    TRIGGERS,
    as_number,
    is_number,
)

# ---- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventItem:
    sku: str
    category: str
    quantity: int
    price: int  # per unit, in the unit of the order's total_cost

    def field(self, name: str) -> Any:
        return getattr(self, FIELDS[name].source)


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
    segments: frozenset[str] = frozenset()  # of the segments the rules name, those the customer is in
    activity_name: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        """A non-item field's value for this event; None when the event has none."""
        if name.startswith(PROPERTIES_PREFIX):
            return self.properties.get(name[len(PROPERTIES_PREFIX) :])
        source = FIELDS[name].source
        if source == MONEY and TRIGGERS[self.trigger].money_field != name:
            return None  # the money of another trigger's events
        return getattr(self, source)

    @property
    def weekday(self) -> int:
        return program_time(self.occurred_at).isoweekday()


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
    """One condition on one value, as the language says the op means. A missing value (no
    channel, no such property) meets only the negated ops (``ne``, ``not_in``); ordering needs
    two numbers."""
    spec = OP_SPECS[op]
    if actual is None:
        return spec.negated
    if spec.takes_list:
        return any(_equal(actual, choice) for choice in wanted) != spec.negated
    if spec.ordering is None:
        return _equal(actual, wanted) != spec.negated
    actual_number, wanted_number = as_number(actual), as_number(wanted)
    if actual_number is None or wanted_number is None:
        return False
    return spec.ordering(actual_number, wanted_number)


def _item_holds(item: EventItem, condition: Mapping[str, Any]) -> bool:
    return compare(item.field(condition["field"]), condition["op"], condition["value"])


def is_segment_condition(condition: Mapping[str, Any]) -> bool:
    spec = FIELDS.get(condition["field"])
    return spec is not None and spec.source == SEGMENTS


def names_tier(rules: Iterable[Rule]) -> bool:
    """Whether a condition of the rules names the customer's tier: what an event must know."""
    return any(FIELDS[c["field"]].source == TIER for rule in rules for c in rule.conditions if c["field"] in FIELDS)


def segment_codes_named(rules: Iterable[Rule]) -> frozenset[str]:
    """The segment codes the rules' conditions name: what an event must know of its customer."""
    codes: set[str] = set()
    for rule in rules:
        for condition in rule.conditions:
            if is_segment_condition(condition):
                value = condition["value"]
                codes.update(value if isinstance(value, list) else [value])
    return frozenset(codes)


def condition_holds(condition: Mapping[str, Any], event: ProgramEvent) -> bool:
    """An ``item.*`` condition holds when any of the event's items meets it."""
    if condition["field"].startswith(ITEM_PREFIX):
        return any(_item_holds(item, condition) for item in event.items)
    if is_segment_condition(condition):
        spec, wanted = OP_SPECS[condition["op"]], condition["value"]
        member = any(code in event.segments for code in (wanted if spec.takes_list else [wanted]))
        return member != spec.negated
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
        item_conditions = [c for c in rule.conditions if c["field"].startswith(ITEM_PREFIX)]
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


# ---- the awards: caps taken, multipliers last ---------------------------------------------------


@dataclass(frozen=True)
class Award:
    """What one rule gave for one event (0 when its caps were used up)."""

    rule: Rule
    points: int

    def fields(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule.pk,
            "rule_name": self.rule.name,
            "version": self.rule.version,
            "points": self.points,
        }


def breakdown(awards: Sequence[Award]) -> list[dict[str, Any]]:
    return [award.fields() for award in awards]


def counted_caps(rule: Rule) -> bool:
    return "per_customer" in rule.caps or "budget" in rule.caps


def _caps_take(rule: Rule, event: ProgramEvent, points: int) -> int:
    """Points the rule's counted caps grant of ``points``, counted against them."""
    if points <= 0 or not counted_caps(rule):
        return max(points, 0)
    caps = rule.caps
    period = caps.get("period", "ever")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT program_cap_take(%s, %s, %s, %s, %s, %s, %s)",
            [
                rule.pk,
                event.user_id,
                period,
                period_start(event.occurred_at, period),
                caps.get("per_customer"),
                caps.get("budget"),
                points,
            ],
        )
        return cursor.fetchone()[0]


def awards_take(event: ProgramEvent, rules: Sequence[Rule]) -> list[Award]:
    """The awards of the rules that apply to ``event``, in the order they ran, caps taken. Rate
    and fixed effects first, then multipliers, which add to the rate awards as capped."""
    matched = rules_matching(rules, event)
    granted: dict[int, int] = {}
    rate_points = 0
    for rule in [*(r for r in matched if not is_multiplier(r)), *filter(is_multiplier, matched)]:
        granted[rule.pk] = _caps_take(rule, event, points_wanted(rule, event, rate_points=rate_points))
        if is_rate(rule):
            rate_points += granted[rule.pk]
    return [Award(rule=rule, points=granted[rule.pk]) for rule in matched]
