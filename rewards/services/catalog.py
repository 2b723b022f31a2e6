"""The catalog as staff manage it (``loyalty-api/catalog``, admin). What each caller sees of it
(every active item to an application; to a customer session, only what their tier and today's
date allow, with how many more they may redeem) is ``redeemable.py``.

Editing an item never changes coupons already issued (each keeps its own ``valid_until``), and
deactivating one leaves its coupons valid until then.
"""

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from rewards.errors import CatalogItemConflict, CatalogItemNotFound, InvalidInput
from rewards.models import CatalogItem
from rewards.segments.membership import segments_unknown
from rewards.serializers import CatalogInput

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
    "segment_codes",
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
    unknown = segments_unknown(valid.get("segment_codes", []))
    if unknown:
        raise InvalidInput(fields={"segment_codes": [f"No segment has the code {code!r}." for code in unknown]})
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
