"""Customer attributes: read them, merge changes into them (``rewards.segments.attributes``
says what is valid). A merge holds the customer's account row lock (creating the account: a
customer with attributes is a customer segments can find), so two merges for one customer
apply one after the other and neither loses the other's keys."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from rewards.models import CustomerAttributes
from rewards.segments.attributes import attributes_merged
from rewards.services.ledger import accounts_lock


def attributes_read(*, user_id: int) -> dict[str, Any]:
    """The customer's attributes ({} when none were set)."""
    row = CustomerAttributes.objects.filter(user_id=user_id).only("attributes").first()
    return dict(row.attributes) if row else {}


@transaction.atomic
def attributes_merge(*, user_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` into the customer's attributes (a null removes its key) and answer them
    all; a bad key or value, or more than 50 keys after, writes nothing (``InvalidInput``)."""
    accounts_lock([user_id])
    row = CustomerAttributes.objects.select_for_update().filter(user_id=user_id).first()
    merged = attributes_merged(row.attributes if row else {}, changes)
    if row is None:
        CustomerAttributes.objects.create(user_id=user_id, attributes=merged, updated_at=timezone.now())
    elif merged != row.attributes:
        row.attributes, row.updated_at = merged, timezone.now()
        row.save(update_fields=["attributes", "updated_at"])
    return merged
