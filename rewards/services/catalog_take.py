"""What a redemption takes of its catalog item: a unit of its stock and one of the customer's
redemptions in its limit period, the writes of what a customer may redeem (the reads are
``redeemable.py``). The SQL is ``catalog_take`` and ``catalog_give_back`` (rewards/sql/catalog.sql).

Both are taken in the redemption's own transaction, under row locks, so a refused or failed debit
gives them back by rolling back, and racing redemptions never pass the stock or the limit.

Lock order, the same on every path, so nothing waits in a circle:

1. the catalog item's row, when it has a stock (the conditional ``UPDATE`` of ``units_out``),
2. the customer's count row for the item and period, when it has a limit (the upsert
   ``WHERE count < limit``),
3. the customer's account row (the posting's ledger function, ``ledger_debit``).

A void (and a refunded expiry) takes the coupon's row first (``coupons.py``), then the same three
in the same order: ``ledger_refund`` gives back the unit and the count (``catalog_give_back``)
before it locks the account. Staff editing an item take its row alone.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection

from rewards.errors import OutOfStock, RedemptionLimitReached
from rewards.models import CatalogItem
from rewards.program.engine import period_start


@dataclass(frozen=True)
class Taken:
    """What a redemption took of its catalog item, for a void to give back."""

    stock_counted: bool = False
    limit_period: str = ""
    limit_period_start: date | None = None


def catalog_counted(item: CatalogItem) -> bool:
    """Whether a redemption of the item takes anything of it: a stock or a per-customer limit."""
    return item.stock is not None or item.per_customer_limit is not None


def catalog_take(item: CatalogItem, *, user_id: int, now: datetime) -> Taken:
    """A unit of the item's stock and one of the customer's redemptions in its limit period,
    under their row locks (``catalog_take``), in the redemption's transaction."""
    if not catalog_counted(item):
        return Taken()
    period = item.limit_period
    start = period_start(now, period) if item.per_customer_limit is not None else None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT catalog_take(%s, %s, %s, %s, %s, %s)",
            [item.pk, user_id, item.stock is not None, item.per_customer_limit, period, start],
        )
        outcome = cursor.fetchone()[0]
    if outcome == "out_of_stock":
        raise OutOfStock()
    if outcome == "limit_reached":
        every = "in all" if period == "ever" else f"a {period}"
        raise RedemptionLimitReached(f"This reward can be redeemed {item.per_customer_limit} time(s) {every}.")
    return Taken(
        stock_counted=item.stock is not None,
        limit_period=period if start is not None else "",
        limit_period_start=start,
    )
