"""The jobs that move time forward for lots: pending points become available, expired
points are debited, lots entering the expiry notice window are marked.

Each pass reads only the lots that are due, through a partial index, in batches ordered by
(due time, id) with a keyset, so a pass costs O(lots due), not O(all lots). A batch locks the
accounts of its customers with ``SELECT ... FOR UPDATE SKIP LOCKED``: a customer whose account
is busy (an API call, another run of this job) is left for the next pass, and everything done
to a lot is re-checked under its account's lock, so two runs at once do each lot once and the
jobs are idempotent.
"""

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from core.limits import MAX_BIGINT
from rewards.models import Account, EventType, PointLot, RewardKind
from rewards.selectors import Balance
from rewards.services.events import event_record
from rewards.services.ledger import (
    account_save,
    lot_make_available,
    next_available,
    next_expiry,
    notice_horizon,
    reward_create,
)
from rewards.shapes import iso

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
_ACCOUNT_FIELDS = (
    "total_points_earned",
    "total_points_redeemed",
    "pending_points",
    "points_owed",
    "expiring_points",
    "next_expiry_at",
    "next_available_at",
)


@dataclass
class PassResult:
    done: int = 0
    skipped: int = 0  # lots of customers busy at the time; the next pass takes them
    customers: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class LifecycleReport:
    released: PassResult
    expired: PassResult
    noticed: PassResult


def lot_fields(lot: PointLot) -> dict:
    """A lot as events show it."""
    return {
        "id": lot.pk,
        "credit_id": lot.credit_id,
        "points": lot.points,
        "remaining": lot.remaining,
        "available_at": iso(lot.available_at),
        "expires_at": iso(lot.expires_at),
    }


def _due_release(now: datetime) -> tuple[QuerySet[PointLot], str]:
    return PointLot.objects.filter(pending=True, remaining__gt=0, available_at__lte=now), "available_at"


def _due_expiry(now: datetime) -> tuple[QuerySet[PointLot], str]:
    return PointLot.objects.filter(pending=False, remaining__gt=0, expires_at__lte=now), "expires_at"


def _due_notice(now: datetime) -> tuple[QuerySet[PointLot], str]:
    lots = PointLot.objects.filter(
        pending=False,
        remaining__gt=0,
        notice_at__isnull=True,
        expires_at__isnull=False,
        expires_at__lte=notice_horizon(now),
    )
    return lots, "expires_at"


def _release(account: Account, lots: list[PointLot], now: datetime) -> int:
    """Pending lots whose time has come: a ``release`` row moves their points from pending to
    available, where they first pay what the customer owes.

    ``lots`` come soonest first, so after each the next pending date is the following lot's
    (one query for the last); ``lot_make_available`` keeps the next expiry.
    """
    done = 0
    held_back = None  # the soonest lot left pending because its total would overflow
    for index, lot in enumerate(lots):
        points = lot.remaining
        if account.total_points_earned > MAX_BIGINT - points:
            logger.warning("Lot %s not released: customer %s's total would overflow", lot.pk, lot.user_id)
            held_back = held_back or lot.available_at
            continue
        reward = reward_create(
            user_id=lot.user_id,
            kind=RewardKind.RELEASE,
            earned=points,
            pending=-points,
            description=f"Now available: {lot.credit.reward_description}",
            app=None,
            now=now,
        )
        account.total_points_earned += points
        account.pending_points -= points
        lot.pending = False
        PointLot.objects.filter(pk=lot.pk).update(pending=False)
        lot_make_available(account, lot, now=now)
        following = lots[index + 1].available_at if index + 1 < len(lots) else next_available(account.user_id)
        account.next_available_at = min((d for d in (held_back, following) if d is not None), default=None)
        event_record(
            type=EventType.POINTS_AVAILABLE,
            user_id=lot.user_id,
            now=now,
            reward=reward,
            balance=Balance.of(account),
            extra={"lot": lot_fields(lot)},
        )
        done += 1
    return done


def _expire(account: Account, lots: list[PointLot], now: datetime) -> int:
    """Expired lots: what is left of each is debited with an ``expiry`` row. ``lots`` come
    soonest first, so after each the next expiry is the following lot's (one query for the last)."""
    for index, lot in enumerate(lots):
        points = lot.remaining
        reward = reward_create(
            user_id=lot.user_id,
            kind=RewardKind.EXPIRY,
            redeemed=points,
            description=f"Expired: {lot.credit.reward_description}",
            app=None,
            now=now,
        )
        account.total_points_redeemed += points
        if lot.notice_at is not None:
            account.expiring_points -= points
        PointLot.objects.filter(pk=lot.pk).update(remaining=0, expired_points=F("expired_points") + points)
        lot.remaining, lot.expired_points = 0, lot.expired_points + points
        account.next_expiry_at = lots[index + 1].expires_at if index + 1 < len(lots) else next_expiry(account.user_id)
        event_record(
            type=EventType.POINTS_EXPIRED,
            user_id=lot.user_id,
            now=now,
            reward=reward,
            balance=Balance.of(account),
            extra={"lot": lot_fields(lot)},
        )
    return len(lots)


def _notice(account: Account, lots: list[PointLot], now: datetime) -> int:
    """Lots entering the notice window: their points now count as expiring soon."""
    for lot in lots:
        account.expiring_points += lot.remaining
        lot.notice_at = now
    PointLot.objects.filter(pk__in=[lot.pk for lot in lots]).update(notice_at=now)
    # One notice per customer and pass, naming the lots that entered the window.
    event_record(
        type=EventType.POINTS_EXPIRING_SOON,
        user_id=account.user_id,
        now=now,
        balance=Balance.of(account),
        extra={"lots": [lot_fields(lot) for lot in lots]},
    )
    return len(lots)


def _run_pass(
    due: tuple[QuerySet[PointLot], str],
    handle: Callable[[Account, list[PointLot], datetime], int],
    *,
    now: datetime,
    batch_size: int,
) -> PassResult:
    lots, time_field = due
    result = PassResult()
    last: tuple[datetime, int] | None = None
    while True:
        page = lots.order_by(time_field, "id")
        if last is not None:
            page = page.filter(Q(**{f"{time_field}__gt": last[0]}) | Q(**{time_field: last[0], "id__gt": last[1]}))
        batch = list(page.values_list("id", "user_id", time_field)[:batch_size])
        if not batch:
            return result
        last = (batch[-1][2], batch[-1][0])
        with transaction.atomic():
            accounts = {
                account.user_id: account
                for account in Account.objects.select_for_update(skip_locked=True).filter(
                    user_id__in={user_id for _, user_id, _ in batch}
                )
            }
            # Re-read under the locks: a lot another run (or a debit) already moved is no longer due.
            locked_lots = lots.filter(id__in=[lot_id for lot_id, user_id, _ in batch if user_id in accounts])
            by_customer: dict[int, list[PointLot]] = defaultdict(list)
            for lot in locked_lots.select_related("credit").order_by(time_field, "id"):
                by_customer[lot.user_id].append(lot)
            for user_id, customer_lots in by_customer.items():
                account = accounts[user_id]
                result.done += handle(account, customer_lots, now)
                result.customers.add(user_id)
                account_save(account, *_ACCOUNT_FIELDS, now=now)
        result.skipped += sum(1 for _, user_id, _ in batch if user_id not in accounts)


def points_lifecycle_run(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> LifecycleReport:
    """One pass of every job: release what is due, expire what is due, mark what enters the
    notice window. Releasing first means a lot that is both due and long expired goes out
    in the same run."""
    now = now or timezone.now()
    return LifecycleReport(
        released=_run_pass(_due_release(now), _release, now=now, batch_size=batch_size),
        expired=_run_pass(_due_expiry(now), _expire, now=now, batch_size=batch_size),
        noticed=_run_pass(_due_notice(now), _notice, now=now, batch_size=batch_size),
    )
