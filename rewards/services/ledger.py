"""The postings: credits, debits, take-backs, redemptions and refunds, each one call of a ledger
function. The rules themselves (the ledger row, the lots, what is owed, the expiry notice, the
account row and the event of each posting) are PostgreSQL functions whose one live definition
is in ``rewards/sql/`` (``ledger.sql``; migrations install frozen snapshots of it, see
``rewards/sqlfiles.py``). Every posting calls one of them in one round trip: the API, staff
adjustments, order returns, coupon voids and expiries (``coupons.py``), the lifecycle jobs
(``lifecycle.py``) and the importers (``rewards/importers/``). This module decides what to
post: how many points, of which kind, when they become available and expire.

What holds after every posting (``check_ledger`` verifies it, independently of these functions):

- the account's ``total_points_earned``, ``total_points_redeemed`` and ``pending_points`` are
  the sums of the customer's rows' ``points_earned``, ``points_redeemed`` and ``pending_change``;
- every credit opened one lot, and ``remaining = points - consumed - expired - cancelled >= 0``;
- available points (earned - redeemed) = the remaining points of available lots - ``points_owed``,
  and points are owed only while no available lot has any left;
- ``pending_points`` = the remaining points of pending lots; ``expiring_points`` = the remaining
  points of lots in the expiry notice window; ``next_expiry_at`` and ``next_available_at`` are
  the soonest dates of the open lots.

Every function takes the customer's account row lock first and reads the lots after it, so
postings for one customer never interleave, and the overdraft guard is decided by PostgreSQL
on the locked row, never by Python.
"""

import secrets
import string
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from core.exceptions import DomainError
from core.limits import MAX_POINTS_PER_ENTRY
from rewards.errors import (
    BalanceLimitExceeded,
    DateOutOfRange,
    InsufficientPoints,
    NoMatchingCatalogItem,
    PointsPerEntryExceeded,
)
from rewards.models import (
    ITEM_CODE_LENGTH,
    CatalogItem,
    CatalogKind,
    EventType,
    RedeemedItem,
    RedeemedItemState,
    Reward,
    RewardKind,
)
from rewards.program.language import ORDER_TRIGGERS
from rewards.selectors import BALANCE_COLUMNS, Balance, catalog_item_for_redemption
from rewards.services.catalog_take import catalog_counted, catalog_take
from rewards.services.events import announce_committed, event_json, event_type_for
from rewards.services.redeemable import catalog_item_check

_CODE_ALPHABET = string.ascii_uppercase + string.digits
_CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class Posting:
    """A ledger row, the balance right after it, and what it created: the item a redemption
    bought, the time a credit's points become available."""

    reward: Reward
    balance: Balance
    redeemed_item: RedeemedItem | None = None
    available_at: datetime | None = None


# ---- when a credit's points become available, and until when ------------------------------------


@dataclass(frozen=True)
class LotTiming:
    available_at: datetime
    expires_at: datetime | None


def lot_timing(
    *, kind: str, credited_at: datetime, pending_days: int | None = None, validity_days: int | None = None
) -> LotTiming:
    """``available_at`` = the credit's time + its kind's pending period; ``expires_at`` =
    ``available_at`` + the validity period (never, by default). An earning rule may set its own
    ``pending_days`` and ``validity_days`` for its awards."""
    if pending_days is None:
        pending_days = kind_pending_days(kind)
    available_at = _days_after(credited_at, pending_days)
    validity = settings.POINTS_VALIDITY_DAYS if validity_days is None else validity_days
    return LotTiming(available_at=available_at, expires_at=_days_after(available_at, validity) if validity else None)


def kind_pending_days(kind: str) -> int:
    """How long a credit of this kind waits by default before its points are available."""
    if kind in ORDER_TRIGGERS:  # an order's credits, and a referral's, which wait as its order's do
        return settings.ORDER_POINTS_PENDING_DAYS
    return settings.CREDIT_PENDING_DAYS.get(kind, 0)


def _days_after(moment: datetime, days: int) -> datetime:
    try:
        return moment + timedelta(days=days)
    except OverflowError:
        raise DateOutOfRange() from None


def notice_horizon(now: datetime) -> datetime:
    """Lots expiring before this count in ``expiring_points``."""
    return now + timedelta(days=settings.EXPIRY_NOTICE_DAYS)


# ---- the ledger functions -----------------------------------------------------------------------

# What a ledger function answers (the columns of its ``ledger_posting``).
_ROW_COLUMNS = (
    "points_earned",
    "points_redeemed",
    "pending_change",
    "reward_description",
    "earned_date",
    "redeemed_date",
    "is_active",
)
_ANSWER_COLUMNS = ("outcome", "reward_id", "other_id", *_ROW_COLUMNS, *BALANCE_COLUMNS, "points_owed")
_APP_KEY = Reward._meta.get_field("application").target_field


@dataclass(frozen=True)
class Typed:
    """A parameter sent with its SQL type (an array that may hold only NULLs has none)."""

    value: object
    sql_type: str


def ledger_call(function: str, **params: object) -> tuple:
    """One call of a ledger function (``rewards/sql/``), its parameters by name (``user_id`` for
    ``p_user_id``): one statement, so outside a transaction it is its own, and the posting one
    round trip."""
    arguments = ", ".join(
        f"p_{name} => %s::{value.sql_type}" if isinstance(value, Typed) else f"p_{name} => %s"
        for name, value in params.items()
    )
    values = [value.value if isinstance(value, Typed) else value for value in params.values()]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {function}({arguments})", values)
        return cursor.fetchone()


def accounts_lock(user_ids: Iterable[int]) -> None:
    """Lock the accounts of every customer a transaction will post to, in user_id order, before
    its first posting (each ledger function then finds its row held). One posting that credits
    two customers (a referred customer's first order, its return) would otherwise lock the
    second while holding the first, and two of them crossing would deadlock. In a transaction."""
    now = timezone.now()
    with connection.cursor() as cursor:
        for user_id in sorted(set(user_ids)):
            cursor.execute("SELECT 1 FROM ledger_account_lock(%s, %s, true)", [user_id, now])


@dataclass(frozen=True)
class _Posted:
    reward: Reward
    balance: Balance
    other_id: int | None  # the credit's lot, or the redemption's item


def _post(
    function: str,
    *,
    kind: str,
    app: Model | None,
    now: datetime,
    event_type: str,
    event_extra: dict[str, Any] | None = None,
    **params: object,
) -> _Posted:
    """Post through a ledger function (the row's kind and application, the event it writes, and
    the function's own parameters); raise what it refused. The row and the balance come back
    as the function wrote them."""
    answer = dict(
        zip(
            _ANSWER_COLUMNS,
            ledger_call(
                function,
                kind=kind,
                app=app_key(app),
                now=now,
                event_type=event_type,
                event_data=event_json(event_extra) if event_extra else None,
                **params,
            ),
            strict=True,
        )
    )
    if answer["outcome"] == "insufficient":
        raise InsufficientPoints()
    if answer["outcome"] == "limit":
        raise BalanceLimitExceeded()
    announce_committed()
    balance = Balance(*(answer[name] for name in BALANCE_COLUMNS))
    reward = loaded(
        Reward,
        id=answer["reward_id"],
        user_id=balance.user_id,
        kind=kind,
        **{name: answer[name] for name in _ROW_COLUMNS},
        application=app,
        imported_from="",
        created_at=now,
    )
    return _Posted(reward=reward, balance=balance, other_id=answer["other_id"])


def loaded(model: type[Model], **values: object) -> Model:
    """A model instance for a row just written by hand, as if the ORM had loaded it: ``values``
    by field name (a related instance by its name, which is cached on the instance as the ORM
    caches it), a field not given at its default. Built positionally, as ``from_db`` builds
    a loaded row: by keyword, the model's ``__init__`` costs several calls a field."""
    related = [(name, values[name]) for name in _related_names(model) if name in values]
    given = values | {name: getattr(value, "pk", None) for name, value in related}
    row = [
        given[name] if name in given else given[attname] if attname in given else field.get_default()
        for name, attname, field in _columns(model)
    ]
    instance = model.from_db(connection.alias, None, row)
    for name, value in related:
        setattr(instance, name, value)
    return instance


@cache
def _columns(model: type[Model]) -> tuple[tuple[str, str, Any], ...]:
    return tuple((field.name, field.attname, field) for field in model._meta.concrete_fields)


@cache
def _related_names(model: type[Model]) -> tuple[str, ...]:
    return tuple(field.name for field in model._meta.concrete_fields if field.is_relation)


def app_key(app: Model | None) -> object:
    """The application's key as the database stores it."""
    return _APP_KEY.get_db_prep_value(app.pk, connection) if app is not None else None


# ---- credits ------------------------------------------------------------------------------------


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
    rule: Model | None = None,
    pending_days: int | None = None,
    validity_days: int | None = None,
    event_type: str | None = None,
) -> Posting:
    """Give a customer points: a ledger row, its lot, the account change and the event, together.

    The lot is pending until its kind's pending period (or ``pending_days``) after
    ``credited_at`` (default now) has passed; then the lifecycle job makes it available.
    Available points pay what the customer owes first. ``event_extra`` goes into the event
    beside the row and the balance (an order's details, say); ``event_type`` replaces the
    kind's own. An earning rule's award names the ``rule`` and its current version.
    """
    points_entry_check(points, field="points")
    now = timezone.now()
    timing = lot_timing(
        kind=kind, credited_at=credited_at or now, pending_days=pending_days, validity_days=validity_days
    )
    # A zero-point credit (a purchase under one point) has nothing to wait for or to expire.
    pending = points > 0 and timing.available_at > now
    posted = _post(
        "ledger_credit",
        kind=kind,
        app=app,
        now=now,
        event_type=event_type or event_type_for(kind=kind, credit=True),
        event_extra=event_extra,
        user_id=user_id,
        points=points,
        description=description,
        at=now,
        pending=pending,
        available_at=timing.available_at,
        expires_at=timing.expires_at,
        notice_horizon=notice_horizon(now),
        **({"rule_id": rule.pk, "rule_version": rule.version} if rule is not None else {}),
    )
    if rule is not None:
        posted.reward.rule, posted.reward.rule_version = rule, rule.version
    return Posting(reward=posted.reward, balance=posted.balance, available_at=timing.available_at)


# ---- debits -------------------------------------------------------------------------------------


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
    posted = _post(
        "ledger_debit",
        kind=kind,
        app=app,
        now=now,
        event_type=event_type_for(kind=kind, credit=False),
        event_extra=event_extra,
        user_id=user_id,
        points=points,
        description=description,
        at=now,
        must_cover=False,
        is_active=True,
    )
    return Posting(reward=posted.reward, balance=posted.balance)


def credit_take_back(
    *,
    user_id: int,
    credit_id: int,
    points: int,
    kind: str,
    description: str,
    app: Model | None,
    event_extra: dict[str, Any] | None = None,
    event_type: str | None = None,
) -> Posting:
    """Take back points a credit gave (goods returned).

    While the credit's lot is still pending, its points are cancelled there: the available
    balance is untouched and cannot go negative through this. Once they are available, the
    points are taken from the available lots like any debit, and may take the balance below
    zero. Which of the two is decided under the account row lock, where the credit's lot is
    read.
    """
    posted = _post(
        "ledger_take_back",
        kind=kind,
        app=app,
        now=timezone.now(),
        event_type=event_type or event_type_for(kind=kind, credit=False),
        event_extra=event_extra,
        credit_id=credit_id,
        points=points,
        description=description,
    )
    return Posting(reward=posted.reward, balance=posted.balance)


# ---- the public credit services -----------------------------------------------------------------


def points_earn(*, user_id: int, points: int, description: str, app: Model | None) -> Posting:
    return points_credit(user_id=user_id, points=points, kind=RewardKind.EARN, description=description, app=app)


# ---- redemptions: a take and a debit ------------------------------------------------------------


# Random bytes to code characters: 252 = 7 x 36, so each byte under 252 is one character, every
# character alike likely; the bytes 252-255 are dropped (the rest would favour the first four).
_CODE_TABLE = bytes(ord(_CODE_ALPHABET[byte % len(_CODE_ALPHABET)]) if byte < 252 else 0 for byte in range(256))
_CODE_DROPPED = bytes(range(252, 256))


def item_code_generate() -> str:
    """A fresh redemption code: ITEM_CODE_LENGTH characters of A-Z0-9, uniform and independent
    (82 random bits), from the system's random source in one draw (a character at a time cost
    a dozen calls each, on every redemption)."""
    code = b""
    while len(code) < ITEM_CODE_LENGTH:  # 24 bytes give 16 characters but once in 10^10 draws
        code += secrets.token_bytes(24).translate(_CODE_TABLE, _CODE_DROPPED)
    return code[:ITEM_CODE_LENGTH].decode()


def _redeem(*, kind: str, user_id: int, points: int, amount: Decimal, description: str, app: Model | None) -> Posting:
    item = catalog_item_for_redemption(kind=kind, points=points, amount=amount)
    if item is None:
        raise NoMatchingCatalogItem(
            f"No active catalog {kind} costs {points} points for an amount of {amount}.",
            fields={"points_redeemed": [f"Must match an active catalog {kind}; see catalog/."]},
        )
    catalog_item_check(item, user_id=user_id, now=timezone.now())
    for attempt in range(_CODE_ATTEMPTS):
        try:
            # The stock, the customer's count and the points move together, or not at all; and
            # inside someone else's transaction, a code collision must not abort it: a savepoint.
            with transaction.atomic() if connection.in_atomic_block or catalog_counted(item) else nullcontext():
                return _redeem_once(item=item, user_id=user_id, description=description, app=app)
        except IntegrityError:
            # An item code collision (36^16 codes: all but impossible): the whole posting
            # rolled back; try again with a fresh code.
            if attempt == _CODE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _redeem_once(*, item: CatalogItem, user_id: int, description: str, app: Model | None) -> Posting:
    """The unit and count it takes, the debit (refused unless the balance covers it), and the
    item it bought: a coupon valid for the catalog item's coupon_valid_days."""
    now = timezone.now()
    code = item_code_generate()
    taken = catalog_take(item, user_id=user_id, now=now)
    coupon = item.kind == CatalogKind.COUPON
    valid_until = _days_after(now, item.coupon_valid_days) if coupon and item.coupon_valid_days else None
    posted = _post(
        "ledger_debit",
        kind=item.kind,
        app=app,
        now=now,
        event_type=EventType.POINTS_REDEEMED,
        user_id=user_id,
        points=item.points_cost,
        description=description,
        at=now,
        must_cover=True,
        # A donation is delivered at once; a coupon stays active until it is used.
        is_active=coupon,
        catalog_item_id=item.pk,
        item_code=code,
        item_description=item.description,
        amount=item.amount,
        valid_until=valid_until,
        stock_counted=taken.stock_counted,
        limit_period=taken.limit_period,
        limit_period_start=taken.limit_period_start,
    )
    redeemed_item = loaded(
        RedeemedItem,
        id=posted.other_id,
        reward=posted.reward,
        catalog_item=item,
        kind=item.kind,
        item_code=code,
        item_description=item.description,
        amount=item.amount,
        created_at=now,
        state=RedeemedItemState.ACTIVE if coupon else RedeemedItemState.USED,
        valid_until=valid_until,
        stock_counted=taken.stock_counted,
        limit_period=taken.limit_period,
        limit_period_start=taken.limit_period_start,
    )
    return Posting(reward=posted.reward, balance=posted.balance, redeemed_item=redeemed_item)


def coupon_redeem(*, user_id: int, points: int, amount: Decimal, description: str, app: Model | None) -> Posting:
    return _redeem(
        kind=CatalogKind.COUPON, user_id=user_id, points=points, amount=amount, description=description, app=app
    )


def donation_redeem(*, user_id: int, points: int, amount: Decimal, description: str, app: Model | None) -> Posting:
    return _redeem(
        kind=CatalogKind.DONATION, user_id=user_id, points=points, amount=amount, description=description, app=app
    )


# ---- refunds and staff adjustments --------------------------------------------------------------


def points_refund(
    *, item_id: int, state: str, reason: str, description: str, event_type: str, app: Model | None
) -> tuple[Posting, int]:
    """Give a redemption's points back to the lots they came from (``ledger_refund``), which marks
    its item ``state`` and gives back what it took of its catalog item; answers the refund's
    posting and the points that came back already expired. The caller holds the item's row lock
    and has checked it is active (``coupons.py``)."""
    posted = _post(
        "ledger_refund",
        kind=RewardKind.REFUND,
        app=app,
        now=timezone.now(),
        event_type=event_type,
        event_extra={"reason": reason},
        item_id=item_id,
        state=state,
        reason=reason,
        description=description,
    )
    return Posting(reward=posted.reward, balance=posted.balance), posted.other_id


def points_adjust(*, user_id: int, points: int, reason: str, staff: str) -> Posting:
    """A staff correction through the ledger: positive adds, negative takes back.

    A negative adjustment may take the balance below zero, like an order return:
    staff correct what happened, the balance follows.
    """
    if points == 0:
        raise DomainError("An adjustment must add or remove at least one point.", fields={"points": ["Not zero."]})
    description = f"{reason} (adjusted by {staff})"  # cut to the column by the ledger, like every description
    post = points_credit if points > 0 else points_take_back
    return post(user_id=user_id, points=abs(points), kind=RewardKind.ADJUSTMENT, description=description, app=None)
