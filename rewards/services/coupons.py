"""The coupon expiry job: coupons whose valid_until has passed are marked expired, and with
``COUPON_EXPIRY_REFUND`` on, their points go back as a void gives them (to the lots they came
from, the unit and the customer's count with them).

It reads only active coupons past their date (a partial index), in batches locked with
``SKIP LOCKED`` (a use or a void of the same coupon waits for it, or it for them), and marks
each in its own savepoint: idempotent, and safe beside itself and the API.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from core.exceptions import DomainError
from rewards.models import CatalogKind, RedeemedItem, RedeemedItemState
from rewards.services.ledger import coupon_expire

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


@dataclass
class CouponsReport:
    expired: int = 0
    refunded_points: int = 0
    failed: set[int] = field(default_factory=set)


def _due(now: datetime):
    # ``coupon_past_date`` as a query: the partial index's active coupons, valid_until come.
    return RedeemedItem.objects.filter(
        kind=CatalogKind.COUPON, state=RedeemedItemState.ACTIVE, valid_until__lte=now
    ).order_by("valid_until", "id")


def coupons_expire(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> CouponsReport:
    now = now or timezone.now()
    report = CouponsReport()
    while True:
        with transaction.atomic():
            batch = list(
                _due(now)
                .exclude(id__in=report.failed)
                .select_related("reward")
                .select_for_update(of=("self",), skip_locked=True)[:batch_size]
            )
            for item in batch:
                _expire(item, now=now, report=report)
        if len(batch) < batch_size:
            break
    return report


def _expire(item: RedeemedItem, *, now: datetime, report: CouponsReport) -> None:
    try:
        with transaction.atomic():
            refunded = coupon_expire(item, now=now, app=None)
            if refunded is not None:
                report.refunded_points += refunded.points_refunded
    except DomainError:
        logger.exception("Coupon %s not expired", item.item_code)
        report.failed.add(item.pk)
        return
    report.expired += 1
