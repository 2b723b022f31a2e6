"""Orders (the CLP API): points with the penalty coefficient, idempotent recording, returns
whole or in part."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from core.exceptions import Conflict, NotFound
from core.limits import MAX_POINTS_PER_ENTRY
from loyalty.models import Application, Order, OrderCounter
from rewards.models import EventType, PointLot, RewardKind
from rewards.selectors import Balance, account_balance
from rewards.services import credit_take_back, points_credit, points_entry_check, points_take_back
from rewards.services.events import event_record

PENALTY_BASE = Fraction(6, 5)  # the 1.2 of the CLP formula
COEFFICIENT_PLACES = Decimal("0.000001")


class OrderConflict(Conflict):
    code = "order_conflict"
    default_message = "An order with this order_id was already recorded with different details."


class OrderAlreadyReturned(Conflict):
    code = "order_already_returned"
    default_message = "This order has already been returned."


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = "No order has this order_id."


class ReturnExceedsOrder(Conflict):
    code = "return_exceeds_order"


@dataclass(frozen=True)
class OrderPoints:
    points: int
    coefficient: Fraction


@dataclass(frozen=True)
class OrderOutcome:
    order: Order
    created: bool
    available_at: datetime
    balance: Balance | None = None  # None on a retry: the balance now is not the order's answer


@dataclass(frozen=True)
class ReturnOutcome:
    order: Order
    points_taken_back: int  # by this return
    balance: Balance


def order_coefficient(*, placed: int, returned: int) -> Fraction:
    """min(1, 1.2 - returned / (placed + 1)), as an exact fraction.

    ``placed`` counts the customer's earlier orders, returned ones included. The
    penalty starts only once more than 20% of them were returned.
    """
    if not 0 <= returned <= placed:
        raise ValueError(f"returned ({returned}) must be between 0 and placed ({placed})")
    return min(Fraction(1), PENALTY_BASE - Fraction(returned, placed + 1))


def total_cost_max() -> int:
    """The largest total_cost whose points (coefficient at most 1) stay within one entry's cap."""
    return int(MAX_POINTS_PER_ENTRY / settings.ORDER_POINTS_RATE)


# Order counters are integers: no customer places or returns more orders than this.
MAX_ORDER_COUNT = 1_000_000_000


def order_points(*, total_cost: int, placed: int, returned: int) -> OrderPoints:
    """floor(total_cost * rate * coefficient), in exact rational arithmetic.

    Floats (and decimals of 1/3) round 4.0 down to 3.999..., so no step here is
    inexact.
    """
    coefficient = order_coefficient(placed=placed, returned=returned)
    exact = Fraction(total_cost) * Fraction(settings.ORDER_POINTS_RATE) * coefficient
    return OrderPoints(points=math.floor(exact), coefficient=coefficient)


def _coefficient_shown(coefficient: Fraction) -> Decimal:
    exact = Decimal(coefficient.numerator) / Decimal(coefficient.denominator)
    return exact.quantize(COEFFICIENT_PLACES, rounding=ROUND_HALF_UP)


def _counter_count_placed(*, user_id: int) -> tuple[int, int]:
    """Count one more order for the customer, in one statement; returns (placed, returned).

    The upsert also takes the row lock that serialises this customer's orders.
    """
    table = OrderCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS c (user_id, orders_placed, orders_returned) VALUES (%s, 1, 0)"
            " ON CONFLICT (user_id) DO UPDATE SET orders_placed = c.orders_placed + 1"
            " RETURNING orders_placed, orders_returned",
            [user_id],
        )
        placed, returned = cursor.fetchone()
    return placed, returned


def _counter_count_returned(*, user_id: int) -> None:
    # The row exists: it was created with the order being returned.
    OrderCounter.objects.filter(user_id=user_id).update(orders_returned=F("orders_returned") + 1)


def _same_order(order: Order, *, user_id: int, total_cost: int, completed_at: datetime) -> bool:
    return (order.user_id, order.total_cost, order.completed_at) == (user_id, total_cost, completed_at)


def _existing_order(*, order_id: int, user_id: int, total_cost: int, completed_at: datetime) -> Order | None:
    """The recorded order when this is a safe retry; OrderConflict when the body differs."""
    order = Order.objects.filter(order_id=order_id).first()
    if order is None:
        return None
    if not _same_order(order, user_id=user_id, total_cost=total_cost, completed_at=completed_at):
        raise OrderConflict()
    return order


@transaction.atomic
def _order_create(
    *, order_id: int, user_id: int, total_cost: int, completed_at: datetime, app: Application | None
) -> OrderOutcome:
    # No look-up first: a retry is rare, and the order_id primary key catches it
    # (the caller then answers from the recorded order).
    placed_now, returned = _counter_count_placed(user_id=user_id)
    policy = order_points(total_cost=total_cost, placed=placed_now - 1, returned=returned)
    points_entry_check(policy.points, field="total_cost")
    # The points are pending until the return window after completed_at has passed.
    posting = points_credit(
        user_id=user_id,
        points=policy.points,
        kind=RewardKind.ORDER,
        description=f"Order {order_id}",
        app=app,
        credited_at=completed_at,
        event_extra={
            "order": {
                "order_id": order_id,
                "total_cost": total_cost,
                "completed_at": int(completed_at.timestamp()),
                "coefficient": str(_coefficient_shown(policy.coefficient)),
                "points_awarded": policy.points,
            }
        },
    )
    order = Order.objects.create(
        order_id=order_id,
        user_id=user_id,
        total_cost=total_cost,
        completed_at=completed_at,
        coefficient=_coefficient_shown(policy.coefficient),
        points_awarded=policy.points,
        balance_after=posting.balance.total_points,
        reward=posting.reward,
        application=app,
    )
    return OrderOutcome(order=order, created=True, available_at=posting.available_at, balance=posting.balance)


def order_record(
    *, order_id: int, user_id: int, total_cost: int, completed_at: int, app: Application | None
) -> OrderOutcome:
    """Record an order and award its points; a retry with the same body writes nothing.

    ``completed_at`` is in unix seconds. A repeated order_id, sequential or racing,
    meets the primary key: that transaction rolls back whole, and the request answers
    from the recorded order (a retry) or with OrderConflict (a different body).
    """
    completed = datetime.fromtimestamp(completed_at, tz=UTC)
    try:
        return _order_create(order_id=order_id, user_id=user_id, total_cost=total_cost, completed_at=completed, app=app)
    except IntegrityError:
        existing = _existing_order(order_id=order_id, user_id=user_id, total_cost=total_cost, completed_at=completed)
        if existing is None:
            raise
        if existing.reward_id is None:  # imported: its points came with the customer's balance
            return OrderOutcome(order=existing, created=False, available_at=existing.completed_at)
        lot = PointLot.objects.get(credit_id=existing.reward_id)
        return OrderOutcome(order=existing, created=False, available_at=lot.available_at)


def _return_event(order: Order, take: int) -> dict:
    return {
        "order": {
            "order_id": order.order_id,
            "total_cost": order.total_cost,
            "returned_cost": order.returned_cost,
            "points_awarded": order.points_awarded,
            "points_taken_back": order.points_taken_back,
        },
        "points_taken_back": take,
    }


def order_points_taken_back(order: Order, *, returned_cost: int) -> int:
    """floor(points_awarded * returned_cost / total_cost): what returns of ``returned_cost`` in
    all take back, so partial returns never take back more than a whole one."""
    if order.total_cost == 0:
        return 0
    return order.points_awarded * returned_cost // order.total_cost


@transaction.atomic
def order_return(*, order_id: int, returned_cost: int | None = None, app: Application | None) -> ReturnOutcome:
    """The goods came back, in whole or (with ``returned_cost``) in part: keep the order, mark
    it, take back the points the returned part earned.

    Points still pending are cancelled; points already available are taken back and may
    take the balance below zero. The order counts as returned for the coefficient once, at
    its first return. The order row is locked first, so racing returns are serialised.
    """
    order = Order.objects.select_for_update().filter(order_id=order_id).first()
    if order is None:
        raise OrderNotFound()
    left = order.total_cost - order.returned_cost
    if order.is_returned and left == 0:
        raise OrderAlreadyReturned()
    cost = left if returned_cost is None else returned_cost
    if cost > left:
        raise ReturnExceedsOrder(
            f"Only {left} of this order's total_cost {order.total_cost} is left to return.",
            fields={"returned_cost": [f"At most {left}."]},
        )
    if not order.is_returned:
        _counter_count_returned(user_id=order.user_id)
        order.returned_at = timezone.now()
    target = order_points_taken_back(order, returned_cost=order.returned_cost + cost)
    take = target - order.points_taken_back
    order.returned_cost += cost
    order.points_taken_back = target
    if take:
        posting_details = {
            "points": take,
            "kind": RewardKind.ORDER_RETURN,
            "description": f"Order {order_id} returned" + ("" if order.is_fully_returned else " in part"),
            "app": app,
            "event_extra": _return_event(order, take),
        }
        if order.reward_id is None:
            # Imported from the CLP: its points came in the imported balance, available.
            posting = points_take_back(user_id=order.user_id, **posting_details)
        else:
            posting = credit_take_back(user_id=order.user_id, credit_id=order.reward_id, **posting_details)
        order.return_reward = posting.reward
        balance = posting.balance
    else:
        # Nothing to take back (a small part, a zero-point order): the return is still an event.
        balance = account_balance(user_id=order.user_id)
        event_record(
            type=EventType.ORDER_RETURNED,
            user_id=order.user_id,
            now=timezone.now(),
            app=app,
            balance=balance,
            extra=_return_event(order, take),
        )
    order.save(update_fields=["returned_at", "returned_cost", "points_taken_back", "return_reward"])
    return ReturnOutcome(order=order, points_taken_back=take, balance=balance)
