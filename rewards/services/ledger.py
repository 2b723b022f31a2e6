"""Everything that moves points: ledger rows, the account row beside them, and the lots.

What holds after every function here returns (``check_ledger`` verifies it):

- the account's ``total_points_earned``, ``total_points_redeemed`` and ``pending_points`` are
  the sums of the customer's rows' ``points_earned``, ``points_redeemed`` and ``pending_change``;
- every credit opened one lot, and ``remaining = points - consumed - expired - cancelled >= 0``;
- available points (earned - redeemed) = the remaining points of available lots - ``points_owed``,
  and points are owed only while no available lot has any left;
- ``pending_points`` = the remaining points of pending lots; ``expiring_points`` = the remaining
  points of lots in the expiry notice window; ``next_expiry_at`` and ``next_available_at`` are
  the soonest dates of the open lots.

Every change to a customer's lots happens under that customer's account row lock, taken by
the statement that changes the account (or ``SELECT ... FOR UPDATE`` in the lifecycle jobs).
So debits never race each other over lots, and the overdraft guard stays one conditional
UPDATE on the account, decided by PostgreSQL, never by Python.
"""

import secrets
import string
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model
from django.utils import timezone

from core.exceptions import Conflict, DomainError, NotFound
from core.limits import MAX_BIGINT, MAX_POINTS_PER_ENTRY
from rewards.models import (
    DESCRIPTION_MAX_LENGTH,
    ITEM_CODE_LENGTH,
    Account,
    CatalogItem,
    CatalogKind,
    EventType,
    LotConsumption,
    PointLot,
    RedeemedItem,
    Reward,
    RewardKind,
)
from rewards.selectors import BALANCE_COLUMNS, Balance, as_aware_datetime, catalog_item_for_redemption
from rewards.services import postgres
from rewards.services.events import announce_committed, event_json, event_record, event_type_for
from rewards.shapes import redeemed_item_fields, reward_row_fields

INSUFFICIENT_POINTS_MESSAGE = "You do not have enough points to redeem this reward."
_CODE_ALPHABET = string.ascii_uppercase + string.digits
_CODE_ATTEMPTS = 5
# Lots are read a page at a time, so a debit reads about as many lots as it consumes.
_LOT_PAGE = 16


class InsufficientPoints(Conflict):
    code = "insufficient_points"
    default_message = INSUFFICIENT_POINTS_MESSAGE


class NoMatchingCatalogItem(DomainError):
    code = "no_matching_catalog_item"


class PointsPerEntryExceeded(DomainError):
    code = "points_limit_exceeded"


class BalanceLimitExceeded(Conflict):
    code = "balance_limit_exceeded"
    default_message = "This would take the customer's point totals past what can be stored; nothing was written."


class CouponNotFound(NotFound):
    code = "coupon_not_found"
    default_message = "No coupon has this code."


class CouponAlreadyUsed(Conflict):
    code = "coupon_already_used"
    default_message = "This coupon has already been used."


@dataclass(frozen=True)
class Posting:
    """A ledger row, the balance right after it, and what it created."""

    reward: Reward
    balance: Balance
    redeemed_item: RedeemedItem | None = None
    lot: PointLot | None = None


# ---- when a credit's points become available, and until when ------------------------


@dataclass(frozen=True)
class LotTiming:
    available_at: datetime
    expires_at: datetime | None


def lot_timing(*, kind: str, credited_at: datetime) -> LotTiming:
    """``available_at`` = the credit's time + its kind's pending period; ``expires_at`` =
    ``available_at`` + the validity period (never, by default)."""
    if kind == RewardKind.ORDER:
        pending_days = settings.ORDER_POINTS_PENDING_DAYS
    else:
        pending_days = settings.CREDIT_PENDING_DAYS.get(kind, 0)
    available_at = _days_after(credited_at, pending_days)
    validity = settings.POINTS_VALIDITY_DAYS
    return LotTiming(available_at=available_at, expires_at=_days_after(available_at, validity) if validity else None)


class DateOutOfRange(DomainError):
    code = "date_out_of_range"
    default_message = "This date plus the points' pending and validity periods passes the year 9999."


def _days_after(moment: datetime, days: int) -> datetime:
    try:
        return moment + timedelta(days=days)
    except OverflowError:
        raise DateOutOfRange() from None


def notice_horizon(now: datetime) -> datetime:
    """Lots expiring before this count in ``expiring_points``."""
    return now + timedelta(days=settings.EXPIRY_NOTICE_DAYS)


# ---- the account row ---------------------------------------------------------------------

_ACCOUNT = Account._meta.db_table
_RETURNING = " RETURNING " + ", ".join(BALANCE_COLUMNS) + ", points_owed"
# A covered debit changes the row only while the balance covers it (and then
# total_points_redeemed cannot pass total_points_earned, so it cannot overflow). The
# UPDATE also takes the row lock under which the debit's lots are consumed.
_COVERED_DEBIT = (
    f"UPDATE {_ACCOUNT} SET total_points_redeemed = total_points_redeemed + %(points)s, version = version + 1,"
    " updated_at = %(now)s"
    " WHERE user_id = %(user_id)s AND total_points_earned - total_points_redeemed >= %(points)s" + _RETURNING
)
# Any other change creates the account on first use and takes its row lock; it changes the
# row only while both totals stay within their bigint columns (written so that the check
# itself cannot overflow).
_ACCOUNT_UPSERT = (
    f"INSERT INTO {_ACCOUNT} AS a (user_id, total_points_earned, total_points_redeemed, pending_points,"
    " points_owed, expiring_points, version, created_at, updated_at)"
    " VALUES (%(user_id)s, %(earned)s, %(redeemed)s, 0, 0, 0, 1, %(now)s, %(now)s)"
    " ON CONFLICT (user_id) DO UPDATE SET"
    " total_points_earned = a.total_points_earned + excluded.total_points_earned,"
    " total_points_redeemed = a.total_points_redeemed + excluded.total_points_redeemed,"
    " version = a.version + 1, updated_at = excluded.updated_at"
    f" WHERE a.total_points_earned <= {MAX_BIGINT} - excluded.total_points_earned"
    f" AND a.total_points_redeemed <= {MAX_BIGINT} - excluded.total_points_redeemed" + _RETURNING
)


def _account_statement(sql: str, *, user_id: int, earned: int = 0, redeemed: int = 0, now: datetime) -> Account | None:
    """Run one of the account statements above; the changed row (locked until commit), or None."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql, {"user_id": user_id, "earned": earned, "redeemed": redeemed, "points": redeemed, "now": now}
        )
        row = cursor.fetchone()
    return None if row is None else account_from_columns(row)


def account_from_columns(row: tuple) -> Account:
    """An Account for the columns ``(*BALANCE_COLUMNS, points_owed)`` of a row just written."""
    values = dict(zip((*BALANCE_COLUMNS, "points_owed"), row, strict=True))
    return loaded(
        Account, **values | {name: as_aware_datetime(values[name]) for name in ("next_expiry_at", "next_available_at")}
    )


def loaded(model: type[Model], **values: object) -> Model:
    """A model instance for a row just written by hand, as if the ORM had loaded it."""
    instance = model(**values)
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def account_save(account: Account, *fields: str, now: datetime) -> None:
    Account.objects.filter(user_id=account.user_id).update(
        **{field: getattr(account, field) for field in fields}, version=F("version") + 1, updated_at=now
    )


def next_expiry(user_id: int) -> datetime | None:
    return (
        PointLot.objects.filter(user_id=user_id, pending=False, remaining__gt=0, expires_at__isnull=False)
        .order_by("expires_at")
        .values_list("expires_at", flat=True)
        .first()
    )


def next_available(user_id: int) -> datetime | None:
    return (
        PointLot.objects.filter(user_id=user_id, pending=True, remaining__gt=0)
        .order_by("available_at")
        .values_list("available_at", flat=True)
        .first()
    )


def _soonest(current: datetime | None, candidate: datetime | None) -> datetime | None:
    return min((d for d in (current, candidate) if d is not None), default=None)


# ---- credits -------------------------------------------------------------------------------


def points_entry_check(points: int, *, field: str) -> None:
    """Every kind of credit is capped alike: at most MAX_POINTS_PER_ENTRY points in one entry."""
    if points > MAX_POINTS_PER_ENTRY:
        raise PointsPerEntryExceeded(
            f"One entry can credit at most {MAX_POINTS_PER_ENTRY:,} points; this one would credit {points:,}.",
            fields={field: [f"Too large: it would earn more than {MAX_POINTS_PER_ENTRY:,} points."]},
        )


def points_credit(
    *,
    user_id: int,
    points: int,
    kind: str,
    description: str,
    app: Model | None,
    credited_at: datetime | None = None,
    event_extra: dict[str, Any] | None = None,
) -> Posting:
    """Give a customer points: a ledger row, its lot, the account change and the event, together.

    The lot is pending until its kind's pending period after ``credited_at`` (default now)
    has passed; then the lifecycle job makes it available. ``event_extra`` goes into the
    event beside the row and the balance (an order's details, say).
    """
    points_entry_check(points, field="points")
    now = timezone.now()
    timing = lot_timing(kind=kind, credited_at=credited_at or now)
    # A zero-point credit (a purchase under one point) has nothing to wait for or to expire.
    pending = points > 0 and timing.available_at > now
    posting = _credit_in_one_statement(
        user_id=user_id,
        points=points,
        kind=kind,
        description=description,
        app=app,
        timing=timing,
        pending=pending,
        now=now,
        event_extra=event_extra or {},
    )
    if posting is not None:
        return posting
    with transaction.atomic():
        credit = _credit_pending if pending else _credit_available
        posting = credit(
            user_id=user_id, points=points, kind=kind, description=description, app=app, timing=timing, now=now
        )
        return _with_event(posting, app=app, now=now, extra=event_extra)


def _credit_in_one_statement(
    *,
    user_id: int,
    points: int,
    kind: str,
    description: str,
    app: Model | None,
    timing: LotTiming,
    pending: bool,
    now: datetime,
    event_extra: dict[str, Any],
) -> Posting | None:
    in_notice = (
        points > 0 and not pending and timing.expires_at is not None and timing.expires_at <= notice_horizon(now)
    )
    reward = loaded(
        Reward,
        id=None,
        user_id=user_id,
        kind=kind,
        points_earned=0 if pending else points,
        points_redeemed=0,
        pending_change=points if pending else 0,
        reward_description=description,
        earned_date=now,
        redeemed_date=None,
        is_active=True,
        application=app,
        created_at=now,
    )
    written = postgres.credit_in_one_statement(
        user_id=user_id,
        points=points,
        kind=kind,
        description=description,
        app=app,
        pending=pending,
        available_at=timing.available_at,
        expires_at=timing.expires_at,
        in_notice=in_notice,
        now=now,
        event_type=event_type_for(kind=kind, credit=True),
        event_data=event_json({**event_extra, "reward": reward_row_fields(reward)}),
    )
    if written is None:
        return None
    reward_id, lot_id, columns = written
    reward.id = reward_id
    announce_committed()
    lot = loaded(
        PointLot,
        id=lot_id,
        user_id=user_id,
        credit=reward,
        points=points,
        remaining=points,
        pending=pending,
        available_at=timing.available_at,
        expires_at=timing.expires_at,
        notice_at=now if in_notice else None,
        expired_points=0,
        cancelled_points=0,
        created_at=now,
    )
    return Posting(reward=reward, balance=Balance.of(account_from_columns(columns)), lot=lot)


def _lot_open(credit: Reward, *, pending: bool, timing: LotTiming, now: datetime) -> PointLot:
    """The lot of a credit just written: all its points remain."""
    points = credit.pending_change if pending else credit.points_earned
    return PointLot.objects.create(
        user_id=credit.user_id,
        credit=credit,
        points=points,
        remaining=points,
        pending=pending,
        available_at=timing.available_at,
        expires_at=timing.expires_at,
        created_at=now,
    )


def _credit_available(
    *, user_id: int, points: int, kind: str, description: str, app: Model | None, timing: LotTiming, now: datetime
) -> Posting:
    account = _account_statement(_ACCOUNT_UPSERT, user_id=user_id, earned=points, now=now)
    if account is None:
        raise BalanceLimitExceeded()
    reward = reward_create(user_id=user_id, kind=kind, earned=points, description=description, app=app, now=now)
    lot = _lot_open(reward, pending=False, timing=timing, now=now)
    changed = lot_make_available(account, lot, now=now)
    if changed:
        account_save(account, *changed, now=now)
    return Posting(reward=reward, balance=Balance.of(account), lot=lot)


def _credit_pending(
    *, user_id: int, points: int, kind: str, description: str, app: Model | None, timing: LotTiming, now: datetime
) -> Posting:
    account = _account_statement(_ACCOUNT_UPSERT, user_id=user_id, now=now)
    if account is None or account.pending_points > MAX_BIGINT - points:
        raise BalanceLimitExceeded()
    reward = reward_create(user_id=user_id, kind=kind, pending=points, description=description, app=app, now=now)
    lot = _lot_open(reward, pending=True, timing=timing, now=now)
    account.pending_points += points
    account.next_available_at = _soonest(account.next_available_at, timing.available_at)
    account_save(account, "pending_points", "next_available_at", now=now)
    return Posting(reward=reward, balance=Balance.of(account), lot=lot)


def lot_make_available(account: Account, lot: PointLot, *, now: datetime) -> list[str]:
    """A lot's points just became spendable (the account's earned total already counts them):
    they pay what the customer owes first; what is left may enter the expiry notice window.
    Saves the lot; returns the account fields it changed, for the caller to save."""
    lot_fields = []
    account_fields = []
    paid = min(account.points_owed, lot.remaining)
    if paid:
        LotConsumption.objects.create(lot=lot, debit=None, points=paid, created_at=now)
        lot.remaining -= paid
        account.points_owed -= paid
        lot_fields.append("remaining")
        account_fields.append("points_owed")
    if lot.remaining and lot.expires_at is not None:
        if lot.expires_at <= notice_horizon(now):
            lot.notice_at = now
            account.expiring_points += lot.remaining
            lot_fields.append("notice_at")
            account_fields.append("expiring_points")
        if account.next_expiry_at is None or lot.expires_at < account.next_expiry_at:
            account.next_expiry_at = lot.expires_at
            account_fields.append("next_expiry_at")
    if lot_fields:
        PointLot.objects.filter(pk=lot.pk).update(**{field: getattr(lot, field) for field in lot_fields})
    return account_fields


def reward_create(
    *,
    user_id: int,
    kind: str,
    description: str,
    app: Model | None,
    now: datetime,
    earned: int = 0,
    redeemed: int = 0,
    pending: int = 0,
    is_active: bool = True,
) -> Reward:
    return Reward.objects.create(
        user_id=user_id,
        kind=kind,
        points_earned=earned,
        points_redeemed=redeemed,
        pending_change=pending,
        reward_description=description[:DESCRIPTION_MAX_LENGTH],
        earned_date=now if earned or pending > 0 else None,
        redeemed_date=now if redeemed or pending < 0 else None,
        is_active=is_active,
        application=app,
        created_at=now,
    )


# ---- debits ---------------------------------------------------------------------------------


def _lots_consume(account: Account, *, points: int, debit: Reward, now: datetime) -> int:
    """Take ``points`` from the customer's available lots, soonest-expiring first, never-expiring
    last, oldest first among equals; record each consumption. Returns what no lot could cover.

    Runs under the account row lock; reads the open lots a page at a time, so it costs about
    as many lot reads as lots consumed.
    """
    left = points
    consumptions: list[LotConsumption] = []
    emptied_soonest = False
    while left:
        page = list(
            PointLot.objects.filter(user_id=account.user_id, pending=False, remaining__gt=0).order_by(
                F("expires_at").asc(nulls_last=True), "id"
            )[:_LOT_PAGE]
        )
        if not page:
            break
        touched = []
        for lot in page:
            take = min(lot.remaining, left)
            lot.remaining -= take
            left -= take
            touched.append(lot)
            consumptions.append(LotConsumption(lot=lot, debit=debit, points=take, created_at=now))
            if lot.notice_at is not None:
                account.expiring_points -= take
            if lot.remaining == 0 and lot.expires_at is not None and lot.expires_at == account.next_expiry_at:
                emptied_soonest = True
            if not left:
                break
        PointLot.objects.bulk_update(touched, ["remaining"])
    LotConsumption.objects.bulk_create(consumptions)
    if emptied_soonest:
        account.next_expiry_at = next_expiry(account.user_id)
    return left


def _debit(
    *,
    user_id: int,
    points: int,
    kind: str,
    description: str,
    app: Model | None,
    now: datetime,
    must_cover: bool,
    is_active: bool = True,
) -> tuple[Account, Reward]:
    """Take points from the available balance: the account statement (with the overdraft guard
    when ``must_cover``), the ledger row, and the lots consumed. Call inside a transaction."""
    if must_cover:
        account = _account_statement(_COVERED_DEBIT, user_id=user_id, redeemed=points, now=now)
        if account is None:
            raise InsufficientPoints()
    else:
        account = _account_statement(_ACCOUNT_UPSERT, user_id=user_id, redeemed=points, now=now)
        if account is None:
            raise BalanceLimitExceeded()
    reward = reward_create(
        user_id=user_id, kind=kind, redeemed=points, description=description, app=app, now=now, is_active=is_active
    )
    expiring, next_expiry = account.expiring_points, account.next_expiry_at
    uncovered = _lots_consume(account, points=points, debit=reward, now=now)
    if uncovered and must_cover:
        # The guard said the balance covers this, so the lots must: they disagree with the account.
        raise RuntimeError(f"Customer {user_id}'s lots cover {points - uncovered} of a covered debit of {points}.")
    changed = []
    if uncovered:
        # Only a debit that may go below zero gets here: the rest is owed.
        account.points_owed += uncovered
        changed.append("points_owed")
    if account.expiring_points != expiring:
        changed.append("expiring_points")
    if account.next_expiry_at != next_expiry:
        changed.append("next_expiry_at")
    if changed:
        account_save(account, *changed, now=now)
    return account, reward


def points_take_back(
    *,
    user_id: int,
    points: int,
    kind: str,
    description: str,
    app: Model | None,
    event_extra: dict[str, Any] | None = None,
) -> Posting:
    """Take available points back even past zero (a returned order, a staff correction)."""
    now = timezone.now()
    with transaction.atomic():
        account, reward = _debit(
            user_id=user_id, points=points, kind=kind, description=description, app=app, now=now, must_cover=False
        )
        return _with_event(Posting(reward=reward, balance=Balance.of(account)), app=app, now=now, extra=event_extra)


def credit_take_back(
    *,
    user_id: int,
    credit_id: int,
    points: int,
    kind: str,
    description: str,
    app: Model | None,
    event_extra: dict[str, Any] | None = None,
) -> Posting:
    """Take back points a credit gave (goods returned).

    While the credit's lot is still pending, its points are cancelled there: the available
    balance is untouched and cannot go negative through this. Once they are available, the
    points are taken from the available lots like any debit, and may take the balance below
    zero. Which of the two is decided under the account row lock, where the credit's lot is
    read. A failure aborts the caller's transaction too (no savepoint: none recovers from it).
    """
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        account = _account_statement(_ACCOUNT_UPSERT, user_id=user_id, now=now)
        lot = PointLot.objects.get(credit_id=credit_id)
        if not lot.pending:
            account, reward = _debit(
                user_id=lot.user_id,
                points=points,
                kind=kind,
                description=description,
                app=app,
                now=now,
                must_cover=False,
            )
            return _with_event(Posting(reward=reward, balance=Balance.of(account)), app=app, now=now, extra=event_extra)
        if lot.remaining < points:
            raise ValueError(f"Lot {lot.pk} has {lot.remaining} pending points, not {points}.")
        reward = reward_create(
            user_id=lot.user_id, kind=kind, pending=-points, description=description, app=app, now=now
        )
        lot.remaining -= points
        lot.cancelled_points += points
        lot.save(update_fields=["remaining", "cancelled_points"])
        account.pending_points -= points
        if lot.remaining == 0 and lot.available_at == account.next_available_at:
            account.next_available_at = next_available(lot.user_id)
        account_save(account, "pending_points", "next_available_at", now=now)
        return _with_event(Posting(reward=reward, balance=Balance.of(account)), app=app, now=now, extra=event_extra)


def _with_event(posting: Posting, *, app: Model | None, now: datetime, extra: dict[str, Any] | None) -> Posting:
    """Record the event of a posting's ledger row, in the posting's transaction."""
    reward = posting.reward
    event_record(
        type=event_type_for(kind=reward.kind, credit=reward.points_earned > 0 or reward.pending_change > 0),
        user_id=reward.user_id,
        now=now,
        app=app,
        reward=reward,
        balance=posting.balance,
        extra=extra,
    )
    return posting


# ---- the public credit services ---------------------------------------------------------


def points_earn(*, user_id: int, points: int, description: str, app: Model | None) -> Posting:
    return points_credit(user_id=user_id, points=points, kind=RewardKind.EARN, description=description, app=app)


def purchase_points(amount: Decimal) -> int:
    """Points for a purchase: floor(amount * PURCHASE_POINTS_PER_UNIT), exactly."""
    return int((amount * settings.PURCHASE_POINTS_PER_UNIT).to_integral_value(rounding=ROUND_FLOOR))


def purchase_record(*, user_id: int, amount: Decimal, description: str, app: Model | None) -> Posting:
    points = purchase_points(amount)
    points_entry_check(points, field="amount")
    return points_credit(user_id=user_id, points=points, kind=RewardKind.PURCHASE, description=description, app=app)


def feedback_submit(*, user_id: int, description: str, app: Model | None) -> Posting:
    return points_credit(
        user_id=user_id, points=settings.FEEDBACK_POINTS, kind=RewardKind.FEEDBACK, description=description, app=app
    )


# ---- redemptions and coupons ---------------------------------------------------------------


def _item_code_generate() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(ITEM_CODE_LENGTH))


def _redeem(*, kind: str, user_id: int, points: int, amount: Decimal, description: str, app: Model | None) -> Posting:
    item = catalog_item_for_redemption(kind=kind, points=points, amount=amount)
    if item is None:
        raise NoMatchingCatalogItem(
            f"No active catalog {kind} costs {points} points for an amount of {amount}.",
            fields={"points_redeemed": [f"Must match an active catalog {kind}; see catalog/."]},
        )
    for attempt in range(_CODE_ATTEMPTS):
        try:
            posting = _redeem_in_one_statement(item=item, user_id=user_id, description=description, app=app)
            if posting is not None:
                return posting
            return _redeem_once(item=item, user_id=user_id, description=description, app=app)
        except IntegrityError:
            # An item code collision (36^16 codes: all but impossible): the whole posting
            # rolled back; try again with a fresh code.
            if attempt == _CODE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _redeem_in_one_statement(*, item: CatalogItem, user_id: int, description: str, app: Model | None) -> Posting | None:
    now = timezone.now()
    code = _item_code_generate()
    is_active = item.kind == CatalogKind.COUPON
    reward = loaded(
        Reward,
        id=None,
        user_id=user_id,
        kind=item.kind,
        points_earned=0,
        points_redeemed=item.points_cost,
        pending_change=0,
        reward_description=description,
        earned_date=None,
        redeemed_date=now,
        is_active=is_active,
        application=app,
        created_at=now,
    )
    redeemed_item = loaded(
        RedeemedItem,
        id=None,
        reward=reward,
        catalog_item=item,
        kind=item.kind,
        item_code=code,
        item_description=item.description,
        amount=item.amount,
        created_at=now,
    )
    event_data = event_json({"reward": reward_row_fields(reward), "item": redeemed_item_fields(redeemed_item)})
    # Inside someone else's transaction, a code collision must not abort it: a savepoint.
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        written = postgres.redemption_in_one_statement(
            user_id=user_id,
            item=item,
            code=code,
            description=description,
            app=app,
            is_active=is_active,
            now=now,
            event_type=EventType.POINTS_REDEEMED,
            event_data=event_data,
        )
    if written is None:
        return None
    if written == postgres.REFUSED:
        raise InsufficientPoints()
    reward.id, redeemed_item.id, columns = written
    redeemed_item.reward_id = reward.id
    announce_committed()
    return Posting(reward=reward, balance=Balance.of(account_from_columns(columns)), redeemed_item=redeemed_item)


@transaction.atomic
def _redeem_once(*, item: CatalogItem, user_id: int, description: str, app: Model | None) -> Posting:
    now = timezone.now()
    account, reward = _debit(
        user_id=user_id,
        points=item.points_cost,
        kind=item.kind,
        description=description,
        app=app,
        now=now,
        must_cover=True,
        # A donation is delivered at once; a coupon stays active until it is used.
        is_active=item.kind == CatalogKind.COUPON,
    )
    redeemed_item = RedeemedItem.objects.create(
        reward=reward,
        catalog_item=item,
        kind=item.kind,
        item_code=_item_code_generate(),
        item_description=item.description,
        amount=item.amount,
        created_at=now,
    )
    posting = Posting(reward=reward, balance=Balance.of(account), redeemed_item=redeemed_item)
    return _with_event(posting, app=app, now=now, extra={"item": redeemed_item_fields(redeemed_item)})


def coupon_redeem(*, user_id: int, points: int, amount: Decimal, description: str, app: Model | None) -> Posting:
    return _redeem(
        kind=CatalogKind.COUPON, user_id=user_id, points=points, amount=amount, description=description, app=app
    )


def donation_redeem(*, user_id: int, points: int, amount: Decimal, description: str, app: Model | None) -> Posting:
    return _redeem(
        kind=CatalogKind.DONATION, user_id=user_id, points=points, amount=amount, description=description, app=app
    )


@transaction.atomic
def coupon_use(*, item_code: str, app: Model | None = None) -> RedeemedItem:
    """Mark a coupon used. The conditional UPDATE lets exactly one of two racing uses win."""
    item = RedeemedItem.objects.select_related("reward").filter(item_code=item_code, kind=CatalogKind.COUPON).first()
    if item is None:
        raise CouponNotFound()
    used = Reward.objects.filter(pk=item.reward_id, is_active=True).update(is_active=False)
    if not used:
        raise CouponAlreadyUsed()
    item.reward.is_active = False
    event_record(
        type=EventType.COUPON_USED,
        user_id=item.reward.user_id,
        now=timezone.now(),
        app=app,
        reward=item.reward,
        extra={"item": redeemed_item_fields(item)},
    )
    return item


def points_adjust(*, user_id: int, points: int, reason: str, staff: str) -> Posting:
    """A staff correction through the ledger: positive adds, negative takes back.

    A negative adjustment may take the balance below zero, like an order return:
    staff correct what happened, the balance follows.
    """
    if points == 0:
        raise DomainError("An adjustment must add or remove at least one point.", fields={"points": ["Not zero."]})
    description = f"{reason} (adjusted by {staff})"[:DESCRIPTION_MAX_LENGTH]
    post = points_credit if points > 0 else points_take_back
    return post(user_id=user_id, points=abs(points), kind=RewardKind.ADJUSTMENT, description=description, app=None)
