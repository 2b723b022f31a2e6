"""Importing the CLP API's database: ``applications``, ``users`` and ``orders``.

The CLP kept each customer's balance as a float (``users.current_balance``, the truth: its
history cannot be replayed exactly), deleted returned orders (leaving only
``num_of_deleted_orders``), and put access levels in its JWTs, not in its tables. What each odd
row becomes is decided here; docs/IMPORTS.md lists the decisions.
"""

import itertools
import math
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from typing import Any

from django.utils import timezone

from core.limits import MAX_BIGINT, MAX_POINTS_PER_ENTRY
from loyalty.models import Application, Order, OrderCounter
from loyalty.services.applications import CLIENT_ACCESS_LEVELS, IssuedToken
from loyalty.services.orders import MAX_ORDER_COUNT
from loyalty.tokens import token_generate, token_hash
from rewards.importers.base import (
    BATCH_ROWS,
    ImportEntry,
    ImportRefused,
    ImportReport,
    balances_below_zero,
    bulk_insert,
    customer_id,
    customers_import,
    rows_imported,
    rows_record,
    run_import,
    source_connect,
    source_decimal,
    source_int,
    source_label,
    source_rows,
)
from rewards.models import ImportSource, RewardKind

SOURCE = ImportSource.CLP
_APPLICATIONS_SQL = "SELECT app_id, app_name FROM applications ORDER BY app_name, app_id"
_USERS_SQL = "SELECT user_id, current_balance, num_of_deleted_orders FROM users ORDER BY user_id"
_ORDERS_SQL = "SELECT order_id, user_id, total_cost, completed_at FROM orders ORDER BY user_id, order_id"
# Float balances are first snapped to a millionth of a point (what the CLP's arithmetic meant,
# not its binary error), then any fraction is dropped towards zero: never against the customer.
_SNAP = Decimal("0.000001")
_IMPORTED_COEFFICIENT = Decimal("1.000000")
# What an order earned in the CLP API: 5% of total_cost. A return of an imported order takes
# back its share of that, whatever this service's order rules say today.
CLP_POINTS_RATE = Fraction(1, 20)


@dataclass
class ClpImport:
    report: ImportReport
    tokens: list[IssuedToken] = field(default_factory=list)


def clp_import(source: str, *, dry_run: bool = False, applications_level: str | None = None) -> ClpImport:
    """Take over the CLP's customers, orders and (with ``applications_level``) applications from
    ``source`` (a PostgreSQL URL), in one transaction; rows imported by an earlier run are skipped.

    New applications get fresh tokens (the CLP's JWT secrets cannot be reused): they are in the
    result, to be handed to their owners, and exist nowhere else.
    """
    if applications_level is not None and applications_level not in CLIENT_ACCESS_LEVELS:
        raise ImportRefused(f"--applications must be one of {', '.join(CLIENT_ACCESS_LEVELS)}.")
    connection = source_connect(source)
    result = ClpImport(report=ImportReport(source=f"the CLP database at {source_label(source)}", dry_run=dry_run))
    try:
        run_import(result.report, lambda report: _import(connection, result, applications_level))
    finally:
        connection.close()
    if dry_run:
        result.tokens.clear()
    return result


def _import(connection: Any, result: ClpImport, applications_level: str | None) -> None:
    now = timezone.now()
    _applications_import(connection, result, applications_level, now=now)
    users = source_rows(connection, _USERS_SQL, name="clp_users")
    orders = source_rows(connection, _ORDERS_SQL, name="clp_orders")
    batch: list[tuple[dict | None, list[dict]]] = []
    size = 0
    for customer in _by_customer(users, orders):
        batch.append(customer)
        size += 1 + len(customer[1])
        if size >= BATCH_ROWS:
            _batch_import(batch, result.report, now=now)
            batch, size = [], 0
    if batch:
        _batch_import(batch, result.report, now=now)


def _applications_import(connection: Any, result: ClpImport, level: str | None, *, now: datetime) -> None:
    report = result.report
    rows = list(source_rows(connection, _APPLICATIONS_SQL, name="clp_applications"))
    report.counts["applications in the source"] = len(rows)
    keys = {str(row["app_id"]): f"application:{row['app_id']}" for row in rows}
    done = rows_imported(source=SOURCE, keys=keys.values())
    for row in rows:
        report.notes.append(f"application {row['app_id']} {row['app_name']!r}")
        if level is None or keys[str(row["app_id"])] in done:
            continue
        try:
            app_id = uuid.UUID(str(row["app_id"]))
        except ValueError:
            report.anomaly("app_id is not a UUID", "application not created", row)
            continue
        name = str(row["app_name"] or "").strip()[:30] or f"CLP application {str(app_id)[:8]}"
        if Application.objects.filter(pk=app_id).exists():
            report.anomaly("an application with this app_id exists already", "left as it is", row)
            continue
        token = token_generate()
        app = Application.objects.create(app_id=app_id, name=name, access_level=level, token_hash=token_hash(token))
        result.tokens.append(IssuedToken(app=app, token=token))
        report.counts["applications created"] += 1
    if level is not None:
        rows_record(source=SOURCE, keys=(key for key in keys.values() if key not in done), now=now)
    if level is None and rows:
        report.notes.append("applications were listed only: --applications LEVEL creates them with fresh tokens")


def _user_order(value: object) -> tuple:
    return (value is None, value)


def _by_customer(users: Iterator[dict], orders: Iterator[dict]) -> Iterator[tuple[dict | None, list[dict]]]:
    """Merge the two streams, both sorted by user_id: each customer's user row (None if the users
    table lacks them) with their orders."""
    order_groups = itertools.groupby(orders, key=lambda order: order["user_id"])
    pending = next(order_groups, None)
    for user in users:
        while pending is not None and _user_order(pending[0]) < _user_order(user["user_id"]):
            yield None, list(pending[1])
            pending = next(order_groups, None)
        if pending is not None and pending[0] == user["user_id"]:
            yield user, list(pending[1])
            pending = next(order_groups, None)
        else:
            yield user, []
    while pending is not None:
        yield None, list(pending[1])
        pending = next(order_groups, None)


def _batch_import(customers: list[tuple[dict | None, list[dict]]], report: ImportReport, *, now: datetime) -> None:
    keys = [f"user:{user['user_id']}" for user, _ in customers if user is not None]
    keys += [f"order:{order['order_id']}" for _, orders in customers for order in orders]
    done = rows_imported(source=SOURCE, keys=keys)
    report.counts["rows already imported"] += len(done)
    entries: dict[int, list[ImportEntry]] = {}
    counters: dict[int, list[int]] = {}  # user_id: [placed, returned] to add
    orders: list[Order] = []
    for user, user_orders in customers:
        raw_user_id = user["user_id"] if user is not None else user_orders[0]["user_id"]
        user_id = customer_id(raw_user_id)
        if user_id is None:
            for row in [user, *user_orders]:
                if row is not None and _key(row) not in done:
                    report.anomaly("user_id is not a positive integer", "skipped: it belongs to no customer", row)
            continue
        if user is not None and f"user:{raw_user_id}" not in done:
            entries[user_id] = _balance_entries(user, user_id, report, now=now)
            deleted = _deleted_orders(user, report)
            counters[user_id] = [deleted, deleted]
            report.counts["returned orders (deleted in the CLP)"] += deleted
        fresh = [order for order in user_orders if f"order:{order['order_id']}" not in done]
        if fresh and user is None:
            report.anomaly("orders of a customer the users table does not list", "imported", fresh[0])
        for row in fresh:
            order = _order(row, user_id, report, now=now)
            if order is not None:
                orders.append(order)
    orders = _without_clashes(orders, report)
    for order in orders:
        counters.setdefault(order.user_id, [0, 0])[0] += 1
        entries.setdefault(order.user_id, [])
    balances = customers_import(entries, source=SOURCE, now=now) if entries else {}
    balances_below_zero(report, balances)
    report.counts["customers"] += len(entries)
    for order in orders:
        order.balance_after = balances[order.user_id].total_points
    bulk_insert(orders)
    report.counts["orders"] += len(orders)
    _counters_add(counters)
    rows_record(source=SOURCE, keys=(key for key in keys if key not in done), now=now)


def _key(row: dict) -> str:
    return f"order:{row['order_id']}" if "order_id" in row else f"user:{row['user_id']}"


def _balance_entries(user: dict, user_id: int, report: ImportReport, *, now: datetime) -> list[ImportEntry]:
    balance = source_decimal(user["current_balance"])
    if balance is None:
        report.anomaly("current_balance is empty or not a number", "read as 0", user)
        return []
    if abs(balance) > MAX_POINTS_PER_ENTRY:
        report.anomaly(
            "current_balance is beyond what one entry may hold", "skipped: the balance is not imported", user
        )
        return []
    snapped = balance.quantize(_SNAP)
    points = int(snapped.to_integral_value(rounding=ROUND_DOWN))
    if points != snapped:
        report.counts["balances with a fraction dropped"] += 1
    if not points:
        return []
    report.counts["points credited" if points > 0 else "points debited"] += abs(points)
    description = "Balance imported from the CLP API"
    return [
        ImportEntry(
            key=f"user:{user['user_id']}", kind=RewardKind.IMPORT, points=points, description=description, at=now
        )
    ]


def _deleted_orders(user: dict, report: ImportReport) -> int:
    deleted = source_int(user["num_of_deleted_orders"]) if user["num_of_deleted_orders"] is not None else 0
    if deleted is None or not 0 <= deleted <= MAX_ORDER_COUNT:
        report.anomaly(f"num_of_deleted_orders is not a whole number from 0 to {MAX_ORDER_COUNT:,}", "read as 0", user)
        return 0
    return deleted


def _order(row: dict, user_id: int, report: ImportReport, *, now: datetime) -> Order | None:
    order_id = source_int(row["order_id"])
    if order_id is None or not 0 < order_id <= MAX_BIGINT:
        report.anomaly("order_id is not a positive integer", "skipped", row)
        return None
    cost = source_decimal(row["total_cost"])
    if cost is None or cost < 0:
        report.anomaly("total_cost is empty, negative or not a number", "skipped", row)
        return None
    if cost > MAX_BIGINT:
        report.anomaly("total_cost is beyond what the API accepts", f"skipped (at most {MAX_BIGINT:,})", row)
        return None
    total_cost = int(cost.to_integral_value(rounding=ROUND_DOWN))
    if total_cost != cost:
        report.anomaly("total_cost is not a whole number", f"rounded down to {total_cost}", row)
    completed = source_decimal(row["completed_at"])
    try:
        completed_at = datetime.fromtimestamp(int(completed), tz=UTC) if completed is not None else None
    except (OverflowError, OSError, ValueError):
        completed_at = None
    if completed_at is None:
        report.anomaly("completed_at is not a unix time", "dated at the import", row)
        completed_at = now
    return Order(
        order_id=order_id,
        user_id=user_id,
        total_cost=total_cost,
        completed_at=completed_at,
        # What the order could have earned at most: a return never takes back more.
        coefficient=_IMPORTED_COEFFICIENT,
        points_awarded=math.floor(total_cost * CLP_POINTS_RATE),
        balance_after=0,
        imported_from=SOURCE,
        created_at=now,
    )


def _without_clashes(orders: list[Order], report: ImportReport) -> list[Order]:
    taken = set(Order.objects.filter(order_id__in=[order.order_id for order in orders]).values_list("pk", flat=True))
    kept = []
    for order in orders:
        if order.order_id in taken:
            report.anomaly(
                "order_id already used by an order of this service",
                "skipped: the existing order stays",
                {"order_id": order.order_id, "user_id": order.user_id, "total_cost": order.total_cost},
            )
            continue
        taken.add(order.order_id)
        kept.append(order)
    return kept


def _counters_add(counters: dict[int, list[int]]) -> None:
    """Add to each customer's order counters, so the next order's coefficient is the one it
    would have had in the CLP (a deleted order was placed and returned)."""
    existing = {
        counter.user_id: counter
        for counter in OrderCounter.objects.select_for_update().filter(user_id__in=list(counters)).order_by("pk")
    }
    new = []
    for user_id, (placed, returned) in counters.items():
        counter = existing.get(user_id)
        if counter is None:
            new.append(OrderCounter(user_id=user_id, orders_placed=placed, orders_returned=returned))
        else:
            counter.orders_placed += placed
            counter.orders_returned += returned
    OrderCounter.objects.bulk_create(new, batch_size=BATCH_ROWS)
    OrderCounter.objects.bulk_update(existing.values(), ["orders_placed", "orders_returned"], batch_size=BATCH_ROWS)
