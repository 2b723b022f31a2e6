"""What the program costs, read from the ledger rows and the lots themselves, never from the
accounts' running totals (a report that trusted them could not catch them drifting):

- **liability** as of the end of a day (UTC): the points customers can spend, those on their
  way and those owed, the available ones by when they expire, and their money value;
- **rollforward** over days: opening, the movement of each ledger kind, closing; opening plus
  the movements is closing, exactly, and today's closing is the sum of the accounts' balances;
- **breakage**: the lots credited each month, and what became of their points.

Each is one aggregate query inside PostgreSQL (a Python loop over customers would not scale).

A row counts on the day it is dated (``created_at``, UTC: when it was posted, or a predecessor's
own date for an imported row). A report that ends today counts every row, those dated after
today too (an import may bring one), so today's figures are always the balances' figures; a
report that ends on an earlier day counts the rows dated up to its end.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from rewards.models import Account, CatalogItem, CatalogKind, PointLot, Reward, TierStanding
from rewards.services.tiers import ladder_read

EXPIRY_BUCKETS = (
    ("within_30_days", 30),
    ("within_90_days", 90),
    ("within_365_days", 365),
    ("later", None),
    ("never", None),
)
CENTS = Decimal("0.01")
# Later than any row: PostgreSQL holds this moment, and Python reads no date after it.
FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def utc_today() -> date:
    """The day a report's "today" is (UTC): the last day a report may end on."""
    return timezone.now().astimezone(UTC).date()


def start_of_day(day: date) -> datetime:
    """The first moment of ``day`` (UTC); year 1 included."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def end_of_day(day: date) -> datetime:
    """The first moment after ``day`` (UTC): a report "as of" a day counts what happened before it."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def rows_until(day: date) -> datetime:
    """Where the rows a report ending on ``day`` stop: at the end of that day, or nowhere for a
    report that ends today, so a row dated after today is in today's figures as it is in the
    balances (and never in the balances and in no report)."""
    return FAR_FUTURE if day >= utc_today() else end_of_day(day)


def _rows(sql: str, params: Any) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _money(points: int, per_point: Decimal) -> Decimal:
    return (Decimal(points) * per_point).quantize(CENTS, rounding=ROUND_HALF_UP)


# ---- liability ----------------------------------------------------------------------------------

_REWARDS, _LOTS = Reward._meta.db_table, PointLot._meta.db_table


def _per_customer(*, one: bool) -> str:
    """Each customer's figures from the rows dated before ``rows_until``: ``available`` (what the
    credits and debits leave, at least 0), ``pending`` and ``owed`` (what they leave below 0),
    with ``net``. The one computation of a customer's points at a moment: the liability sums it
    over every customer, and a customer's balance as of a moment (``customer_as_of``) is it,
    for ``one`` customer (``user_id``)."""
    customer = "AND user_id = %(user_id)s" if one else ""
    return f"""
        SELECT user_id, net, pending, GREATEST(net, 0) AS available, GREATEST(-net, 0) AS owed
        FROM (
            SELECT user_id, SUM(points_earned - points_redeemed) AS net, SUM(pending_change) AS pending
            FROM {_REWARDS} WHERE created_at < %(rows_until)s {customer} GROUP BY user_id
        ) sums
    """


# Each customer's available points (from the rows) are placed in their lots as the ledger spends
# them: debits and expiry take the soonest-expiring lots first, so what is left sits in the
# latest-expiring lots available by then. So the buckets add up to the available points exactly.
# A lot is there from its credit row's date, which is the lot's created_at except for an
# imported lot: written at the import, for a row that keeps its predecessor's date. So only the
# lots written after the cutoff (none in a report that ends today) read their row's date: as
# fast as reading the lots alone, where joining every lot to its row cost a third more.
# A lot is available from its available_at; in a report that ends today, a lot the ledger
# already counts as available (not pending) is available, whatever its row's date.
_LIABILITY = f"""
    WITH per AS ({_per_customer(one=False)}), lots AS (
        SELECT l.user_id, l.expires_at, l.points - l.cancelled_points AS cap,
               SUM(l.points - l.cancelled_points) OVER (
                   PARTITION BY l.user_id ORDER BY l.expires_at DESC NULLS FIRST, l.id DESC
               ) AS upto
        FROM {_LOTS} l JOIN per p ON p.user_id = l.user_id AND p.net > 0
        WHERE (l.created_at < %(rows_until)s OR l.id IN (
                   SELECT late.id FROM {_LOTS} late JOIN {_REWARDS} credit ON credit.id = late.credit_id
                   WHERE late.created_at >= %(rows_until)s AND credit.created_at < %(rows_until)s
               ))
          AND (l.available_at <= %(cutoff)s OR (%(ends_today)s AND NOT l.pending))
          AND (l.expires_at IS NULL OR l.expires_at > %(cutoff)s)
    ), placed AS (
        SELECT l.user_id, l.expires_at, LEAST(l.cap, GREATEST(p.net - (l.upto - l.cap), 0)) AS points
        FROM lots l JOIN per p USING (user_id)
    ), bucketed AS (
        SELECT CASE
                   WHEN expires_at IS NULL THEN 'never'
                   WHEN expires_at <= %(cutoff)s + interval '30 days' THEN 'within_30_days'
                   WHEN expires_at <= %(cutoff)s + interval '90 days' THEN 'within_90_days'
                   WHEN expires_at <= %(cutoff)s + interval '365 days' THEN 'within_365_days'
                   ELSE 'later'
               END AS bucket, SUM(points) AS points
        FROM placed GROUP BY 1
    )
    SELECT 'available', COALESCE(SUM(available), 0) FROM per
    UNION ALL SELECT 'pending', COALESCE(SUM(pending), 0) FROM per
    UNION ALL SELECT 'owed', COALESCE(SUM(owed), 0) FROM per
    UNION ALL SELECT bucket, points FROM bucketed
"""


@dataclass(frozen=True)
class Liability:
    as_of: date
    available_points: int
    pending_points: int
    owed_points: int
    expiring: dict[str, int]
    point_value: Decimal
    catalog_point_value: Decimal | None

    @property
    def value(self) -> Decimal:
        return _money(self.available_points, self.point_value)

    @property
    def catalog_value(self) -> Decimal | None:
        if self.catalog_point_value is None:
            return None
        return _money(self.available_points, self.catalog_point_value)

    def fields(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "available_points": self.available_points,
            "pending_points": self.pending_points,
            "owed_points": self.owed_points,
            "expiring": self.expiring,
            "point_value": str(self.point_value),
            "value": str(self.value),
            "catalog_point_value": None if self.catalog_point_value is None else str(self.catalog_point_value),
            "catalog_value": None if self.catalog_value is None else str(self.catalog_value),
        }

    def table(self) -> list[list[Any]]:
        fields = self.fields()
        return [
            ["figure", "value"],
            *([name, fields[name]] for name in ("as_of", "available_points", "pending_points", "owed_points")),
            *([f"expiring_{bucket}", points] for bucket, points in self.expiring.items()),
            *([name, fields[name]] for name in ("point_value", "value", "catalog_point_value", "catalog_value")),
        ]


def _catalog_point_value() -> Decimal | None:
    """What a point is worth by the catalog: the cheapest money per point among active coupons."""
    values = [item.amount / item.points_cost for item in CatalogItem.objects.active().filter(kind=CatalogKind.COUPON)]
    return min(values).quantize(Decimal("0.000001")) if values else None


def liability(*, as_of: date) -> Liability:
    until = rows_until(as_of)
    figures = dict(
        _rows(_LIABILITY, {"cutoff": end_of_day(as_of), "rows_until": until, "ends_today": until == FAR_FUTURE})
    )
    available = int(figures.pop("available"))
    pending, owed = int(figures.pop("pending")), int(figures.pop("owed"))
    expiring = {name: int(figures.get(name) or 0) for name, _ in EXPIRY_BUCKETS}
    # Lots whose dates passed before the expiry job ran still hold points the rows count as
    # available: they expire at the job's next pass, so they are the soonest to go.
    expiring["within_30_days"] += available - sum(expiring.values())
    return Liability(
        as_of=as_of,
        available_points=available,
        pending_points=pending,
        owed_points=owed,
        expiring=expiring,
        point_value=Decimal(str(settings.POINT_VALUE)),
        catalog_point_value=_catalog_point_value(),
    )


# ---- a customer's points at any moment -----------------------------------------------------------


@dataclass(frozen=True)
class CustomerAsOf:
    """One customer's points at a moment, as the liability counts them."""

    user_id: int
    at: datetime
    available_points: int
    pending_points: int
    owed_points: int

    def fields(self) -> dict[str, Any]:
        return {
            "available_points": self.available_points,
            "pending_points": self.pending_points,
            "owed_points": self.owed_points,
        }


def moment_of(as_of: date | datetime) -> datetime:
    """The moment an ``as_of`` names: a day is its end (UTC), as the liability's ``as_of``."""
    return as_of if isinstance(as_of, datetime) else end_of_day(as_of)


def _rows_before(moment: datetime) -> datetime:
    """Where the rows counted at ``moment`` stop: as ``rows_until`` does for a day, a moment
    from now on counts every row (one dated later too), so it is the balance."""
    return FAR_FUTURE if moment >= timezone.now() else moment


def customers_as_of(*, at: datetime) -> dict[int, CustomerAsOf]:
    """Every customer with rows before ``at`` and their points then: the liability's figures,
    customer by customer (its ``available_points`` etc. at the end of a day are their sums)."""
    sql = f"SELECT user_id, available, pending, owed FROM ({_per_customer(one=False)}) per"
    return {
        user_id: CustomerAsOf(user_id, at, int(available), int(pending), int(owed))
        for user_id, available, pending, owed in _rows(sql, {"rows_until": _rows_before(at)})
    }


def customer_as_of(*, user_id: int, at: datetime) -> CustomerAsOf:
    """One customer's available, pending and owed points at ``at`` (none before: zeros)."""
    sql = f"SELECT available, pending, owed FROM ({_per_customer(one=True)}) per"
    found = _rows(sql, {"rows_until": _rows_before(at), "user_id": user_id})
    available, pending, owed = found[0] if found else (0, 0, 0)
    return CustomerAsOf(user_id, at, int(available), int(pending), int(owed))


# ---- rollforward --------------------------------------------------------------------------------

_ROLLFORWARD = f"""
    SELECT 'opening', COALESCE(SUM(points_earned - points_redeemed), 0) FROM {_REWARDS} WHERE created_at < %(start)s
    UNION ALL
    SELECT kind, SUM(points_earned - points_redeemed) FROM {_REWARDS}
    WHERE created_at >= %(start)s AND created_at < %(end)s GROUP BY kind
    UNION ALL
    SELECT 'closing', COALESCE(SUM(points_earned - points_redeemed), 0) FROM {_REWARDS} WHERE created_at < %(end)s
"""


@dataclass(frozen=True)
class Rollforward:
    start: date
    end: date
    opening: int
    movements: dict[str, int]
    closing: int

    def fields(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "opening": self.opening,
            "movements": self.movements,
            "closing": self.closing,
        }

    def table(self) -> list[list[Any]]:
        # Each line carries the period: a sheet of several periods pasted together still
        # says which each line is, and the points column holds points only.
        period = [self.start.isoformat(), self.end.isoformat()]
        return [
            ["from", "to", "line", "points"],
            [*period, "opening", self.opening],
            *([*period, kind, points] for kind, points in self.movements.items()),
            [*period, "closing", self.closing],
        ]


def rollforward(*, start: date, end: date) -> Rollforward:
    """The available points at the start of ``start``, each ledger kind's signed change of them
    through the end of ``end``, and the closing figure (all UTC days). The closing is read on
    its own, so the tie-out checks the rows rather than restating them. Ending today, the
    period takes in the rows dated after today too (see the module's docstring)."""
    figures = _rows(_ROLLFORWARD, {"start": start_of_day(start), "end": rows_until(end)})
    opening = closing = 0
    movements: dict[str, int] = {}
    for name, points in figures:
        if name == "opening":
            opening = int(points)
        elif name == "closing":
            closing = int(points)
        else:
            movements[name] = int(points)
    return Rollforward(
        start=start, end=end, opening=opening, movements=dict(sorted(movements.items())), closing=closing
    )


# ---- breakage -----------------------------------------------------------------------------------

_BREAKAGE = f"""
    SELECT to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
           SUM(l.points - l.cancelled_points) AS issued,
           SUM(l.expired_points) AS expired,
           SUM(l.remaining) AS open
    FROM {_LOTS} l GROUP BY 1 ORDER BY 1
"""


@dataclass(frozen=True)
class BreakageMonth:
    month: str
    issued: int
    redeemed: int
    expired: int
    open: int

    @property
    def breakage_rate(self) -> Decimal | None:
        """Expired ÷ issued, only once nothing of the month is open (the figure is final)."""
        if self.open or not self.issued:
            return None
        return (Decimal(self.expired) / Decimal(self.issued)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

    def fields(self) -> dict[str, Any]:
        rate = self.breakage_rate
        return {
            "month": self.month,
            "issued": self.issued,
            "redeemed": self.redeemed,
            "expired": self.expired,
            "open": self.open,
            "breakage_rate": None if rate is None else str(rate),
        }


BREAKAGE_COLUMNS = ["month", "issued", "redeemed", "expired", "open", "breakage_rate"]


def breakage_table(months: list[BreakageMonth]) -> list[list[Any]]:
    return [BREAKAGE_COLUMNS, *([month.fields()[column] for column in BREAKAGE_COLUMNS] for month in months)]


def breakage() -> list[BreakageMonth]:
    """The lots credited each month (UTC): their points (less what returns cancelled while
    pending), spent or taken back since (each lot's consumptions: what is neither expired nor
    open), expired, and still open (available or pending)."""
    return [
        BreakageMonth(
            month=month,
            issued=int(issued),
            redeemed=int(issued) - int(expired) - int(open_),
            expired=int(expired),
            open=int(open_),
        )
        for month, issued, expired, open_ in _rows(_BREAKAGE, [])
    ]


# ---- the dashboard's series -------------------------------------------------------------------------

_DAILY = f"""
    SELECT LEAST((created_at AT TIME ZONE 'UTC')::date, %(last)s) AS day,
           SUM(CASE WHEN kind IN ('release', 'refund') THEN 0
                    ELSE points_earned + GREATEST(pending_change, 0) END) AS issued,
           SUM(CASE WHEN kind IN ('coupon', 'donation') THEN points_redeemed ELSE 0 END) AS redeemed,
           SUM(CASE WHEN kind = 'expiry' THEN points_redeemed ELSE 0 END) AS expired,
           SUM(points_earned - points_redeemed) AS net
    FROM {_REWARDS} WHERE created_at >= %(start)s AND created_at < %(end)s GROUP BY 1
"""


@dataclass(frozen=True)
class Daily:
    days: list[date]
    issued: list[int]
    redeemed: list[int]
    expired: list[int]
    liability: list[int]  # the available points, net of what is owed, at the end of each day


def daily(*, days: int = 90, until: date | None = None) -> Daily:
    """Points issued (credited, pending ones included), redeemed and expired per day (UTC), and
    the liability at the end of each day, over the last ``days`` days (today included)."""
    last = until or utc_today()
    first = last - timedelta(days=days - 1)
    # A row dated after today counts on today, the last day, as in the reports.
    start, end = start_of_day(first), rows_until(last)
    by_day = {row[0]: row[1:] for row in _rows(_DAILY, {"start": start, "end": end, "last": last})}
    opening = int(
        _rows(
            f"SELECT COALESCE(SUM(points_earned - points_redeemed), 0) FROM {_REWARDS} WHERE created_at < %s", [start]
        )[0][0]
    )
    series = Daily(days=[], issued=[], redeemed=[], expired=[], liability=[])
    balance = opening
    for offset in range(days):
        day = first + timedelta(days=offset)
        issued, redeemed, expired, net = (int(value) for value in by_day.get(day, (0, 0, 0, 0)))
        balance += net
        series.days.append(day)
        series.issued.append(issued)
        series.redeemed.append(redeemed)
        series.expired.append(expired)
        series.liability.append(balance)
    return series


def customers_by_tier() -> list[tuple[str, int]]:
    """How many customers hold each tier they earned (a staff floor aside): those with no
    standing hold the lowest. Empty with no ladder."""
    ladder = ladder_read()
    if ladder is None:
        return []
    held = dict(_rows(f"SELECT tier_code, COUNT(*) FROM {TierStanding._meta.db_table} GROUP BY tier_code", []))
    standing = sum(held.values())
    held[ladder.lowest.code] = held.get(ladder.lowest.code, 0) + max(Account.objects.count() - standing, 0)
    return [(tier.name, int(held.get(tier.code, 0))) for tier in ladder.tiers]


_BY_RULE = f"""
    SELECT COALESCE(r.name, CASE WHEN w.kind = 'tier' THEN 'Tier awards' END), SUM(l.points) AS points
    FROM {_REWARDS} w JOIN {_LOTS} l ON l.credit_id = w.id LEFT JOIN rewards_rule r ON r.id = w.rule_id
    WHERE (w.rule_id IS NOT NULL OR w.kind = 'tier') AND w.created_at >= %s
    GROUP BY 1 ORDER BY 2 DESC LIMIT 12
"""


def points_by_rule(*, days: int = 90) -> list[tuple[str, int]]:
    """The points each earning rule (and the tiers' multipliers) awarded over the last ``days``."""
    since = end_of_day(datetime.now(UTC).date() - timedelta(days=days))
    return [(name, int(points)) for name, points in _rows(_BY_RULE, [since])]
