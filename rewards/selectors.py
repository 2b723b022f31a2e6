"""Reads of the ledger. A balance is one row; history is keyset-paged, newest first."""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from rewards.models import REDEMPTION_KINDS, Account, CatalogItem, Reward

HISTORY_DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 1000


@dataclass(frozen=True)
class Balance:
    """Every part of a customer's balance, as the account row holds it."""

    user_id: int
    total_points_earned: int
    total_points_redeemed: int
    pending_points: int = 0
    expiring_points: int = 0
    next_expiry_at: datetime | None = None
    next_available_at: datetime | None = None

    @property
    def total_points(self) -> int:
        """What can be spent now (negative while points are owed)."""
        return self.total_points_earned - self.total_points_redeemed

    @classmethod
    def of(cls, account: Account) -> "Balance":
        return cls(*(getattr(account, name) for name in BALANCE_COLUMNS))


BALANCE_COLUMNS = (
    "user_id",
    "total_points_earned",
    "total_points_redeemed",
    "pending_points",
    "expiring_points",
    "next_expiry_at",
    "next_available_at",
)


@dataclass(frozen=True)
class HistoryPage:
    rows: list[Reward]
    has_more: bool
    next_cursor: str | None


def account_find(*, user_id: int) -> Balance | None:
    """The customer's totals, or None for a customer never seen. One row, by primary key.

    The hottest read of the API, so plain SQL: the ORM's query compilation would cost
    more than the lookup.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(BALANCE_COLUMNS)} FROM {Account._meta.db_table} WHERE user_id = %s", [user_id]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Balance(*row[:5], *(as_aware_datetime(moment) for moment in row[5:]))


def as_aware_datetime(moment: datetime | str | None) -> datetime | None:
    """A timestamp read by plain SQL as the ORM would return it (SQLite gives text)."""
    if moment is None:
        return None
    parsed = moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def account_balance(*, user_id: int) -> Balance:
    """The customer's totals; a customer never seen reads as zero."""
    return account_find(user_id=user_id) or Balance(user_id=user_id, total_points_earned=0, total_points_redeemed=0)


def account_exists(*, user_id: int) -> bool:
    return Account.objects.filter(user_id=user_id).exists()


def _page(queryset: QuerySet[Reward], *, limit: int, before_id: int | None) -> HistoryPage:
    if before_id is not None:
        queryset = queryset.filter(id__lt=before_id)
    # One row more than asked tells whether another page exists, without a COUNT.
    rows = list(queryset.order_by("-id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return HistoryPage(rows=rows, has_more=has_more, next_cursor=str(rows[-1].id) if has_more else None)


def reward_history(*, user_id: int, limit: int = HISTORY_DEFAULT_LIMIT, before_id: int | None = None) -> HistoryPage:
    return _page(Reward.objects.filter(user_id=user_id), limit=limit, before_id=before_id)


def user_info(
    *, user_id: int, limit: int = HISTORY_DEFAULT_LIMIT, before_id: int | None = None
) -> tuple[Balance, HistoryPage]:
    """The totals and one page of the ledger, for get-user-info/."""
    return account_balance(user_id=user_id), reward_history(user_id=user_id, limit=limit, before_id=before_id)


def redemption_history(
    *, user_id: int, limit: int = HISTORY_DEFAULT_LIMIT, before_id: int | None = None
) -> HistoryPage:
    queryset = Reward.objects.filter(user_id=user_id, kind__in=REDEMPTION_KINDS).select_related("redeemed_item")
    return _page(queryset, limit=limit, before_id=before_id)


def catalog_items_active() -> QuerySet[CatalogItem]:
    return CatalogItem.objects.active()


def catalog_item_for_redemption(*, kind: str, points: int, amount: Decimal) -> CatalogItem | None:
    """The active option with exactly these points and amount (at most one, by constraint)."""
    found = CatalogItem.objects.raw(
        f"SELECT * FROM {CatalogItem._meta.db_table}"
        " WHERE is_active AND kind = %s AND points_cost = %s AND amount = %s",
        [kind, points, amount],
    )
    return next(iter(found), None)


@dataclass(frozen=True)
class AccountDrift:
    user_id: int
    account_earned: int | None
    account_redeemed: int | None
    ledger_earned: int
    ledger_redeemed: int


def ledger_drift() -> list[AccountDrift]:
    """Every account whose totals differ from the sums of its ledger rows.

    Also reports ledger rows with no account and accounts with no rows, in one
    pass over the ledger inside the database.
    """
    accounts, rewards = Account._meta.db_table, Reward._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT COALESCE(a.user_id, l.user_id), a.total_points_earned, a.total_points_redeemed,
                   COALESCE(l.earned, 0), COALESCE(l.redeemed, 0)
            FROM {accounts} a
            FULL OUTER JOIN (
                SELECT user_id, SUM(points_earned) AS earned, SUM(points_redeemed) AS redeemed
                FROM {rewards} GROUP BY user_id
            ) l ON l.user_id = a.user_id
            WHERE a.user_id IS NULL
               OR a.total_points_earned <> COALESCE(l.earned, 0)
               OR a.total_points_redeemed <> COALESCE(l.redeemed, 0)
            ORDER BY 1
            """
        )
        return [AccountDrift(*(int(v) if v is not None else None for v in row)) for row in cursor.fetchall()]
