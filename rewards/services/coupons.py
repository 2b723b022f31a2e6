"""A coupon after its redemption: its use, its void and its expiry.

A use, a void and the expiry job each take the coupon's row lock first (``_coupon_locked``, or
the job's ``SELECT … FOR UPDATE SKIP LOCKED``) and check its ``state`` there, so exactly one of
them wins. A void, and an expiry with ``COUPON_EXPIRY_REFUND`` on, give the coupon's points back
through the ledger (``points_refund``), with the unit and the customer's count of its catalog
item; the locks are then taken in the order a redemption takes them (item, count, account:
``catalog_take.py``).

The expiry job reads only active coupons past their date (a partial index), in batches locked
with ``SKIP LOCKED`` (a use or a void of the same coupon waits for it, or it for them), and marks
each in its own savepoint: idempotent, and safe beside itself and the API.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from core.exceptions import DomainError
from rewards.errors import CouponAlreadyUsed, CouponExpired, CouponNotActive, CouponNotFound, CouponUsed, NotVoidable
from rewards.models import (
    DESCRIPTION_MAX_LENGTH,
    CatalogKind,
    EventType,
    LotConsumption,
    PointLot,
    RedeemedItem,
    RedeemedItemState,
    Reward,
)
from rewards.services.events import event_record
from rewards.services.ledger import Posting, points_refund
from rewards.shapes import redeemed_item_fields

logger = logging.getLogger(__name__)


# ---- a use --------------------------------------------------------------------------------------


def _coupon_locked(item_code: str) -> RedeemedItem:
    """The coupon, its row locked until commit: a use, a void and the expiry job take it first,
    so exactly one of them wins."""
    item = (
        RedeemedItem.objects.select_for_update(of=("self",))
        .select_related("reward")
        .filter(item_code=item_code)
        .first()
    )
    if item is None:
        raise CouponNotFound()
    return item


@transaction.atomic
def coupon_use(*, item_code: str, app: Model | None = None) -> RedeemedItem:
    """Mark a coupon used: refused once used, voided or expired (its valid_until passed, even
    before the expiry job marks it)."""
    item = _coupon_locked(item_code)
    if item.kind != CatalogKind.COUPON:
        raise CouponNotFound()
    if item.state == RedeemedItemState.USED:
        raise CouponAlreadyUsed()
    if item.state != RedeemedItemState.ACTIVE:
        raise CouponNotActive()
    if coupon_past_date(item, now=timezone.now()):
        raise coupon_expired_error(item)
    Reward.objects.filter(pk=item.reward_id).update(is_active=False)
    RedeemedItem.objects.filter(pk=item.pk).update(state=RedeemedItemState.USED)
    item.reward.is_active, item.state = False, RedeemedItemState.USED
    event_record(
        type=EventType.COUPON_USED,
        user_id=item.reward.user_id,
        now=timezone.now(),
        app=app,
        reward=item.reward,
        extra={"item": redeemed_item_fields(item)},
    )
    return item


# ---- a void -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refunded:
    """A coupon voided (or expired and refunded): the refund row, the balance after, and the
    points that came back already expired."""

    item: RedeemedItem
    posting: Posting
    points_expired: int

    @property
    def points_refunded(self) -> int:
        return self.posting.reward.points_earned


def coupon_refund(item: RedeemedItem, *, state: str, reason: str, event_type: str, app: Model | None) -> Refunded:
    """Give a coupon's points back to the lots they came from (``points_refund``); the caller
    holds the coupon's row lock and has checked it is active."""
    verb = "voided" if state == RedeemedItemState.VOIDED else "expired"
    posting, points_expired = points_refund(
        item_id=item.pk,
        state=state,
        reason=reason,
        description=f"Coupon {item.item_code} {verb}: {reason}",
        event_type=event_type,
        app=app,
    )
    item.state, item.refund, item.refund_reason = state, posting.reward, reason[:DESCRIPTION_MAX_LENGTH]
    item.reward.is_active = False
    return Refunded(item=item, posting=posting, points_expired=points_expired)


def _lots_gave(debit: Reward) -> int:
    """What the customer's lots gave a debit (an imported one may have been partly owed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(c.points), 0) FROM {LotConsumption._meta.db_table} c"
            f" JOIN {PointLot._meta.db_table} l ON l.id = c.lot_id WHERE l.user_id = %s AND c.debit_id = %s",
            [debit.user_id, debit.pk],
        )
        return cursor.fetchone()[0]


@transaction.atomic
def coupon_void(*, item_code: str, reason: str, app: Model | None) -> Refunded:
    """Cancel an unused coupon: its points go back to the very lots they came from, with those
    lots' own expiry dates (a part whose lot expired meanwhile expires at once), and the unit
    and the customer's count go back to its catalog item. A used coupon, one already voided or
    expired, and a donation are refused; two racing voids give back once (the coupon's lock).

    A coupon past its valid_until is expired, so a void does to it what the expiry job would
    (``coupon_expire``): with ``COUPON_EXPIRY_REFUND`` on, its points back as the job gives
    them (state ``expired``); off, 409 ``coupon_expired``, as a use says, writing nothing."""
    item = _coupon_locked(item_code)
    if item.kind != CatalogKind.COUPON:
        raise NotVoidable()
    if item.reward.imported_from and _lots_gave(item.reward) != item.reward.points_redeemed:
        raise NotVoidable(
            "This imported coupon's points were not all taken from lots, so they cannot go back to them; "
            "adjust the customer's points instead."
        )
    if item.state == RedeemedItemState.USED:
        raise CouponUsed()
    if item.state != RedeemedItemState.ACTIVE:
        raise CouponNotActive()
    now = timezone.now()
    if coupon_past_date(item, now=now):
        if not settings.COUPON_EXPIRY_REFUND:
            raise coupon_expired_error(item)  # the job marks it expired, keeping its points
        return coupon_expire(item, now=now, app=app)
    return coupon_refund(
        item, state=RedeemedItemState.VOIDED, reason=reason, event_type=EventType.COUPON_VOIDED, app=app
    )


# ---- a coupon past its date ---------------------------------------------------------------------

COUPON_EXPIRED_REASON = "its validity ended"


def coupon_past_date(item: RedeemedItem, *, now: datetime) -> bool:
    """An active coupon whose valid_until has come is expired, whether or not the expiry job
    has marked it yet: a use and a void ask here, and the job finds its coupons by the same
    test as a query (``valid_until <= now``)."""
    return item.valid_until is not None and now >= item.valid_until


def coupon_expired_error(item: RedeemedItem) -> CouponExpired:
    return CouponExpired(f"This coupon expired on {item.valid_until:%Y-%m-%d %H:%M} UTC.")


def coupon_expire(item: RedeemedItem, *, now: datetime, app: Model | None) -> Refunded | None:
    """Expire an active coupon past its date, as ``COUPON_EXPIRY_REFUND`` says: on, its points
    go back as a void gives them (``Refunded``, state ``expired``); off, it is only marked
    (None), keeping its points and its unit. ``coupon.expired`` either way. The caller holds
    the coupon's row lock: the expiry job, and a void that finds the coupon past its date."""
    if settings.COUPON_EXPIRY_REFUND:
        return coupon_refund(
            item,
            state=RedeemedItemState.EXPIRED,
            reason=COUPON_EXPIRED_REASON,
            event_type=EventType.COUPON_EXPIRED,
            app=app,
        )
    RedeemedItem.objects.filter(pk=item.pk).update(state=RedeemedItemState.EXPIRED)
    Reward.objects.filter(pk=item.reward_id).update(is_active=False)
    item.state, item.reward.is_active = RedeemedItemState.EXPIRED, False
    event_record(
        type=EventType.COUPON_EXPIRED,
        user_id=item.reward.user_id,
        now=now,
        app=app,
        reward=item.reward,
        extra={"item": redeemed_item_fields(item), "reason": COUPON_EXPIRED_REASON},
    )
    return None


# ---- the expiry job -----------------------------------------------------------------------------

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


# ---- about to expire ----------------------------------------------------------------------------


def coupons_notice(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Active coupons whose ``valid_until`` comes within COUPON_NOTICE_DAYS: one
    ``coupon.expiring_soon`` event each, once (``expiry_notice_at``), which writes the customer's
    "about to expire" message. Read by a partial index; batches locked ``SKIP LOCKED`` like the
    expiry job's, so a use or a void of the same coupon waits for it. Returns how many."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.COUPON_NOTICE_DAYS)
    noticed = 0
    while True:
        with transaction.atomic():
            batch = list(
                RedeemedItem.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("reward")
                .filter(
                    kind=CatalogKind.COUPON,
                    state=RedeemedItemState.ACTIVE,
                    expiry_notice_at__isnull=True,
                    valid_until__gt=now,
                    valid_until__lte=horizon,
                )
                .order_by("valid_until", "id")[:batch_size]
            )
            for item in batch:
                item.expiry_notice_at = now
                event_record(
                    type=EventType.COUPON_EXPIRING_SOON,
                    user_id=item.reward.user_id,
                    now=now,
                    extra={"item": redeemed_item_fields(item)},
                )
            RedeemedItem.objects.bulk_update(batch, ["expiry_notice_at"])
        noticed += len(batch)
        if len(batch) < batch_size:
            return noticed
