"""What a customer may redeem: the reads. An item is redeemable between its dates, by the tiers it
names (any customer when it names none), while its stock lasts and until the customer's count in
its limit period reaches its limit.

Dates and tiers are decided here, once, for a redemption (``catalog_item_check``, before anything
is written) and for what a customer is shown (``catalog_shown``). Stock and limits are decided
where they are taken, under their row locks (``catalog_take.py``): what this module reads of the
counts only shows a customer how many more they may redeem. Nothing here writes or locks.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from core.exceptions import Conflict
from rewards.errors import NotAvailable, TierRequired
from rewards.models import CatalogItem, CatalogRedemptionCount
from rewards.program.engine import period_start
from rewards.services.tiers import tier_view


def catalog_item_refusal(item: CatalogItem, *, tier: str | None, now: datetime) -> Conflict | None:
    """Why a customer of ``tier`` (None: no ladder) may not redeem ``item`` now, if they may not:
    its dates or its tiers. The one rule of both a redemption and what a customer is shown."""
    if (item.available_from and now < item.available_from) or (item.available_until and now >= item.available_until):
        return NotAvailable()
    if item.tier_codes and tier not in item.tier_codes:
        return TierRequired(
            f"This reward is for customers of the tiers {', '.join(item.tier_codes)}.",
            fields={"points_redeemed": ["The customer's tier may not redeem it."]},
        )
    return None


def customer_tier_code(user_id: int, *, now: datetime) -> str | None:
    view = tier_view(user_id, now=now)
    return view.tier.code if view else None


def catalog_item_check(item: CatalogItem, *, user_id: int, now: datetime) -> None:
    """Refuse a redemption the item's dates or tiers do not allow (409, nothing written); the
    customer's tier is read only for an item that names tiers."""
    tier = customer_tier_code(user_id, now=now) if item.tier_codes else None
    refusal = catalog_item_refusal(item, tier=tier, now=now)
    if refusal is not None:
        raise refusal


# ---- what a caller sees ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    item: CatalogItem
    limit_left: int | None  # to a customer session, for an item with a limit


def catalog_shown(*, customer_user_id: int | None, now: datetime | None = None) -> list[Shown]:
    """The active catalog. To a customer session (``customer_user_id``), only the items today's
    date and their tier allow, each with how many more they may redeem in its limit period."""
    items = CatalogItem.objects.active()
    if customer_user_id is None:
        return [Shown(item=item, limit_left=None) for item in items]
    now = now or timezone.now()
    tier = customer_tier_code(customer_user_id, now=now)
    shown = [item for item in items if catalog_item_refusal(item, tier=tier, now=now) is None]
    used = _redeemed_counts(customer_user_id, [item for item in shown if item.per_customer_limit is not None], now)
    return [
        Shown(
            item=item,
            limit_left=None
            if item.per_customer_limit is None
            else max(item.per_customer_limit - used.get(item.pk, 0), 0),
        )
        for item in shown
    ]


def _redeemed_counts(user_id: int, items: list[CatalogItem], now: datetime) -> dict[int, int]:
    """The customer's count in each item's current limit period, in one read."""
    if not items:
        return {}
    keys = Q()
    for item in items:
        keys |= Q(catalog_item=item, period=item.limit_period, period_start=period_start(now, item.limit_period))
    rows = CatalogRedemptionCount.objects.filter(keys, user_id=user_id).values_list("catalog_item_id", "count")
    return dict(rows)
