"""Membership is one SQL query: over a random world of customers (accounts, orders placed and
returned over two years, tiers with staff floors, birthdays, attributes of every type), the
members the query answers for every field and every op are exactly those a brute force in
Python finds, value by value, with the rules' own comparison (``rewards.program.compare``)."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from loyalty.models import Order
from rewards.models import Account, Birthday, CustomerAttributes, Tier, TierLadder, TierStanding
from rewards.program.engine import compare, program_time
from rewards.segments.language import FIELDS, segment_validated
from rewards.segments.query import count_query, members_query

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 15, 21, 30, tzinfo=UTC)  # already the 16th in Asia/Tokyo
TIERS = [("bronze", 0), ("silver", 500), ("gold", 2000)]
CITIES = ["Lyon", "Paris", "Nice"]
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in")


def build_world(rng: random.Random) -> dict[int, dict[str, Any]]:
    """The world in the database, and each customer's raw facts for the brute force."""
    ladder = TierLadder.objects.create(id=1, window_days=365, qualifying_kinds=["order"], updated_at=NOW)
    for code, entry in TIERS:
        Tier.objects.create(ladder=ladder, code=code, name=code.title(), entry_points=entry, retain_points=entry)
    world: dict[int, dict[str, Any]] = {}
    order_id = 1
    orders, standings, birthdays, attributes = [], [], [], []
    for user_id in range(1, 81):
        earned = rng.choice([0, 0, 10, 250, 500, 1200, 3000])
        redeemed = rng.randint(0, earned)
        created = NOW - timedelta(days=rng.randint(0, 700), hours=rng.randint(0, 23))
        Account.objects.create(user_id=user_id, total_points_earned=earned, total_points_redeemed=redeemed)
        Account.objects.filter(user_id=user_id).update(created_at=created)
        facts: dict[str, Any] = {"earned": earned, "redeemed": redeemed, "created": created, "orders": []}
        for _ in range(rng.choice([0, 0, 1, 2, 5, 9])):
            completed = NOW - timedelta(days=rng.randint(0, 730), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
            total = rng.choice([500, 1999, 4000, 12000])
            returned_cost, returned_at = 0, None
            if rng.random() < 0.3:
                returned_cost = rng.choice([total, total // 2])
                returned_at = min(completed + timedelta(days=rng.randint(0, 40)), NOW)
            orders.append(
                Order(
                    order_id=order_id,
                    user_id=user_id,
                    total_cost=total,
                    completed_at=completed,
                    coefficient=Decimal(1),
                    points_awarded=0,
                    balance_after=0,
                    returned_at=returned_at,
                    returned_cost=returned_cost,
                )
            )
            facts["orders"].append((completed, total, returned_at, returned_cost))
            order_id += 1
        roll = rng.random()
        if roll < 0.7:
            code = rng.choice([*[code for code, _ in TIERS], "platinum"])  # platinum: a tier since removed
            floor_code, floor_until = "", None
            if rng.random() < 0.4:
                floor_code = rng.choice([code for code, _ in TIERS])
                floor_until = NOW + timedelta(days=rng.choice([-3, 30]))
            standings.append(
                TierStanding(
                    user_id=user_id,
                    tier_code=code,
                    since=NOW,
                    floor_code=floor_code,
                    floor_until=floor_until,
                    updated_at=NOW,
                )
            )
            facts["standing"] = (code, floor_code, floor_until)
        if rng.random() < 0.6:
            month = rng.randint(1, 12) if rng.random() < 0.9 else None  # None: erased
            birthdays.append(
                Birthday(
                    user_id=user_id,
                    month=month,
                    day=1 if month else None,
                    changed_on=NOW.date(),
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            facts["birthday_month"] = month
        if rng.random() < 0.8:
            values = {
                "city": rng.choice([*CITIES, None]),
                "vip": rng.choice([True, False, None]),
                "visits": rng.choice([0, 3, 3.0, 7.5, 12, None]),
                "code": rng.choice(["3", 3, True, "x", None]),  # one key, every type
            }
            values = {key: value for key, value in values.items() if value is not None}
            attributes.append(CustomerAttributes(user_id=user_id, attributes=values, updated_at=NOW))
            facts["attributes"] = values
        world[user_id] = facts
    Order.objects.bulk_create(orders)
    TierStanding.objects.bulk_create(standings)
    Birthday.objects.bulk_create(birthdays)
    CustomerAttributes.objects.bulk_create(attributes)
    # Someone else's world: a customer with orders and no account is nobody's member.
    Order.objects.create(
        order_id=order_id,
        user_id=999,
        total_cost=1,
        completed_at=NOW,
        coefficient=Decimal(1),
        points_awarded=0,
        balance_after=0,
    )
    return world


def local_day(moment: datetime):
    return program_time(moment).date()


def tier_now(facts: dict[str, Any]) -> str:
    entry = dict(TIERS)
    code, floor_code, floor_until = facts.get("standing", (None, "", None))
    earned = code if code in entry else "bronze"
    if floor_code and floor_until > NOW and entry[floor_code] > entry[earned]:
        return floor_code
    return earned


def brute_value(facts: dict[str, Any], condition: dict[str, Any]) -> Any:
    """The field's value for one customer, from the raw facts (None: the customer has none)."""
    name = condition["field"]
    since = NOW - timedelta(days=condition["window_days"]) if "window_days" in condition else None
    orders = facts["orders"]
    if name == "tier":
        return tier_now(facts)
    if name == "orders_placed":
        return sum(1 for completed, *_ in orders if since is None or completed >= since)
    if name == "orders_returned":
        return sum(1 for _, _, returned_at, _ in orders if returned_at and (since is None or returned_at >= since))
    if name == "spent":
        return sum(total - back for completed, total, _, back in orders if since is None or completed >= since)
    if name == "points.available":
        return facts["earned"] - facts["redeemed"]
    if name == "points.earned_lifetime":
        return facts["earned"]
    if name == "days_since_last_order":
        return (local_day(NOW) - local_day(max(o[0] for o in orders))).days if orders else None
    if name == "days_since_first_seen":
        first = min([facts["created"], *(o[0] for o in orders)])
        return (local_day(NOW) - local_day(first)).days
    if name == "birthday_month":
        return facts.get("birthday_month")
    return facts.get("attributes", {}).get(name.removeprefix("attributes."))


def brute_members(world: dict[int, dict[str, Any]], conditions: list[dict[str, Any]]) -> list[int]:
    return [
        user_id
        for user_id, facts in sorted(world.items())
        if all(compare(brute_value(facts, c), c["op"], c["value"]) for c in conditions)
    ]


def query_members(conditions: list[dict[str, Any]], **kwargs: Any) -> list[int]:
    query = members_query(conditions, now=NOW, **kwargs)
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return [row[0] for row in cursor.fetchall()]


def query_count(conditions: list[dict[str, Any]]) -> int:
    query = count_query(conditions, now=NOW)
    with connection.cursor() as cursor:
        cursor.execute(query.sql, query.params)
        return cursor.fetchone()[0]


def conditions_for(field: str, world: dict[int, dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """Every op on the field, with values the world holds (and one it does not)."""
    if field == "tier":
        scalars: list[Any] = ["bronze", "silver", "gold", "platinum"]
        ordering = []
    elif field.startswith("attributes."):
        scalars = [*CITIES, True, False, 3, 7.5, "3", 0, "x"]
        ordering = [0, 3, 7.5, 12]
    else:
        seen = [brute_value(facts, {"field": field}) for facts in world.values()]
        scalars = sorted({value for value in seen if value is not None})[:6] or [1]
        if field == "birthday_month":
            scalars = [value for value in scalars if 1 <= value <= 12] or [1]
        ordering = scalars
    conditions = []
    for op in OPS:
        values = ordering if op in ("gt", "gte", "lt", "lte") else scalars
        if not values:
            continue
        for value in rng.sample(values, min(3, len(values))):
            wanted = rng.sample(scalars, min(3, len(scalars))) if op in ("in", "not_in") else value
            conditions.append({"field": field, "op": op, "value": wanted})
    return conditions


FIELD_NAMES = [*FIELDS, "attributes.city", "attributes.vip", "attributes.visits", "attributes.code", "attributes.none"]


@pytest.fixture
def world(settings) -> dict[int, dict[str, Any]]:
    settings.PROGRAM_TIME_ZONE = "Asia/Tokyo"
    return build_world(random.Random(1833))


@pytest.mark.parametrize("field", FIELD_NAMES)
def test_every_op_on_every_field_matches_a_brute_force(world, field):
    rng = random.Random(field)
    checked = 0
    windows = [None, 30, 365] if FIELDS.get(field) and FIELDS[field].counts else [None]
    for window in windows:
        for condition in conditions_for(field, world, rng):
            if window is not None:
                condition["window_days"] = window
            [valid] = segment_validated({"code": "c", "name": "n", "conditions": [condition]})["conditions"]
            expected = brute_members(world, [valid])
            assert query_members([valid]) == expected, valid
            assert query_count([valid]) == len(expected)
            checked += 1
    assert checked >= 8


def test_conditions_together_all_hold_and_paging_and_one_customer_agree(world):
    rng = random.Random(7)
    every = [c for field in FIELD_NAMES for c in conditions_for(field, world, rng)]
    for _ in range(60):
        conditions = rng.sample(every, rng.randint(2, 4))
        for condition in conditions:
            if FIELDS.get(condition["field"]) and FIELDS[condition["field"]].counts and rng.random() < 0.5:
                condition["window_days"] = rng.choice([7, 90, 400])
        expected = brute_members(world, conditions)
        assert query_members(conditions) == expected, conditions
        # A page after a user_id, and each customer alone, say the same.
        assert query_members(conditions, after=40, limit=10) == [u for u in expected if u > 40][:10]
        for user_id in rng.sample(sorted(world), 5):
            assert query_members(conditions, user_id=user_id) == ([user_id] if user_id in expected else [])
    assert query_members([]) == sorted(world)  # no condition: every customer


def test_the_world_splits_on_every_field(world):
    """The random world is not degenerate: on every field some condition has members and
    non-members (attributes.none, a key nobody has, meets only ne and not_in: everyone)."""
    for field in FIELD_NAMES:
        found = {len(query_members([c])) for c in conditions_for(field, world, random.Random(field))}
        if field == "attributes.none":
            assert found == {0, len(world)}
        else:
            assert any(0 < count < len(world) for count in found), field


def test_values_are_parameters_never_sql(world):
    hostile = "x'); DROP TABLE rewards_account; --"
    condition = {"field": "attributes.city", "op": "eq", "value": hostile}
    query = members_query([condition], now=timezone.now())
    assert hostile not in query.sql and "city" not in query.sql
    assert query_members([condition]) == []
    assert Account.objects.count() == 80
