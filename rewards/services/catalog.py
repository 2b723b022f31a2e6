"""The catalog as staff manage it (``loyalty-api/catalog``, admin) and as each caller sees it:
every active item with its stock left to an application; to a customer session, only what
their tier and today's date allow, with how many more they may redeem.

Editing an item never changes coupons already issued (each keeps its own ``valid_until``), and
deactivating one leaves its coupons valid until then.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from rewards.errors import CatalogItemConflict, CatalogItemNotFound
from rewards.models import CatalogItem, CatalogRedemptionCount
from rewards.program import period_start
from rewards.serializers import CatalogInput
from rewards.services.ledger import catalog_item_refusal, customer_tier_code

# What a catalog item's definition holds, as the API takes it ("active" is the model's is_active).
CATALOG_FIELDS = (
    "kind",
    "points_cost",
    "amount",
    "description",
    "active",
    "stock",
    "per_customer_limit",
    "limit_period",
    "available_from",
    "available_until",
    "tier_codes",
    "coupon_valid_days",
)


def catalog_definition(item: CatalogItem) -> dict[str, Any]:
    definition = {name: getattr(item, name) for name in CATALOG_FIELDS if name != "active"}
    definition["active"] = item.is_active
    return definition


def _validated(definition: Mapping[str, Any]) -> dict[str, Any]:
    serializer = CatalogInput(data=dict(definition))
    serializer.is_valid(raise_exception=True)
    valid = dict(serializer.validated_data)
    valid["is_active"] = valid.pop("active")
    return valid


def _saved(item: CatalogItem) -> CatalogItem:
    try:
        with transaction.atomic():
            item.save()
    except IntegrityError:
        raise CatalogItemConflict() from None
    return item


def catalog_item_create(*, definition: Mapping[str, Any]) -> CatalogItem:
    """A new catalog item from a definition ``CatalogInput`` accepts (else a 400 naming
    what is wrong); an active one priced like another active one of its kind is a 409."""
    return _saved(CatalogItem(**_validated(definition)))


@transaction.atomic
def catalog_item_edit(*, item_id: int, changes: Mapping[str, Any]) -> CatalogItem:
    """Apply ``changes`` to the item as it is now (under its row lock: a redemption taking a unit
    waits), the whole result validated. Its units out stay as they are: lowering the stock
    below them leaves none to redeem."""
    item = CatalogItem.objects.select_for_update().filter(pk=item_id).first()
    if item is None:
        raise CatalogItemNotFound()
    for name, value in _validated({**catalog_definition(item), **changes}).items():
        setattr(item, name, value)
    return _saved(item)


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
