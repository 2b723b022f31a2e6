"""Reads of the ledger. A balance is one row; history is keyset-paged, newest first."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, connections
from django.db.models import Q, QuerySet

from core.db_router import read_alias
from rewards.models import (
    REDEMPTION_KINDS,
    Account,
    Badge,
    BadgeAward,
    CatalogItem,
    CatalogRedemptionCount,
    Event,
    LotConsumption,
    PointLot,
    QualifyingCredit,
    QualifyingDay,
    RedeemedItem,
    Reward,
    RewardKind,
    Rule,
    RuleCapCount,
    RuleStatus,
    RuleVersion,
)

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
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(BALANCE_COLUMNS)} FROM {Account._meta.db_table} WHERE user_id = %s", [user_id]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Balance(*row)


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
    rows = Reward.objects.filter(user_id=user_id).select_related("rule", "lot")
    return _page(rows, limit=limit, before_id=before_id)


def user_info(
    *, user_id: int, limit: int = HISTORY_DEFAULT_LIMIT, before_id: int | None = None
) -> tuple[Balance, HistoryPage]:
    """The totals and one page of the ledger, for get-user-info/."""
    return account_balance(user_id=user_id), reward_history(user_id=user_id, limit=limit, before_id=before_id)


def badges_held(*, user_id: int) -> list[BadgeAward]:
    """The badges a customer holds now, oldest award first."""
    awards = BadgeAward.objects.filter(user_id=user_id, revoked_at__isnull=True).select_related("badge")
    return list(awards.order_by("id"))


def badges_all() -> QuerySet[Badge]:
    return Badge.objects.order_by("code")


def badge_find(*, code: str) -> Badge | None:
    return Badge.objects.filter(code=code).first()


def redemption_history(
    *, user_id: int, limit: int = HISTORY_DEFAULT_LIMIT, before_id: int | None = None
) -> HistoryPage:
    queryset = Reward.objects.filter(user_id=user_id, kind__in=REDEMPTION_KINDS).select_related("redeemed_item")
    return _page(queryset, limit=limit, before_id=before_id)


def rows_by_keyset(queryset: QuerySet, *, page: int = 2000) -> Iterator:
    """Every row of ``queryset``, newest primary key first, read a page at a time by keyset: memory
    stays flat, and no server-side cursor is needed (a transaction-pooling PgBouncer has none)."""
    queryset = queryset.order_by("-pk")
    last = None
    while True:
        rows = list((queryset if last is None else queryset.filter(pk__lt=last))[:page])
        yield from rows
        if len(rows) < page:
            return
        last = rows[-1].pk


def catalog_items_all() -> QuerySet[CatalogItem]:
    """Every catalog item, active or not, as staff manage them."""
    return CatalogItem.objects.order_by("kind", "points_cost", "id")


def catalog_item_find(*, item_id: int) -> CatalogItem | None:
    return CatalogItem.objects.filter(pk=item_id).first()


_CATALOG_FIELDS = CatalogItem._meta.concrete_fields
_CATALOG_READ = (
    f"SELECT {', '.join(field.column for field in _CATALOG_FIELDS)} FROM {CatalogItem._meta.db_table}"
    " WHERE is_active AND kind = %s AND points_cost = %s AND amount = %s"
)
_CATALOG_JSON = {index for index, field in enumerate(_CATALOG_FIELDS) if field.get_internal_type() == "JSONField"}


def catalog_item_for_redemption(*, kind: str, points: int, amount: Decimal) -> CatalogItem | None:
    """The active option with exactly these points and amount (at most one, by constraint).
    Read by hand: on the write path, a raw queryset's per-column conversion costs more than the
    read (the JSON column is the only one the driver does not hand over as a Python value)."""
    with connection.cursor() as cursor:
        cursor.execute(_CATALOG_READ, [kind, points, amount])
        row = cursor.fetchone()
    if row is None:
        return None
    values = [
        json.loads(value) if i in _CATALOG_JSON and isinstance(value, str) else value for i, value in enumerate(row)
    ]
    return CatalogItem.from_db(connection.alias, None, values)


@dataclass(frozen=True)
class LedgerProblem:
    """One thing check_ledger found wrong: which customer, what, and the two figures."""

    user_id: int
    check: str
    found: object
    expected: object

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.check}: account/lots say {self.found}, expected {self.expected}"


def _differ(a: str, b: str) -> str:
    """Null-safe "differ" in SQL that PostgreSQL and SQLite both read."""
    return f"(({a}) IS NULL) <> (({b}) IS NULL) OR ({a}) <> ({b})"


# (name, what the account or lots say, what the ledger or lots say it must be)
_CHECKS = [
    # An account with no rows yet is fine (an imported customer with nothing to their name):
    # the totals below must then be zero.
    (
        "account row exists",
        "CASE WHEN r.user_id IS NULL AND s.user_id IS NULL THEN NULL ELSE a.user_id END",
        "COALESCE(r.user_id, s.user_id)",
    ),
    ("total_points_earned = sum of points_earned", "a.total_points_earned", "COALESCE(r.earned, 0)"),
    ("total_points_redeemed = sum of points_redeemed", "a.total_points_redeemed", "COALESCE(r.redeemed, 0)"),
    ("pending_points = sum of pending_change", "a.pending_points", "COALESCE(r.pending, 0)"),
    (
        "available = remaining of available lots - points owed",
        "a.total_points_earned - a.total_points_redeemed",
        "COALESCE(s.available, 0) - a.points_owed",
    ),
    (
        "points owed only while no available lot has points left",
        "CASE WHEN a.points_owed > 0 THEN COALESCE(s.available, 0) ELSE 0 END",
        "0",
    ),
    ("pending_points = remaining of pending lots", "a.pending_points", "COALESCE(s.pending, 0)"),
    ("expiring_points = remaining of lots in the notice window", "a.expiring_points", "COALESCE(s.expiring, 0)"),
    ("next_expiry_at = soonest expiry of available lots", "a.next_expiry_at", "s.next_expiry"),
    ("next_available_at = soonest pending lot", "a.next_available_at", "s.next_available"),
    ("every lot: remaining = points - consumed - expired - cancelled >= 0", "COALESCE(s.bad_lots, 0)", "0"),
    ("every credit row has its lot", "COALESCE(m.missing, 0)", "0"),
]


def ledger_drift() -> list[LedgerProblem]:
    """Everything in which the accounts, the ledger rows and the lots disagree, in one pass
    over them inside the database (a Python loop over customers would not scale)."""
    accounts, rewards, lots, consumptions = (
        Account._meta.db_table,
        Reward._meta.db_table,
        PointLot._meta.db_table,
        LotConsumption._meta.db_table,
    )
    checks = ", ".join(f"{found}, {expected}" for _, found, expected in _CHECKS)
    mismatch = " OR ".join(_differ(found, expected) for _, found, expected in _CHECKS)
    sql = f"""
        WITH r AS (
            SELECT user_id, SUM(points_earned) AS earned, SUM(points_redeemed) AS redeemed,
                   SUM(pending_change) AS pending
            FROM {rewards} GROUP BY user_id
        ), c AS (
            SELECT lot_id, SUM(points) AS consumed FROM {consumptions} GROUP BY lot_id
        ), s AS (
            SELECT l.user_id,
                   SUM(CASE WHEN NOT l.pending THEN l.remaining ELSE 0 END) AS available,
                   SUM(CASE WHEN l.pending THEN l.remaining ELSE 0 END) AS pending,
                   SUM(CASE WHEN NOT l.pending AND l.notice_at IS NOT NULL THEN l.remaining ELSE 0 END) AS expiring,
                   MIN(CASE WHEN NOT l.pending AND l.remaining > 0 THEN l.expires_at END) AS next_expiry,
                   MIN(CASE WHEN l.pending AND l.remaining > 0 THEN l.available_at END) AS next_available,
                   SUM(CASE WHEN l.remaining < 0 OR l.remaining <> l.points - COALESCE(c.consumed, 0)
                            - l.expired_points - l.cancelled_points THEN 1 ELSE 0 END) AS bad_lots
            FROM {lots} l LEFT JOIN c ON c.lot_id = l.id GROUP BY l.user_id
        ), m AS (
            SELECT w.user_id, COUNT(*) AS missing FROM {rewards} w
            WHERE w.kind NOT IN (%s, %s) AND (w.points_earned > 0 OR w.pending_change > 0)
              AND NOT EXISTS (SELECT 1 FROM {lots} x WHERE x.credit_id = w.id)
            GROUP BY w.user_id
        )
        SELECT COALESCE(a.user_id, r.user_id, s.user_id), {checks}
        FROM {accounts} a
        FULL OUTER JOIN r ON r.user_id = a.user_id
        FULL OUTER JOIN s ON s.user_id = COALESCE(a.user_id, r.user_id)
        LEFT JOIN m ON m.user_id = COALESCE(a.user_id, r.user_id, s.user_id)
        WHERE {mismatch}
        ORDER BY 1
    """
    problems = []
    with connection.cursor() as cursor:
        # A release moves a lot's points; a refund gives points back to the lots they came from.
        cursor.execute(sql, [RewardKind.RELEASE, RewardKind.REFUND])
        for user_id, *values in cursor.fetchall():
            for index, (name, _, _) in enumerate(_CHECKS):
                found, expected = values[2 * index], values[2 * index + 1]
                if found != expected:
                    problems.append(LedgerProblem(user_id=user_id, check=name, found=found, expected=expected))
    return problems + _rule_awards_drift() + _qualifying_drift() + _catalog_drift()


def _rule_awards_drift() -> list[LedgerProblem]:
    """Earning rules' awards against their caps' counts: a rule's budget count is the points
    its awards gave while its version had a budget, and a customer's counts for a period kind
    are the points its awards gave them while its version had that per-customer cap (user 0
    is a budget). Every award names a version its rule had."""
    sql = f"""
        WITH awards AS (
            SELECT w.rule_id, w.user_id, l.points, v.definition -> 'caps' AS caps, v.id AS version_id
            FROM {Reward._meta.db_table} w
            JOIN {PointLot._meta.db_table} l ON l.credit_id = w.id
            LEFT JOIN {RuleVersion._meta.db_table} v ON v.rule_id = w.rule_id AND v.version = w.rule_version
            WHERE w.rule_id IS NOT NULL
        ), counted AS (
            SELECT rule_id, CASE WHEN period = 'budget' THEN 0 ELSE user_id END AS user_id, period,
                   SUM(points) AS points
            FROM {RuleCapCount._meta.db_table} GROUP BY 1, 2, 3
        ), awarded AS (
            SELECT rule_id, 0 AS user_id, 'budget' AS period, SUM(points) AS points FROM awards
            WHERE caps ? 'budget' GROUP BY 1
            UNION ALL
            SELECT rule_id, user_id, caps ->> 'period', SUM(points) FROM awards
            WHERE caps ? 'per_customer' GROUP BY 1, 2, 3
        )
        SELECT user_id, 'rule ' || rule_id || ' ' || period || ' count = its awards',
               COALESCE(c.points, 0), COALESCE(a.points, 0)
        FROM counted c FULL OUTER JOIN awarded a USING (rule_id, user_id, period)
        WHERE COALESCE(c.points, 0) <> COALESCE(a.points, 0)
        UNION ALL
        SELECT user_id, 'every award names a version its rule had', COUNT(*), 0
        FROM awards WHERE version_id IS NULL GROUP BY user_id
        ORDER BY 1, 2
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [
            LedgerProblem(user_id=user_id, check=check, found=found, expected=expected)
            for user_id, check, found, expected in cursor.fetchall()
        ]


def _qualifying_drift() -> list[LedgerProblem]:
    """Tiers' qualifying points against the rows: each day bucket is what its qualifying
    credits count now (their points less what returns took back), and each qualifying credit
    is a ledger credit of the same customer and points, never a tier award."""
    credits, days = QualifyingCredit._meta.db_table, QualifyingDay._meta.db_table
    sql = f"""
        WITH counted AS (
            SELECT user_id, day, SUM(points - taken_back) AS points FROM {credits} GROUP BY user_id, day
        )
        SELECT COALESCE(d.user_id, c.user_id), 'qualifying points of ' || COALESCE(d.day, c.day) || ' = their credits',
               COALESCE(d.points, 0), COALESCE(c.points, 0)
        FROM {days} d FULL OUTER JOIN counted c ON c.user_id = d.user_id AND c.day = d.day
        WHERE COALESCE(d.points, 0) <> COALESCE(c.points, 0)
        UNION ALL
        SELECT q.user_id, 'qualifying credit ' || q.credit_id || ' = its ledger credit', q.points,
               CASE WHEN w.user_id = q.user_id AND w.kind <> %s THEN l.points END
        FROM {credits} q
        JOIN {Reward._meta.db_table} w ON w.id = q.credit_id
        LEFT JOIN {PointLot._meta.db_table} l ON l.credit_id = q.credit_id
        WHERE w.user_id <> q.user_id OR w.kind = %s OR l.points IS DISTINCT FROM q.points
        ORDER BY 1, 2
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [RewardKind.TIER, RewardKind.TIER])
        return [
            LedgerProblem(user_id=user_id, check=check, found=found, expected=expected)
            for user_id, check, found, expected in cursor.fetchall()
        ]


def _catalog_drift() -> list[LedgerProblem]:
    """Rewards with stock and limits against their redemptions, and refunds against what they
    gave back: an item's units out are its coupons and donations that took a unit and were not
    given back; a customer's count for a limit period is theirs that counted there; a refund
    gave back to each lot exactly what its redemption took from it; no lot's consumptions add
    up below zero. (user 0: a catalog item's own figure.)"""
    items, catalog = RedeemedItem._meta.db_table, CatalogItem._meta.db_table
    counts, consumptions = CatalogRedemptionCount._meta.db_table, LotConsumption._meta.db_table
    sql = f"""
        WITH held AS (
            SELECT catalog_item_id, COUNT(*) AS units FROM {items}
            WHERE stock_counted AND refund_id IS NULL GROUP BY catalog_item_id
        ), counted AS (
            SELECT i.catalog_item_id, w.user_id, i.limit_period, i.limit_period_start, COUNT(*) AS n
            FROM {items} i JOIN {Reward._meta.db_table} w ON w.id = i.reward_id
            WHERE i.limit_period_start IS NOT NULL AND i.refund_id IS NULL
            GROUP BY 1, 2, 3, 4
        ), mirrored AS (
            SELECT i.refund_id, c.lot_id,
                   SUM(CASE WHEN c.debit_id = i.refund_id THEN c.points ELSE 0 END) AS given,
                   SUM(CASE WHEN c.debit_id = i.reward_id THEN c.points ELSE 0 END) AS taken
            FROM {items} i JOIN {consumptions} c ON c.debit_id IN (i.reward_id, i.refund_id)
            WHERE i.refund_id IS NOT NULL GROUP BY 1, 2
        )
        SELECT 0, 'catalog item ' || c.id || ' units out = its redemptions holding a unit',
               c.units_out, COALESCE(h.units, 0)
        FROM {catalog} c LEFT JOIN held h ON h.catalog_item_id = c.id
        WHERE c.units_out <> COALESCE(h.units, 0)
        UNION ALL
        SELECT COALESCE(n.user_id, k.user_id),
               'catalog item ' || COALESCE(n.catalog_item_id, k.catalog_item_id) || ' redemptions in '
               || COALESCE(n.period, k.limit_period) || ' from ' || COALESCE(n.period_start, k.limit_period_start),
               COALESCE(n.count, 0), COALESCE(k.n, 0)
        FROM {counts} n FULL OUTER JOIN counted k
          ON k.catalog_item_id = n.catalog_item_id AND k.user_id = n.user_id AND k.limit_period = n.period
         AND k.limit_period_start = n.period_start
        WHERE COALESCE(n.count, 0) <> COALESCE(k.n, 0)
        UNION ALL
        SELECT l.user_id, 'refund ' || m.refund_id || ' gave lot ' || m.lot_id || ' back what its redemption took',
               -m.given, m.taken
        FROM mirrored m JOIN {PointLot._meta.db_table} l ON l.id = m.lot_id
        WHERE -m.given <> m.taken
        UNION ALL
        SELECT l.user_id, 'lot ' || l.id || ' consumptions add up to at least 0', SUM(c.points), 0
        FROM {consumptions} c JOIN {PointLot._meta.db_table} l ON l.id = c.lot_id
        GROUP BY l.user_id, l.id HAVING SUM(c.points) < 0
        ORDER BY 1, 2
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [
            LedgerProblem(user_id=user_id, check=check, found=found, expected=expected)
            for user_id, check, found, expected in cursor.fetchall()
        ]


def rules_listed(*, status: str | None = None, trigger: str | None = None, limit: int) -> list[Rule]:
    """Rules in the order they run per trigger; archived ones only when asked for by status."""
    rules = Rule.objects.order_by("trigger", "priority", "id")
    rules = rules.filter(status=status) if status else rules.exclude(status=RuleStatus.ARCHIVED)
    if trigger:
        rules = rules.filter(trigger=trigger)
    return list(rules[:limit])


def rule_find(*, rule_id: int) -> Rule | None:
    return Rule.objects.filter(pk=rule_id).first()


EVENTS_DEFAULT_LIMIT = 100
EVENTS_MAX_LIMIT = 1000


@dataclass(frozen=True)
class EventPage:
    events: list
    has_more: bool
    next_after: int


def events_after(*, after: int, limit: int = EVENTS_DEFAULT_LIMIT, application_id: object = None) -> EventPage:
    """Events with ids above ``after``, oldest first, that no running transaction can still
    come before: ids are handed out before commit, so the page stops at the first event
    whose transaction may still be in progress; a later call picks it up.

    Customer events are for every application that may read balances; an application's
    own events (its revocation) only for it.
    """
    events = Event.objects.filter(id__gt=after).filter(Q(user_id__isnull=False) | Q(application_id=application_id))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(id) FROM {Event._meta.db_table} WHERE id > %s"
            " AND xact_id >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
            [after],
        )
        unsettled = cursor.fetchone()[0]
    if unsettled is not None:
        events = events.filter(id__lt=unsettled)
    rows = list(events.order_by("id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(events=rows, has_more=has_more, next_after=rows[-1].id if rows else after)
