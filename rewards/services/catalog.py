"""The catalog as staff manage it (``loyalty-api/catalog``, admin). What each caller sees of it
(every active item to an application; to a customer session, only what their tier and today's
date allow, with how many more they may redeem) is ``redeemable.py``.

Editing an item never changes coupons already issued (each keeps its own ``valid_until``), and
deactivating one leaves its coupons valid until then.
"""

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from core.limits import MAX_POINTS_PER_ENTRY
from core.validation import (
    Boolean,
    Choice,
    DateTime,
    Integer,
    Invalid,
    ListOf,
    Object,
    Text,
    money,
    plain_errors,
    visible_text,
)
from rewards.errors import CatalogItemConflict, CatalogItemInvalid, CatalogItemNotFound
from rewards.models import DESCRIPTION_MAX_LENGTH, CapPeriod, CatalogItem, CatalogKind

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


MAX_CATALOG_COUNT = 1_000_000_000
MAX_TIER_CODES = 20


def _catalog_whole(item: dict[str, Any]) -> dict[str, Any]:
    start, end = item.get("available_from"), item.get("available_until")
    if start and end and start >= end:
        raise Invalid({"available_until": ["Must be after available_from."]})
    if item.get("coupon_valid_days") and item["kind"] != CatalogKind.COUPON:
        raise Invalid({"coupon_valid_days": ["Only a coupon has a validity."]})
    if len(set(item.get("tier_codes", []))) != len(item.get("tier_codes", [])):
        raise Invalid({"tier_codes": ["Each tier once."]})
    return item


# A catalog item as staff set it (``loyalty-api/catalog`` and admin).
CATALOG_ITEM = Object(
    {
        "kind": Choice(CatalogKind.choices),
        "points_cost": Integer(min_value=1, max_value=MAX_POINTS_PER_ENTRY),
        "amount": money(),
        "description": visible_text(max_length=DESCRIPTION_MAX_LENGTH),
        "active": Boolean(default=True),
        "stock": Integer(min_value=0, max_value=MAX_CATALOG_COUNT, allow_null=True, default=None),
        "per_customer_limit": Integer(min_value=1, max_value=MAX_CATALOG_COUNT, allow_null=True, default=None),
        "limit_period": Choice(CapPeriod.choices, default=CapPeriod.EVER),
        "available_from": DateTime(allow_null=True, default=None),
        "available_until": DateTime(allow_null=True, default=None),
        "tier_codes": ListOf(Text(max_length=30), max_length=MAX_TIER_CODES, default=list),
        "coupon_valid_days": Integer(min_value=1, max_value=36_500, allow_null=True, default=None),
    },
    whole=_catalog_whole,
    nul_refused=True,
)


def catalog_item_validated(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A catalog item's definition as the API takes it, checked whole, or ``CatalogItemInvalid``
    naming what is wrong."""
    try:
        return CATALOG_ITEM.validate(definition)
    except Invalid as error:
        raise CatalogItemInvalid(fields=plain_errors(error.detail)) from None


def _validated(definition: Mapping[str, Any]) -> dict[str, Any]:
    valid = catalog_item_validated(dict(definition))
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
    """A new catalog item from a definition ``CATALOG_ITEM`` accepts (else a 400 naming what
    is wrong); an active one priced like another active one of its kind is a 409."""
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
