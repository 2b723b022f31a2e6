"""Orders (the CLP API): points by the order rules with the penalty coefficient, idempotent
recording, returns whole or in part across every award."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import (
    CharField,
    DateTimeField,
    DecimalField,
    F,
    Field,
    ForeignKey,
    IntegerField,
    JSONField,
)
from django.utils import timezone

from core.exceptions import Conflict, DomainError, NotFound
from loyalty.models import Application, Order, OrderAward, OrderCounter, Referral
from loyalty.services.personal_data import order_text_erased
from rewards.models import EventType, PointLot, QualifyingCredit, RewardKind, RuleTrigger
from rewards.program.engine import EventItem, ProgramEvent
from rewards.selectors import Balance, account_balance
from rewards.services import (
    Earned,
    Posting,
    accounts_lock,
    challenges,
    credit_take_back,
    event_earn,
    event_simulate,
    points_take_back,
    rules_active,
)
from rewards.services.events import event_record
from rewards.services.ledger import loaded
from rewards.services.program import PROGRAM_JSON, EventProgram, event_program_of
from rewards.services.tiers import qualifying_take_back

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


class ItemsExceedOrder(DomainError):
    code = "items_exceed_total_cost"


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


# Order counters are integers: no customer places or returns more orders than this.
MAX_ORDER_COUNT = 1_000_000_000


def _coefficient_shown(coefficient: Fraction) -> Decimal:
    exact = Decimal(coefficient.numerator) / Decimal(coefficient.denominator)
    return exact.quantize(COEFFICIENT_PLACES, rounding=ROUND_HALF_UP)


def _order_begin(*, user_id: int) -> tuple[int, int, EventProgram]:
    """Count one more order for the customer, and read what its event reads of the program (the
    order rules, the ladder, the order challenges), in one statement; returns (placed, returned,
    program).

    The upsert also takes the row lock that serialises this customer's orders."""
    table = OrderCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH counted AS (INSERT INTO {table} AS c (user_id, orders_placed, orders_returned) VALUES (%s, 1, 0)"
            " ON CONFLICT (user_id) DO UPDATE SET orders_placed = c.orders_placed + 1"
            " RETURNING orders_placed, orders_returned)"
            f" SELECT orders_placed, orders_returned, {PROGRAM_JSON} FROM counted",
            [user_id, RuleTrigger.ORDER, RuleTrigger.ORDER],
        )
        placed, returned, *program = cursor.fetchone()
    return placed, returned, event_program_of(*program)


def _counter_count_returned(*, user_id: int) -> None:
    # The row exists: it was created with the order being returned.
    OrderCounter.objects.filter(user_id=user_id).update(orders_returned=F("orders_returned") + 1)


def _items_stored(items: Sequence[EventItem]) -> list[dict[str, Any]]:
    return [{"sku": i.sku, "category": i.category, "quantity": i.quantity, "price": int(i.price)} for i in items]


def _items_check(items: Sequence[EventItem], *, total_cost: int) -> None:
    items_total = sum(item.price * item.quantity for item in items)
    if items_total > total_cost:
        raise ItemsExceedOrder(
            f"The items add up to {items_total}, more than the order's total_cost {total_cost}.",
            fields={"items": [f"Their price x quantity adds up to {items_total}; at most total_cost ({total_cost})."]},
        )


def _existing_order(
    *, order_id: int, user_id: int, total_cost: int, completed_at: datetime, items: list[dict], channel: str
) -> Order | None:
    """The recorded order when this is a safe retry; OrderConflict when the body differs.

    Once the customer's personal data was erased, the retry is compared on what the erasure
    kept: it cannot tell a right guess at the items' texts or the channel from a wrong one."""
    order = Order.objects.filter(order_id=order_id).first()
    if order is None:
        return None
    stored = (order.user_id, order.total_cost, order.completed_at, order.items, order.channel)
    sent = (user_id, total_cost, completed_at, items, channel)
    erased = (user_id, total_cost, completed_at, *order_text_erased(items=items, channel=channel))
    if stored not in (sent, erased):
        raise OrderConflict()
    return order


def _order_event(
    *,
    user_id: int,
    total_cost: int,
    completed_at: datetime,
    items: Sequence[EventItem],
    channel: str,
    placed: int,
    returned: int,
) -> ProgramEvent:
    """What the order rules see of an order; ``placed`` and ``returned`` count the customer's
    orders before it."""
    return ProgramEvent(
        trigger=RuleTrigger.ORDER,
        user_id=user_id,
        occurred_at=completed_at,
        money=Decimal(total_cost),
        coefficient=order_coefficient(placed=placed, returned=returned),
        channel=channel or None,
        items=tuple(items),
        orders_placed=placed,
    )


def order_simulate(
    *, user_id: int, total_cost: int, completed_at: int, items: Sequence[EventItem] = (), channel: str = ""
) -> Earned:
    """What this order would earn if it were recorded now, caps and tier included; writes nothing."""
    _items_check(items, total_cost=total_cost)
    counter = OrderCounter.objects.filter(user_id=user_id).first()
    event = _order_event(
        user_id=user_id,
        total_cost=total_cost,
        completed_at=datetime.fromtimestamp(completed_at, tz=UTC),
        items=items,
        channel=channel,
        placed=counter.orders_placed if counter else 0,
        returned=counter.orders_returned if counter else 0,
    )
    return event_simulate(event)


@transaction.atomic
def _order_create(
    *,
    order_id: int,
    user_id: int,
    total_cost: int,
    completed_at: datetime,
    items: Sequence[EventItem],
    channel: str,
    app: Application | None,
) -> OrderOutcome:
    # No look-up first: a retry is rare, and the order_id primary key catches it
    # (the caller then answers from the recorded order).
    placed_now, returned, program = _order_begin(user_id=user_id)
    # The customer's first order is a referral's turn (one read, on first orders only).
    referral = (
        Referral.objects.filter(referee_user_id=user_id, rewarded_order__isnull=True).first()
        if placed_now == 1
        else None
    )
    referral_rules = rules_active(RuleTrigger.REFERRAL) if referral is not None else []
    if any(rule.effect["role"] == "referrer" for rule in referral_rules):
        # The order credits its referrer too: both accounts are locked in user_id order first.
        accounts_lock([user_id, referral.referrer_user_id])
    event = _order_event(
        user_id=user_id,
        total_cost=total_cost,
        completed_at=completed_at,
        items=items,
        channel=channel,
        placed=placed_now - 1,
        returned=returned,
    )
    shown = _coefficient_shown(event.coefficient)

    def order_details(points: int) -> dict[str, Any]:
        order = {"order_id": order_id, "total_cost": total_cost, "completed_at": int(completed_at.timestamp())}
        return {"order": {**order, "coefficient": str(shown), "points_awarded": points}}

    # The points are pending until the return window after completed_at has passed.
    earned = event_earn(
        event,
        kind=RewardKind.ORDER,
        description=f"Order {order_id}",
        app=app,
        record_zero=True,
        credited_at=completed_at,
        event_extra=order_details,
        program=program,
    )
    own = [earned]
    postings = earned.postings
    if referral is not None:
        referee, referrer = _referral_awards(
            referral, event, replace(program, rules=referral_rules), order_id=order_id, app=app
        )
        own.append(referee)
        postings = [*postings, *referee.postings, *referrer.postings]
    balance = [posting.balance for posting in postings if posting.reward.user_id == user_id][-1]
    # The challenges it moves, and the points of a completion wait as the order's own do; the
    # order's balance after is the customer's after those points too.
    counted = challenges.event_count(
        event,
        source=challenges.Source("order", order_id),
        stands_at=postings[0].available_at,
        app=app,
        challenges=program.challenges,
    )
    balance = counted.balance or balance
    order = loaded(
        Order,
        order_id=order_id,
        user_id=user_id,
        total_cost=total_cost,
        completed_at=completed_at,
        coefficient=shown,
        points_awarded=sum(part.points_awarded for part in own),
        breakdown=[entry for part in own for entry in part.breakdown()],
        balance_after=balance.total_points,
        channel=channel,
        items=_items_stored(items),
        application=app,
        imported_from="",
        created_at=timezone.now(),
    )
    _order_insert(order, postings)
    if referral is not None:
        Referral.objects.filter(pk=referral.pk).update(rewarded_order=order)
    return OrderOutcome(order=order, created=True, available_at=postings[0].available_at, balance=balance)


_NO_AWARDS = Earned(awards=[], postings=[])


def _referral_awards(
    referral: Referral, event: ProgramEvent, program: EventProgram, *, order_id: int, app: Application | None
) -> tuple[Earned, Earned]:
    """A referred customer's first order: the awards of the active referral rules (``program``'s)
    to the customer (``referee``) and to whoever referred them (``referrer``), each side's caps
    counted for its own customer, pending as the order's points are."""
    sides = []
    for role, user_id in (("referee", referral.referee_user_id), ("referrer", referral.referrer_user_id)):
        side_rules = [rule for rule in program.rules if rule.effect["role"] == role]
        sides.append(
            event_earn(
                replace(event, trigger=RuleTrigger.REFERRAL, user_id=user_id),
                kind=RewardKind.REFERRAL,
                description=f"Referral: order {order_id}",
                app=app,
                record_zero=False,
                credited_at=event.occurred_at,
                program=replace(program, rules=side_rules),
            )
            if side_rules
            else _NO_AWARDS
        )
    return sides[0], sides[1]


_ORDER_FIELDS = Order._meta.concrete_fields


def _column_prep(field: Field) -> Callable[[Any], Any] | None:
    """How an order column's value goes to the driver: a JSON column through the backend's
    adapter; the others (numbers, text, aware times, decimals, the application's UUID) as the
    driver takes them, which is what the ORM's preparation hands over for them (at a dozen
    calls a column, the most of the insert's cost)."""
    if isinstance(field, JSONField):
        return lambda value: field.get_db_prep_save(value, connection)
    if isinstance(field, (IntegerField, CharField, DateTimeField, DecimalField, ForeignKey)):
        return None
    raise TypeError(f"{field}: no preparation for this column here; add one.")


_ORDER_COLUMNS = [(field.attname, _column_prep(field)) for field in _ORDER_FIELDS]


def _order_insert(order: Order, postings: Sequence[Posting]) -> None:
    """The order (``loaded`` already, as it is once this commits) and its awards (one per ledger
    row the awards wrote), in one round trip: on the hot path the ORM's inserts would cost more
    than the writes. The order_id primary key still refuses a repeat."""
    awards = [
        (
            order.order_id,
            posting.reward.id,
            posting.reward.user_id,
            posting.reward.points_earned + posting.reward.pending_change,
        )
        for posting in postings
    ]
    columns = ", ".join(field.column for field in _ORDER_FIELDS)
    sql = (
        f"INSERT INTO {Order._meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(_ORDER_FIELDS))});"
        f" INSERT INTO {OrderAward._meta.db_table} (order_id, credit_id, user_id, points)"
        f" VALUES {', '.join(['(%s, %s, %s, %s)'] * len(awards))}"
    )
    values = [
        getattr(order, attname) if prep is None else prep(getattr(order, attname)) for attname, prep in _ORDER_COLUMNS
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, *(value for award in awards for value in award)])


def order_record(
    *,
    order_id: int,
    user_id: int,
    total_cost: int,
    completed_at: int,
    app: Application | None,
    items: Sequence[EventItem] = (),
    channel: str = "",
) -> OrderOutcome:
    """Record an order and award its points by the order rules; a retry with the same body
    writes nothing.

    ``completed_at`` is in unix seconds. ``items`` (their price x quantity at most
    ``total_cost``) and ``channel`` are what rules may look at. A repeated order_id,
    sequential or racing, meets the primary key: that transaction rolls back whole, and the
    request answers from the recorded order (a retry) or with OrderConflict (a different body).
    """
    _items_check(items, total_cost=total_cost)
    completed = datetime.fromtimestamp(completed_at, tz=UTC)
    try:
        return _order_create(
            order_id=order_id,
            user_id=user_id,
            total_cost=total_cost,
            completed_at=completed,
            items=items,
            channel=channel,
            app=app,
        )
    except IntegrityError:
        existing = _existing_order(
            order_id=order_id,
            user_id=user_id,
            total_cost=total_cost,
            completed_at=completed,
            items=_items_stored(items),
            channel=channel,
        )
        if existing is None:
            raise
        first = existing.awards.first()
        if first is None:  # imported: its points came with the customer's balance
            return OrderOutcome(order=existing, created=False, available_at=existing.completed_at)
        lot = PointLot.objects.get(credit_id=first.credit_id)
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


def order_points_taken_back(points: int, *, returned_cost: int, total_cost: int) -> int:
    """floor(points * returned_cost / total_cost): what returns of ``returned_cost`` in all
    take back of an award of ``points``, so partial returns never take back more than a whole
    one, and a whole return takes back every award exactly."""
    if total_cost == 0:
        return 0
    return points * returned_cost // total_cost


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
    returned_before = order.returned_cost
    order.returned_cost += cost
    # Each award gives back floor(award x returned cost so far / total_cost) in all. An
    # imported order has no awards: its points came over in the imported balance, available.
    shares = _awards_of(order)
    takes = []
    qualifying_takes = []
    for user_id, credit_id, points, qualifying in shares or [(order.user_id, None, order.points_awarded, False)]:
        take = _share(points, order, order.returned_cost) - _share(points, order, returned_before)
        if take:
            takes.append((user_id, credit_id, take))
            if qualifying:
                qualifying_takes.append((credit_id, take))
    if len({user_id for user_id, _, _ in takes}) > 1:
        # A referred customer's first order took back from its referrer too: as when it was
        # recorded, both accounts are locked in user_id order first.
        accounts_lock(user_id for user_id, _, _ in takes)
    take = sum(points for user_id, _, points in takes if user_id == order.user_id)
    order.points_taken_back += take
    description = f"Order {order_id} returned" + ("" if order.is_fully_returned else " in part")
    postings = [
        _take_back(order, user_id, credit_id, points, description=description, app=app, first=index == 0)
        for index, (user_id, credit_id, points) in enumerate(takes)
    ]
    # What those awards counted toward the tiers goes down as much (tier awards never counted).
    qualifying_take_back(qualifying_takes)
    # And what the order counted toward challenges, in the periods that counted it.
    challenges.order_returned(
        user_id=order.user_id, order_id=order_id, cost=cost, whole=order.is_fully_returned, app=app
    )
    own = [posting for posting in postings if posting.reward.user_id == order.user_id]
    if own:
        order.return_reward = own[-1].reward
        balance = own[-1].balance
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


_AWARDS_OF = f"""
    SELECT a.user_id, a.credit_id, a.points, q.credit_id IS NOT NULL
    FROM {OrderAward._meta.db_table} a LEFT JOIN {QualifyingCredit._meta.db_table} q ON q.credit_id = a.credit_id
    WHERE a.order_id = %s ORDER BY a.id
"""


def _awards_of(order: Order) -> list[tuple[int, int, int, bool]]:
    """(user_id, credit_id, points, counted toward the tiers) of each of the order's awards;
    read by hand, as they are written (the hot path)."""
    with connection.cursor() as cursor:
        cursor.execute(_AWARDS_OF, [order.order_id])
        return cursor.fetchall()


def _share(points: int, order: Order, returned_cost: int) -> int:
    return order_points_taken_back(points, returned_cost=returned_cost, total_cost=order.total_cost)


def _take_back(
    order: Order,
    user_id: int,
    credit_id: int | None,
    points: int,
    *,
    description: str,
    app: Application | None,
    first: bool,
) -> Posting:
    """One award's share of a return: pending points are cancelled in the award's own lot,
    available ones taken back (an imported order's, from the available balance). The first
    row of a return writes ``order.returned``, the others ``points.redeemed``."""
    details = {
        "points": points,
        "kind": RewardKind.ORDER_RETURN,
        "description": description,
        "app": app,
        "event_extra": _return_event(order, points),
    }
    if credit_id is None:
        return points_take_back(user_id=user_id, **details)
    event_type = None if first else EventType.POINTS_REDEEMED
    return credit_take_back(user_id=user_id, credit_id=credit_id, event_type=event_type, **details)
