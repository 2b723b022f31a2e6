"""The jobs that move time forward for lots: pending points become available, expired
points are debited, lots entering the expiry notice window are marked.

Each pass reads only the lots that are due, through a partial index, in batches ordered by
(due time, id) with a keyset, so a pass costs O(lots due), not O(all lots). A batch locks the
accounts of its customers with ``SELECT ... FOR UPDATE SKIP LOCKED``: a customer whose account
is busy (an API call, another run of this job) is left for the next pass, and everything done
to a lot is re-checked under its account's lock, so two runs at once do each lot once and the
jobs are idempotent. What a job does to a customer's due lots is a ledger function's
(``ledger_release``, ``ledger_expire``, ``ledger_notice``), like every other posting.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from rewards.models import Account, PointLot
from rewards.services.events import announce_committed
from rewards.services.ledger import ledger_call, notice_horizon

BATCH_SIZE = 500


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


@dataclass(frozen=True)
class _Job:
    """Which lots are due, in which order, and the ledger function that moves a customer's."""

    lots: QuerySet[PointLot]
    time_field: str
    function: str
    with_horizon: bool


def _due_release(now: datetime) -> _Job:
    """Pending lots whose time has come: a ``release`` row makes their points available, where
    they first pay what the customer owes."""
    lots = PointLot.objects.filter(pending=True, remaining__gt=0, available_at__lte=now)
    return _Job(lots, "available_at", "ledger_release", with_horizon=True)


def _due_expiry(now: datetime) -> _Job:
    """Expired lots: what is left of each is debited with an ``expiry`` row."""
    lots = PointLot.objects.filter(pending=False, remaining__gt=0, expires_at__lte=now)
    return _Job(lots, "expires_at", "ledger_expire", with_horizon=False)


def _due_notice(now: datetime) -> _Job:
    """Lots entering the notice window: their points now count as expiring soon (one
    ``points.expiring_soon`` per customer and pass)."""
    lots = PointLot.objects.filter(
        pending=False,
        remaining__gt=0,
        notice_at__isnull=True,
        expires_at__isnull=False,
        expires_at__lte=notice_horizon(now),
    )
    return _Job(lots, "expires_at", "ledger_notice", with_horizon=True)


def _run_pass(job: _Job, *, now: datetime, batch_size: int) -> PassResult:
    result = PassResult()
    last: tuple[datetime, int] | None = None
    while True:
        page = job.lots.order_by(job.time_field, "id")
        if last is not None:
            page = page.filter(
                Q(**{f"{job.time_field}__gt": last[0]}) | Q(**{job.time_field: last[0], "id__gt": last[1]})
            )
        batch = list(page.values_list("id", "user_id", job.time_field)[:batch_size])
        if not batch:
            return result
        last = (batch[-1][2], batch[-1][0])
        lots_by_customer: dict[int, list[int]] = defaultdict(list)
        for lot_id, user_id, _ in batch:
            lots_by_customer[user_id].append(lot_id)
        with transaction.atomic():
            locked = Account.objects.select_for_update(skip_locked=True).filter(user_id__in=lots_by_customer)
            for user_id in sorted(locked.values_list("user_id", flat=True)):
                # The function checks each lot again under the lock: one another run (or a
                # debit) already moved is no longer due.
                horizon = {"notice_horizon": notice_horizon(now)} if job.with_horizon else {}
                lot_ids = lots_by_customer.pop(user_id)
                done = ledger_call(job.function, user_id=user_id, lot_ids=lot_ids, now=now, **horizon)[0]
                if done:
                    result.done += done
                    result.customers.add(user_id)
                    announce_committed()
        result.skipped += sum(len(lot_ids) for lot_ids in lots_by_customer.values())


def points_lifecycle_run(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> LifecycleReport:
    """One pass of every job: release what is due, expire what is due, mark what enters the
    notice window. Releasing first means a lot that is both due and long expired goes out
    in the same run."""
    now = now or timezone.now()
    return LifecycleReport(
        released=_run_pass(_due_release(now), now=now, batch_size=batch_size),
        expired=_run_pass(_due_expiry(now), now=now, batch_size=batch_size),
        noticed=_run_pass(_due_notice(now), now=now, batch_size=batch_size),
    )
