"""Reads of the ledger. A balance is one row; history is keyset-paged, newest first."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Q, QuerySet

from core.db_router import read_alias
from rewards.models import (
    REDEMPTION_KINDS,
    Account,
    Badge,
    BadgeAward,
    CatalogItem,
    CatalogRedemptionCount,
    Challenge,
    ChallengeCompletion,
    ChallengeContribution,
    ChallengeProgress,
    Event,
    LedgerDigest,
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
    SegmentAward,
    SegmentAwardCredit,
    SegmentAwardMember,
)
from rewards.verify import (
    ZERO_HASH,
    AuditProblem,
    AuditRow,
    ChainRow,
    Problem,
    audit_chain_problems,
    chain_problems,
    chain_time,
    digest_hash,
    head_leaf,
    heads_levels,
    heads_root,
    micros_time,
    signature_valid,
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


# What admin's customer page shows of a history row: its columns and its rule's name and
# version. Reading no more spares the ORM most of its work per row. The API's history is
# shaped in SQL (``answer_history_rows``); a template needs the rows as objects.
_HISTORY_COLUMNS = (
    *("id", "kind", "points_earned", "points_redeemed", "pending_change", "reward_description", "is_active"),
    *("created_at", "rule_id", "rule_version", "rule__name"),
)


def reward_history(*, user_id: int, limit: int = HISTORY_DEFAULT_LIMIT, before_id: int | None = None) -> HistoryPage:
    rows = Reward.objects.filter(user_id=user_id).select_related("rule").only(*_HISTORY_COLUMNS)
    return _page(rows, limit=limit, before_id=before_id)


def _answer(sql: str, params: list[Any]) -> str:
    """An answer PostgreSQL wrote whole (rewards/sql/answers.sql), as its JSON text, read where
    the request's reads go."""
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def all_history_answer(*, user_id: int, limit: int = HISTORY_DEFAULT_LIMIT, before_id: int | None = None) -> str:
    """get-all-history's answer as JSON text: a page of the history (``answer_all_history``)."""
    return _answer("SELECT answer_all_history(%s, %s, %s)", [user_id, limit, before_id])


def history_rows_shown(*, user_id: int) -> list[dict[str, Any]]:
    """Every row of a customer's history, oldest first, in the history's one shape
    (``answer_history_rows``): what their export carries."""
    with connections[read_alias()].cursor() as cursor:
        cursor.execute("SELECT shown FROM answer_history_rows(%s) ORDER BY id", [user_id])
        return [json.loads(shown) for (shown,) in cursor.fetchall()]


def badges_held_shown(*, user_id: int) -> list[dict[str, Any]]:
    """The badges a customer holds now, oldest award first, as get-user-info shows them
    (``answer_badges_held``)."""
    return json.loads(_answer("SELECT answer_badges_held(%s)", [user_id]))


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


def _problems(sql: str, params: list | None = None) -> list[LedgerProblem]:
    """The problems a check's query finds: rows of (user_id, check, found, expected)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            LedgerProblem(user_id=user_id, check=check, found=found, expected=expected)
            for user_id, check, found, expected in cursor.fetchall()
        ]


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
    # The hash chain's head counts the rows (verify_ledger checks the hashes themselves).
    ("chain_seq = number of rows", "a.chain_seq", "COALESCE(r.chained, 0)"),
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
                   SUM(pending_change) AS pending, COUNT(*) AS chained
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
    return (
        problems
        + _rule_awards_drift()
        + _qualifying_drift()
        + _catalog_drift()
        + _segment_awards_drift()
        + _challenges_drift()
    )


def _challenges_drift() -> list[LedgerProblem]:
    """Challenges' progress against their events, and completions against their awards: a
    progress is the sum of its contributions less what returns took back (a streak: the longest
    run of consecutive days among them); a completion's points are one ledger credit of kind
    ``challenge`` to its customer for exactly those points (none without points), a cancelled
    one's taken back by one ``challenge_cancel`` row, and its badge award is its customer's."""
    sql = f"""
        WITH counted AS (
            SELECT challenge_id, user_id, period_start, SUM(amount - taken_back) AS value
            FROM {ChallengeContribution._meta.db_table} GROUP BY 1, 2, 3
        )
        SELECT COALESCE(p.user_id, c.user_id),
               'challenge ' || COALESCE(p.challenge_id, c.challenge_id) || ' progress of '
                   || COALESCE(p.period_start, c.period_start) || ' = its events',
               p.value,
               CASE WHEN ch.goal ->> 'metric' = 'streak_days'
                    THEN challenge_streak_longest(ch.id, COALESCE(p.user_id, c.user_id),
                                                  COALESCE(p.period_start, c.period_start))
                    ELSE c.value END
        FROM {ChallengeProgress._meta.db_table} p
        FULL OUTER JOIN counted c
            ON c.challenge_id = p.challenge_id AND c.user_id = p.user_id AND c.period_start = p.period_start
        JOIN {Challenge._meta.db_table} ch ON ch.id = COALESCE(p.challenge_id, c.challenge_id)
        WHERE p.value IS DISTINCT FROM CASE WHEN ch.goal ->> 'metric' = 'streak_days'
                    THEN challenge_streak_longest(ch.id, COALESCE(p.user_id, c.user_id),
                                                  COALESCE(p.period_start, c.period_start))
                    ELSE c.value END
        UNION ALL
        SELECT x.user_id, 'challenge ' || x.challenge_id || ' of a progress or contribution exists', 0, 1
        FROM (
            SELECT DISTINCT challenge_id, user_id FROM {ChallengeProgress._meta.db_table}
            UNION SELECT DISTINCT challenge_id, user_id FROM {ChallengeContribution._meta.db_table}
        ) x
        WHERE NOT EXISTS (SELECT 1 FROM {Challenge._meta.db_table} ch WHERE ch.id = x.challenge_id)
        UNION ALL
        SELECT d.user_id, 'challenge completion ' || d.id || ' = its award',
               COALESCE(l.points, 0), d.points
        FROM {ChallengeCompletion._meta.db_table} d
        LEFT JOIN {Reward._meta.db_table} w ON w.id = d.reward_id AND w.user_id = d.user_id AND w.kind = %s
        LEFT JOIN {PointLot._meta.db_table} l ON l.credit_id = w.id
        WHERE COALESCE(l.points, 0) <> d.points OR (d.reward_id IS NOT NULL AND w.id IS NULL)
        UNION ALL
        SELECT d.user_id, 'challenge completion ' || d.id || ' cancelled = its take-back',
               (d.cancel_reward_id IS NOT NULL)::int,
               (d.cancelled_at IS NOT NULL AND d.reward_id IS NOT NULL)::int
        FROM {ChallengeCompletion._meta.db_table} d
        LEFT JOIN {Reward._meta.db_table} x ON x.id = d.cancel_reward_id AND x.user_id = d.user_id AND x.kind = %s
        WHERE (d.cancel_reward_id IS NOT NULL) <> (d.cancelled_at IS NOT NULL AND d.reward_id IS NOT NULL)
           OR (d.cancel_reward_id IS NOT NULL AND x.id IS NULL)
        UNION ALL
        SELECT d.user_id, 'challenge completion ' || d.id || ' badge = its customer''s', b.user_id, d.user_id
        FROM {ChallengeCompletion._meta.db_table} d JOIN {BadgeAward._meta.db_table} b ON b.id = d.badge_award_id
        WHERE b.user_id <> d.user_id
        ORDER BY 1, 2
    """
    return _problems(sql, [RewardKind.CHALLENGE, RewardKind.CHALLENGE_CANCEL])


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
    return _problems(sql)


def _segment_awards_drift() -> list[LedgerProblem]:
    """Bulk awards against their credits: each credit row is a ledger credit of its member for
    the award's points, to a member of its list; an award's ``credited`` is its credit rows, and
    a done award credited every member. (user 0: an award's own figure.)"""
    awards, members = SegmentAward._meta.db_table, SegmentAwardMember._meta.db_table
    credits = SegmentAwardCredit._meta.db_table
    sql = f"""
        SELECT c.user_id, 'bulk award ' || s.award_id || ': credit ' || c.credit_id || ' = its points to its member',
               w.points_earned, CASE WHEN w.user_id = c.user_id AND m.user_id IS NOT NULL THEN s.points END
        FROM {credits} c
        JOIN {awards} s ON s.id = c.award_id
        JOIN {Reward._meta.db_table} w ON w.id = c.credit_id
        LEFT JOIN {members} m ON m.award_id = c.award_id AND m.user_id = c.user_id
        WHERE w.user_id <> c.user_id OR m.user_id IS NULL OR w.points_earned <> s.points
        UNION ALL
        SELECT 0, 'bulk award ' || s.award_id || ' credited = its credits', s.credited,
               (SELECT count(*) FROM {credits} c WHERE c.award_id = s.id)
        FROM {awards} s
        WHERE s.credited <> (SELECT count(*) FROM {credits} c WHERE c.award_id = s.id)
           OR (s.state = 'done' AND s.credited <> s.members)
        ORDER BY 1, 2
    """
    return _problems(sql)


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
    return _problems(sql, [RewardKind.TIER, RewardKind.TIER])


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
    return _problems(sql)


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


# The columns a chain check reads of each ledger row: its canonical values (rewards/verify.py's
# ROW_FIELDS; times as microseconds since 1970, which spares a million rows their datetimes),
# then what the check compares them with.
_CHAIN_COLUMNS = (
    "id, user_id, seq, kind, points_earned, points_redeemed, pending_change, "
    "(extract(epoch FROM earned_date) * 1000000)::bigint, (extract(epoch FROM redeemed_date) * 1000000)::bigint, "
    "(extract(epoch FROM created_at) * 1000000)::bigint, application_id, imported_from, rule_id, rule_version, "
    "encode(description_commitment, 'hex'), hash, reward_description, description_salt"
)


def chain_row(record: tuple) -> ChainRow:
    """A ledger row read with ``_CHAIN_COLUMNS``, as rewards/verify.py checks it."""
    (row_id, user_id, seq, kind, earned, redeemed, pending, earned_date, redeemed_date, created_at, app,
     imported_from, rule_id, rule_version, commitment, row_hash, description, salt) = record  # fmt: skip
    created = micros_time(created_at)
    values = (
        user_id, seq, kind, earned, redeemed, pending,
        created if earned_date == created_at else micros_time(earned_date),
        created if redeemed_date == created_at else micros_time(redeemed_date),
        created, app, imported_from, rule_id, rule_version, commitment,
    )  # fmt: skip
    return ChainRow(
        row_id=row_id,
        values=values,
        hash=bytes(row_hash),
        description=description,
        description_salt=None if salt is None else bytes(salt),
        commitment=bytes.fromhex(commitment),
    )


def customer_chain(user_id: int) -> list[ChainRow]:
    """One customer's chain, in order."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_CHAIN_COLUMNS} FROM rewards_reward WHERE user_id = %s ORDER BY seq, id", [user_id])
        return [chain_row(record) for record in cursor.fetchall()]


def _chains_streamed() -> Iterator[ChainRow]:
    """Every ledger row in (user_id, seq) order, through a server-side cursor (the caller holds
    a transaction), so a million rows never sit in memory."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(f"SELECT {_CHAIN_COLUMNS} FROM rewards_reward ORDER BY user_id, seq, id")
        while batch := cursor.fetchmany(10_000):
            for record in batch:
                yield chain_row(record)


def _heads_problems() -> list[Problem]:
    """Accounts whose head is not their last row (the rows' hashes are checked by the chains)."""
    sql = """
        SELECT COALESCE(a.user_id, h.user_id), a.chain_seq, h.seq, h.id, a.user_id IS NULL
        FROM rewards_account a
        FULL JOIN (
            SELECT DISTINCT ON (user_id) user_id, seq, hash, id FROM rewards_reward ORDER BY user_id, seq DESC, id DESC
        ) h ON h.user_id = a.user_id
        WHERE a.user_id IS NULL OR a.chain_seq IS DISTINCT FROM COALESCE(h.seq, 0)
           OR a.chain_hash IS DISTINCT FROM h.hash
        ORDER BY 1
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        found = cursor.fetchall()
    return [
        Problem(
            user_id,
            last_seq,
            row_id,
            "rows but no account"
            if no_account
            else f"the account's head (seq {head_seq}) is not its last row (seq {last_seq or 0}): the head moved",
        )
        for user_id, head_seq, last_seq, row_id, no_account in found
    ]


def _digest_problems(trusted_keys: set[bytes] | None) -> list[Problem]:
    """Each digest: the one before it is the one it names, its heads give its root, its hash is its
    own, its key is trusted (when keys are given) and its signature verifies; each head it holds
    is a row of its chain."""
    problems: list[Problem] = []
    previous = ZERO_HASH
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, cut_at, previous_hash, heads_count, heads_root, hash, public_key, signature, audit_seq, "
            "audit_hash FROM rewards_ledgerdigest ORDER BY id"
        )
        digests = cursor.fetchall()
        for digest_id, cut_at, previous_hash, count, root, stored, key, signature, audit_seq, audit_hash in digests:
            name = f"digest {digest_id}"
            previous_hash, root, stored, key, signature = map(bytes, (previous_hash, root, stored, key, signature))
            audit = None if audit_seq is None else (audit_seq, bytes(audit_hash or b""))
            cursor.execute(
                "SELECT user_id, seq, hash, position FROM rewards_ledgerdigesthead WHERE digest_id = %s "
                "ORDER BY user_id, id",
                [digest_id],
            )
            heads = cursor.fetchall()
            leaves = [head_leaf(user_id, seq, bytes(head)) for user_id, seq, head, _ in heads]
            cursor.execute(
                "SELECT nodes FROM rewards_ledgerdigestlevel WHERE digest_id = %s ORDER BY level", [digest_id]
            )
            stored_levels = [bytes(nodes) for (nodes,) in cursor.fetchall()]
            signed = digest_hash(chain_time(cut_at), previous_hash, count, root, audit)
            if previous_hash != previous:
                what = "it does not name the digest before it: a digest deleted, inserted or altered"
            elif len(heads) != count or heads_root(leaves) != root:
                what = "its heads do not give its root: a head altered, added or removed"
            elif signed != stored:
                what = "its hash does not match its contents: altered"
            elif [position for *_, position in heads] != list(range(len(heads))) or stored_levels != [
                b"".join(level) for level in heads_levels(leaves)[:-1]
            ]:
                what = "its stored Merkle levels do not match its heads: the proofs it gives are wrong"
            elif trusted_keys is not None and key not in trusted_keys:
                what = f"signed by a key this service does not trust ({key.hex()})"
            elif not signature_valid(key, signature, signed):
                what = "its signature does not verify"
            else:
                what = None
            if what:
                problems.append(Problem(None, None, None, f"{name}: {what}"))
            previous = stored
        cursor.execute(
            """
            SELECT h.digest_id, h.user_id, h.seq FROM rewards_ledgerdigesthead h
            LEFT JOIN rewards_reward r ON r.user_id = h.user_id AND r.seq = h.seq AND r.hash = h.hash
            WHERE r.id IS NULL ORDER BY h.digest_id, h.user_id
            """
        )
        for digest_id, user_id, seq in cursor.fetchall():
            what = f"digest {digest_id} holds this head, and no row has it: the chain was rewritten"
            problems.append(Problem(user_id, seq, None, what))
    return problems


def _audit_streamed() -> Iterator[AuditRow]:
    """Every audit entry of every audit table, in chain order (those with no link first), through
    a server-side cursor (the caller holds a transaction in UTC: the data's times are written as
    the chain wrote them)."""
    from core.audit import AUDIT_SUBJECTS, audit_models

    selects = []
    for model in audit_models():
        table = connection.ops.quote_name(model._meta.db_table)
        dropped = ", ".join(f"'{f.column}'" for f in model._meta.concrete_fields if f.column.startswith("pgh_"))
        subject = AUDIT_SUBJECTS[model.pgh_tracked_model._meta.label]
        selects.append(
            f"SELECT pgh_seq, pgh_id, '{subject}', pgh_obj_id::text, pgh_label, "
            f"(extract(epoch FROM pgh_created_at) * 1000000)::bigint, pgh_context_id::text, pgh_context::text, "
            f"(to_jsonb(e) - ARRAY[{dropped}])::text, pgh_hash FROM {table} e"
        )
    with connection.chunked_cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects) + " ORDER BY 1 NULLS FIRST, 2")
        while batch := cursor.fetchmany(10_000):
            for seq, entry_id, subject, object_id, action, at, context_id, context, data, entry_hash in batch:
                yield AuditRow(
                    seq=seq,
                    entry_id=entry_id,
                    subject=subject,
                    object_id=object_id,
                    action=action,
                    at=micros_time(at),
                    context_id=context_id,
                    context=None if context is None else json.loads(context, parse_float=Decimal),
                    data=json.loads(data, parse_float=Decimal),
                    hash=None if entry_hash is None else bytes(entry_hash),
                )


def _audit_problems() -> tuple[list[AuditProblem], int]:
    """The audit chain recomputed from its entries (rewards/verify.py), its head, and the audit
    head each digest signed: what does not match, and how many entries were read."""
    with connection.cursor() as cursor:
        # The head's row moves at commit (a deferred trigger): run what this transaction has
        # deferred, so one that changed something and then verifies (a shell, a test) reads the
        # head it would commit. (verify_ledger's own transaction has nothing deferred.)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT id, audit_seq, audit_hash FROM rewards_ledgerdigest WHERE audit_seq IS NOT NULL")
        signed = [(digest_id, seq, bytes(head)) for digest_id, seq, head in cursor.fetchall()]
        cursor.execute("SELECT seq, hash FROM rewards_auditchainhead WHERE id = 1")
        head = cursor.fetchone()
    wanted = {seq for _, seq, _ in signed}
    found: dict[int, bytes | None] = {0: ZERO_HASH}
    read = 0

    def kept(stream: Iterator[AuditRow]) -> Iterator[AuditRow]:
        nonlocal read
        for entry in stream:
            read += 1
            if entry.seq in wanted:
                found[entry.seq] = entry.hash
            yield entry

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL TimeZone = 'UTC'")
        stream = kept(_audit_streamed())
        problems, last_seq, last_hash = audit_chain_problems(stream)
        for _ in stream:  # the rest, for the digests' heads
            pass
    head = (0, ZERO_HASH) if head is None else (head[0], bytes(head[1]))  # no row before the first change
    if not problems and head != (last_seq, last_hash):
        what = f"the audit chain's head (seq {head[0]}) is not its last entry (seq {last_seq}): the head moved"
        problems.append(AuditProblem(None, None, None, None, what))
    for digest_id, seq, digest_head in signed:
        if found.get(seq) != digest_head:
            what = f"digest {digest_id} holds this audit head, and no entry has it: the audit record was rewritten"
            problems.append(AuditProblem(seq, None, None, None, what))
    return problems, read


@dataclass(frozen=True)
class LedgerVerification:
    rows: int
    customers: int
    digests: int
    problems: list[Problem | AuditProblem]
    audit_entries: int = 0


def ledger_verify(*, trusted_keys: set[bytes] | None) -> LedgerVerification:
    """Every chain recomputed from its rows (rewards/verify.py, streamed), every account's head,
    every digest and its signature, and every head a digest holds: what does not match, the
    first bad row of each chain first."""
    rows = 0
    customers: set[int] = set()

    def counted(stream: Iterator[ChainRow]) -> Iterator[ChainRow]:
        nonlocal rows
        for row in stream:
            rows += 1
            customers.add(row.user_id)
            yield row

    with transaction.atomic():
        problems = list(chain_problems(counted(_chains_streamed())))
    problems += _heads_problems()
    problems += _digest_problems(trusted_keys)
    audit_problems, audit_entries = _audit_problems()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rewards_ledgerdigest")
        (digests,) = cursor.fetchone()
    return LedgerVerification(
        rows=rows,
        customers=len(customers),
        digests=digests,
        problems=[*problems, *audit_problems],
        audit_entries=audit_entries,
    )


@dataclass(frozen=True)
class DigestsPage:
    digests: list[LedgerDigest]
    has_more: bool
    next_after: int


def digests_page(*, after: int, limit: int, cut_from: datetime | None, cut_to: datetime | None) -> DigestsPage:
    """Digests after an id, oldest first, cut within [cut_from, cut_to] when given."""
    found = LedgerDigest.objects.filter(id__gt=after).order_by("id")
    if cut_from is not None:
        found = found.filter(cut_at__gte=cut_from)
    if cut_to is not None:
        found = found.filter(cut_at__lte=cut_to)
    digests = list(found[: limit + 1])
    page = digests[:limit]
    return DigestsPage(digests=page, has_more=len(digests) > limit, next_after=page[-1].id if page else after)
