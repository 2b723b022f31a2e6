"""Everything that writes to the ledger.

Each public function is one transaction. A balance moves only through
:func:`_ledger_post`, which changes the customer's ``Account`` row with a single
statement, in the same transaction as the ``Reward`` row that explains it. Debits
that must not overdraw are one conditional UPDATE, so PostgreSQL's row lock, not
Python, decides between concurrent redemptions.
"""

import secrets
import string
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from rewards.models import (
    DESCRIPTION_MAX_LENGTH,
    ITEM_CODE_LENGTH,
    MAX_BIGINT,
    MAX_POINTS_PER_ENTRY,
    Account,
    CatalogItem,
    CatalogKind,
    IdempotencyKey,
    RedeemedItem,
    Reward,
    RewardKind,
)
from rewards.selectors import Balance, catalog_item_for_redemption
from rewards_project.exceptions import Conflict, DomainError, NotFound

INSUFFICIENT_POINTS_MESSAGE = "You do not have enough points to redeem this reward."
_CODE_ALPHABET = string.ascii_uppercase + string.digits
_CODE_ATTEMPTS = 5


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
    """A ledger row and the balance right after it."""

    reward: Reward
    balance: Balance
    redeemed_item: RedeemedItem | None = None


_ACCOUNT_CHANGE = {
    # A credit (or an uncovered debit) creates the account on first use, and changes
    # it only while both totals stay within their bigint columns (written so that the
    # check itself cannot overflow).
    False: (
        "INSERT INTO {account} AS a (user_id, total_points_earned, total_points_redeemed, created_at, updated_at)"
        " VALUES (%(user_id)s, %(earned)s, %(redeemed)s, %(now)s, %(now)s)"
        " ON CONFLICT (user_id) DO UPDATE SET"
        " total_points_earned = a.total_points_earned + excluded.total_points_earned,"
        " total_points_redeemed = a.total_points_redeemed + excluded.total_points_redeemed,"
        " updated_at = excluded.updated_at"
        f" WHERE a.total_points_earned <= {MAX_BIGINT} - excluded.total_points_earned"
        f" AND a.total_points_redeemed <= {MAX_BIGINT} - excluded.total_points_redeemed"
        " RETURNING total_points_earned, total_points_redeemed"
    ),
    # A covered debit changes the row only while the balance covers it (and then
    # total_points_redeemed cannot pass total_points_earned, so it cannot overflow).
    True: (
        "UPDATE {account} SET total_points_earned = total_points_earned + %(earned)s,"
        " total_points_redeemed = total_points_redeemed + %(redeemed)s, updated_at = %(now)s"
        " WHERE user_id = %(user_id)s AND total_points_earned - total_points_redeemed >= %(redeemed)s - %(earned)s"
        " RETURNING total_points_earned, total_points_redeemed"
    ),
}
# How the application's key is written on this backend (a UUID is text on SQLite).
_APP_KEY = Reward._meta.get_field("application").target_field
_REWARD_COLUMNS = (
    "user_id, kind, points_earned, points_redeemed, reward_description, earned_date, redeemed_date,"
    " is_active, application_id, created_at"
)
_ITEM_COLUMNS = "reward_id, catalog_item_id, kind, item_code, item_description, amount, created_at"
_ITEM_VALUES = "%(item_id)s, %(item_kind)s, %(code)s, %(item_description)s, %(amount)s, %(now)s"
_REWARD_VALUES = (
    "%(user_id)s, %(kind)s, %(earned)s, %(redeemed)s, %(description)s, %(earned_date)s, %(redeemed_date)s,"
    " %(is_active)s, %(app_id)s, %(now)s"
)


def _ledger_post(
    *,
    user_id: int,
    kind: str,
    earned: int = 0,
    redeemed: int = 0,
    description: str,
    app: Model | None,
    is_active: bool = True,
    must_cover: bool = False,
    item: CatalogItem | None = None,
) -> Posting:
    """Change the account, append the ledger row that explains it and, for a
    redemption, record the redeemed ``item`` with a fresh code: all or nothing.

    With ``must_cover`` the change happens only if the balance covers the debit;
    otherwise nothing is written and :class:`InsufficientPoints` is raised. A change
    that would overflow the account's totals writes nothing either
    (:class:`BalanceLimitExceeded`).

    On PostgreSQL all of it is one statement (a data-modifying CTE whose inserts run
    only if the account changed), which is a transaction by itself: one round trip,
    no BEGIN/COMMIT. SQLite runs the same statements in turn inside a transaction.
    An item-code collision (36^16 codes: all but impossible) is retried whole.
    """
    now = timezone.now()
    params = {
        "user_id": user_id,
        "kind": kind,
        "earned": earned,
        "redeemed": redeemed,
        "description": description,
        "earned_date": now if earned else None,
        "redeemed_date": now if redeemed else None,
        "is_active": is_active,
        "app_id": _APP_KEY.get_db_prep_value(app.pk, connection) if app is not None else None,
        "now": now,
    }
    if item is not None:
        params |= {
            "item_id": item.pk,
            "item_kind": item.kind,
            "item_description": item.description,
            "amount": item.amount,
        }
    single_statement = connection.vendor == "postgresql"
    # A savepoint is needed only to retry a code collision inside someone else's transaction.
    needs_block = not single_statement or (item is not None and connection.in_atomic_block)
    for attempt in range(_CODE_ATTEMPTS):
        params["code"] = _item_code_generate() if item is not None else None
        try:
            with transaction.atomic() if needs_block else nullcontext():
                row = _ledger_write(params, must_cover=must_cover, with_item=item is not None)
            break
        except IntegrityError:
            if item is None or attempt == _CODE_ATTEMPTS - 1:
                raise
    if row is None:
        raise InsufficientPoints() if must_cover else BalanceLimitExceeded()
    reward = _loaded(
        Reward,
        id=row[0],
        user_id=user_id,
        kind=kind,
        points_earned=earned,
        points_redeemed=redeemed,
        reward_description=description,
        earned_date=params["earned_date"],
        redeemed_date=params["redeemed_date"],
        is_active=is_active,
        application=app,
        created_at=now,
    )
    redeemed_item = None
    if item is not None:
        redeemed_item = _loaded(
            RedeemedItem,
            id=row[3],
            reward=reward,
            catalog_item=item,
            kind=item.kind,
            item_code=params["code"],
            item_description=item.description,
            amount=item.amount,
            created_at=now,
        )
    balance = Balance(user_id=user_id, total_points_earned=row[1], total_points_redeemed=row[2])
    return Posting(reward=reward, balance=balance, redeemed_item=redeemed_item)


def _ledger_write(params: dict, *, must_cover: bool, with_item: bool) -> tuple | None:
    """The SQL of :func:`_ledger_post`: (reward id, earned, redeemed, item id) or None."""
    account_change = _ACCOUNT_CHANGE[must_cover].format(account=Account._meta.db_table)
    rewards, items = Reward._meta.db_table, RedeemedItem._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            item_insert = (
                f", item AS (INSERT INTO {items} ({_ITEM_COLUMNS}) SELECT reward.id, {_ITEM_VALUES}"
                " FROM reward RETURNING id)"
                if with_item
                else ""
            )
            cursor.execute(
                f"WITH account AS ({account_change}),"
                f" reward AS (INSERT INTO {rewards} ({_REWARD_COLUMNS}) SELECT {_REWARD_VALUES} FROM account"
                f" RETURNING id){item_insert}"
                " SELECT reward.id, account.total_points_earned, account.total_points_redeemed"
                + (", (SELECT id FROM item)" if with_item else ", NULL")
                + " FROM account, reward",
                params,
            )
            return cursor.fetchone()
        cursor.execute(account_change, params)
        totals = cursor.fetchone()
        if totals is None:
            return None
        cursor.execute(f"INSERT INTO {rewards} ({_REWARD_COLUMNS}) VALUES ({_REWARD_VALUES})", params)
        reward_id = cursor.lastrowid
        item_id = None
        if with_item:
            cursor.execute(
                f"INSERT INTO {items} ({_ITEM_COLUMNS}) VALUES (%(reward_id)s, {_ITEM_VALUES})",
                params | {"reward_id": reward_id},
            )
            item_id = cursor.lastrowid
        return (reward_id, *totals, item_id)


def _loaded(model: type[Model], **values) -> Model:
    """A model instance for a row just written by hand, as if the ORM had loaded it."""
    instance = model(**values)
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def points_entry_check(points: int, *, field: str) -> None:
    """Every kind of credit is capped alike: at most MAX_POINTS_PER_ENTRY points in one entry."""
    if points > MAX_POINTS_PER_ENTRY:
        raise PointsPerEntryExceeded(
            f"One entry can credit at most {MAX_POINTS_PER_ENTRY:,} points; this one would credit {points:,}.",
            fields={field: [f"Too large: it would earn more than {MAX_POINTS_PER_ENTRY:,} points."]},
        )


def points_credit(*, user_id: int, points: int, kind: str, description: str, app: Model | None) -> Posting:
    """Give a customer points: one ledger row and the account change, together."""
    points_entry_check(points, field="points")
    return _ledger_post(user_id=user_id, kind=kind, earned=points, description=description, app=app)


def points_take_back(*, user_id: int, points: int, kind: str, description: str, app: Model | None) -> Posting:
    """Take points back even past zero (a returned order, a staff correction)."""
    return _ledger_post(user_id=user_id, kind=kind, redeemed=points, description=description, app=app)


def points_earn(*, user_id: int, points: int, description: str, app: Model | None) -> Posting:
    return points_credit(user_id=user_id, points=points, kind=RewardKind.EARN, description=description, app=app)


def purchase_points(amount: Decimal) -> int:
    """Points for a purchase: floor(amount * PURCHASE_POINTS_PER_UNIT), exactly."""
    return int((amount * settings.PURCHASE_POINTS_PER_UNIT).to_integral_value(rounding=ROUND_FLOOR))


def purchase_record(*, user_id: int, amount: Decimal, description: str, app: Model | None) -> Posting:
    points = purchase_points(amount)
    points_entry_check(points, field="amount")
    return points_credit(
        user_id=user_id,
        points=points,
        kind=RewardKind.PURCHASE,
        description=description,
        app=app,
    )


def feedback_submit(*, user_id: int, description: str, app: Model | None) -> Posting:
    return points_credit(
        user_id=user_id,
        points=settings.FEEDBACK_POINTS,
        kind=RewardKind.FEEDBACK,
        description=description,
        app=app,
    )


def _item_code_generate() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(ITEM_CODE_LENGTH))


def _redeem(*, kind: str, user_id: int, points: int, amount: Decimal, description: str, app: Model | None) -> Posting:
    item = catalog_item_for_redemption(kind=kind, points=points, amount=amount)
    if item is None:
        raise NoMatchingCatalogItem(
            f"No active catalog {kind} costs {points} points for an amount of {amount}.",
            fields={"points_redeemed": [f"Must match an active catalog {kind}; see catalog/."]},
        )
    return _ledger_post(
        user_id=user_id,
        kind=kind,
        redeemed=item.points_cost,
        description=description,
        app=app,
        # A donation is delivered at once; a coupon stays active until it is used.
        is_active=kind == CatalogKind.COUPON,
        must_cover=True,
        item=item,
    )


def coupon_redeem(*, user_id: int, points: int, amount: Decimal, description: str, app: Model | None) -> Posting:
    return _redeem(
        kind=CatalogKind.COUPON, user_id=user_id, points=points, amount=amount, description=description, app=app
    )


def donation_redeem(*, user_id: int, points: int, amount: Decimal, description: str, app: Model | None) -> Posting:
    return _redeem(
        kind=CatalogKind.DONATION, user_id=user_id, points=points, amount=amount, description=description, app=app
    )


@transaction.atomic
def coupon_use(*, item_code: str) -> RedeemedItem:
    """Mark a coupon used. The conditional UPDATE lets exactly one of two racing uses win."""
    item = RedeemedItem.objects.select_related("reward").filter(item_code=item_code, kind=CatalogKind.COUPON).first()
    if item is None:
        raise CouponNotFound()
    used = Reward.objects.filter(pk=item.reward_id, is_active=True).update(is_active=False)
    if not used:
        raise CouponAlreadyUsed()
    item.reward.is_active = False
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


# ---- Idempotency-Key ----------------------------------------------------------------

IDEMPOTENCY_KEY_TTL = timedelta(hours=24)


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was used with a different request."


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly."


@dataclass(frozen=True)
class KeyedResponse:
    status: int
    body: dict
    replayed: bool


def idempotent_call(
    *,
    app: Model,
    customer_user_id: int | None,
    key: str,
    fingerprint: str,
    work: Callable[[], tuple[int, dict]],
) -> KeyedResponse:
    """Run ``work`` once per (application, customer session or none, key) within 24 hours, Stripe-style.

    The key row is inserted in the same transaction as the work. A concurrent request
    with the same key blocks on the unique index until the first commits, then
    replays its response; if the first fails, nothing of it remains and the second
    does the work. Errors are not stored: a failed request wrote nothing, so a retry
    is safe.
    """
    now = timezone.now()
    scope = IdempotencyKey.objects.filter(application=app, customer_user_id=customer_user_id, key=key)
    with transaction.atomic():
        scope.filter(created_at__lt=now - IDEMPOTENCY_KEY_TTL).delete()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    application=app,
                    customer_user_id=customer_user_id,
                    key=key,
                    request_fingerprint=fingerprint,
                    created_at=now,
                )
        except IntegrityError:
            record = None
        if record is None:
            return _idempotent_replay(scope.first(), fingerprint=fingerprint)
        status, body = work()
        IdempotencyKey.objects.filter(pk=record.pk).update(response_status=status, response_body=body)
    return KeyedResponse(status=status, body=body, replayed=False)


def _idempotent_replay(stored: IdempotencyKey | None, *, fingerprint: str) -> KeyedResponse:
    if stored is None or stored.response_status is None:
        raise IdempotencyKeyInUse()
    if stored.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return KeyedResponse(status=stored.response_status, body=stored.response_body, replayed=True)


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete keys older than 24 hours; returns how many."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
