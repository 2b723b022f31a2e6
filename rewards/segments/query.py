"""The one rule of membership: a segment's conditions compiled to one SQL query over every
customer (an account), read by everything that asks who is in a segment (its members, their
count, a customer's segments, the bulk awards' member lists). Values are parameters, never
text in the SQL; field names come from the language's own table, never from the input.

What each field reads (the program's time zone counts the days):

- ``tier``: the tier the customer has now: the earned one (a tier the ladder no longer has
  reads as the lowest) or the staff floor while it lasts, if higher; none with no ladder;
- ``orders_placed``, ``orders_returned``, ``spent``: the customer's orders completed (for
  returns: returned) in the last ``window_days`` days, or ever; spent is ``total_cost`` less
  ``returned_cost``;
- ``points.available``: earned less redeemed; ``points.earned_lifetime``: earned;
- ``days_since_last_order``: today less the day of the last order (none without one);
- ``days_since_first_seen``: today less the day of the account's creation or the first order,
  whichever is earlier; ``birthday_month``: the birthday's month (none: none set);
- ``attributes.<name>``: the attribute (none: not set), compared as the rules compare a
  property: a number with numbers by value, a text or a boolean only with its own type.

A value that is none meets only ``ne`` and ``not_in``, as in the rules.
"""

import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings

from rewards.models import Account, Birthday, CustomerAttributes, Tier, TierStanding
from rewards.program.engine import program_time
from rewards.program.language import LIST_OPS, OP_SPECS, ORDERING_OPS
from rewards.segments.language import ATTRIBUTES_PREFIX

# SQL's operator for each of the language's comparisons (the ordering ops by what they compute).
_SQL_ORDERING = {operator.gt: ">", operator.ge: ">=", operator.lt: "<", operator.le: "<="}


def _sql_operator(op: str) -> str:
    ordering = OP_SPECS[op].ordering
    return "=" if ordering is None else _SQL_ORDERING[ordering]


def _order_table() -> str:
    return apps.get_model(settings.REWARDS_ORDER_MODEL)._meta.db_table


@dataclass
class _Builder:
    now: datetime
    params: dict[str, Any] = field(default_factory=dict)
    order_columns: list[str] = field(default_factory=list)
    joins: dict[str, str] = field(default_factory=dict)

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s"

    def order_column(self, expression: str) -> str:
        """An aggregate of the customer's orders, computed in the one pass over them."""
        column = f"o.c{len(self.order_columns)}"
        self.order_columns.append(f"{expression} AS c{len(self.order_columns)}")
        return column

    def since(self, condition: Mapping[str, Any]) -> str | None:
        days = condition.get("window_days")
        return None if days is None else self.param(self.now - timedelta(days=days))

    def today(self) -> str:
        return self.param(program_time(self.now).date())

    def local_day(self, moment: str) -> str:
        return f"({moment} AT TIME ZONE {self.param(settings.PROGRAM_TIME_ZONE)})::date"

    def value(self, condition: Mapping[str, Any]) -> tuple[str, str]:
        """The SQL of the field's value for a customer, and its kind (numeric, text, jsonb)."""
        name = condition["field"]
        if name.startswith(ATTRIBUTES_PREFIX):
            self.joins["ca"] = f"LEFT JOIN {CustomerAttributes._meta.db_table} ca ON ca.user_id = a.user_id"
            return f"(ca.attributes -> {self.param(name[len(ATTRIBUTES_PREFIX) :])})", "jsonb"
        if name in ("orders_placed", "orders_returned", "spent"):
            since = self.since(condition)
            if name == "orders_returned":
                where = "returned_at IS NOT NULL" + (f" AND returned_at >= {since}" if since else "")
            else:
                where = f"completed_at >= {since}" if since else "TRUE"
            aggregate = "count(*)" if name != "spent" else "sum(total_cost - returned_cost)"
            return f"COALESCE({self.order_column(f'{aggregate} FILTER (WHERE {where})')}, 0)::numeric", "numeric"
        if name == "days_since_last_order":
            last = self.order_column("max(completed_at)")
            return f"({self.today()}::date - {self.local_day(last)})::numeric", "numeric"
        if name == "days_since_first_seen":
            first = self.order_column("min(completed_at)")
            seen = f"LEAST(a.created_at, {first})"
            return f"({self.today()}::date - {self.local_day(seen)})::numeric", "numeric"
        if name == "points.available":
            return "(a.total_points_earned - a.total_points_redeemed)::numeric", "numeric"
        if name == "points.earned_lifetime":
            return "a.total_points_earned::numeric", "numeric"
        if name == "birthday_month":
            self.joins["b"] = f"LEFT JOIN {Birthday._meta.db_table} b ON b.user_id = a.user_id"
            return "b.month::numeric", "numeric"
        if name == "tier":
            tiers = Tier._meta.db_table
            self.joins["s"] = f"LEFT JOIN {TierStanding._meta.db_table} s ON s.user_id = a.user_id"
            earned = (
                f"COALESCE((SELECT code FROM {tiers} WHERE code = s.tier_code), "
                f"(SELECT code FROM {tiers} ORDER BY entry_points LIMIT 1))"
            )
            floor = f"CASE WHEN s.floor_until > {self.param(self.now)} THEN s.floor_code END"
            return (
                f"(SELECT t.code FROM {tiers} t WHERE t.code = {earned} OR t.code = {floor} "
                "ORDER BY t.entry_points DESC LIMIT 1)"
            ), "text"
        raise ValueError(f"No SQL for the field {name!r}.")  # the language and this table disagree

    def condition(self, condition: Mapping[str, Any]) -> str:
        value, kind = self.value(condition)
        op, wanted = condition["op"], condition["value"]
        if kind == "jsonb" and op in ORDERING_OPS:
            # Ordering needs a number on both sides: a text or a boolean attribute meets none.
            value, kind = f"(CASE WHEN jsonb_typeof({value}) = 'number' THEN ({value})::numeric END)", "numeric"

        def cast(item: Any) -> Any:
            if kind == "jsonb":
                return json.dumps(item)
            return Decimal(str(item)) if kind == "numeric" else item

        # A negated op (ne, not_in) is the other's NOT, a missing value (NULL) meeting it.
        negated = OP_SPECS[op].negated
        if op in LIST_OPS:
            array = self.param([cast(item) for item in wanted])
            found = f"COALESCE({value} = ANY({array}::{kind}[]), FALSE)"
            return f"NOT {found}" if negated else found
        operand = f"{self.param(cast(wanted))}::{kind}"
        if negated:
            return f"{value} IS DISTINCT FROM {operand}"
        return f"COALESCE({value} {_sql_operator(op)} {operand}, FALSE)"


@dataclass(frozen=True)
class MembersQuery:
    """``SELECT a.user_id FROM … WHERE …`` with its parameters, in user_id order."""

    sql: str
    params: dict[str, Any]


def members_query(
    conditions: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    user_id: int | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> MembersQuery:
    """The members of a segment with these conditions as of ``now``: all of them, one customer
    (``user_id``: the query answers them or nothing), or a page after a user_id."""
    builder = _Builder(now=now)
    wheres = [builder.condition(condition) for condition in conditions]
    scope = []
    if user_id is not None:
        scope.append(f"a.user_id = {builder.param(user_id)}")
    if after is not None:
        scope.append(f"a.user_id > {builder.param(after)}")
    joins = list(builder.joins.values())
    if builder.order_columns:
        order_scope = (
            " WHERE " + " AND ".join(clause.replace("a.user_id", "user_id") for clause in scope) if scope else ""
        )
        joins.insert(
            0,
            f"LEFT JOIN (SELECT user_id, {', '.join(builder.order_columns)} FROM {_order_table()}"
            f"{order_scope} GROUP BY user_id) o ON o.user_id = a.user_id",
        )
    sql = f"SELECT a.user_id FROM {Account._meta.db_table} a {' '.join(joins)}"
    every = [*scope, *wheres]
    if every:
        sql += " WHERE " + " AND ".join(every)
    sql += " ORDER BY a.user_id"
    if limit is not None:
        sql += f" LIMIT {builder.param(limit)}"
    return MembersQuery(sql=sql, params=builder.params)


def count_query(conditions: Sequence[Mapping[str, Any]], *, now: datetime) -> MembersQuery:
    members = members_query(conditions, now=now)
    return MembersQuery(
        sql=f"SELECT count(*) FROM ({members.sql.removesuffix(' ORDER BY a.user_id')}) m", params=members.params
    )
