"""The two hottest postings as one SQL statement each on PostgreSQL: no BEGIN/COMMIT round
trips, one parse, one plan. Each either does all of its work or none of it and returns
None; the caller then runs the general path (ledger.py), which takes the account row lock
first and decides there. So these are only ever a faster way to the same result.

- A credit: the account upsert, the ledger row and its lot. It does nothing when the
  customer owes points (the new lot must pay them: the general path does that) or a total
  would overflow.
- A redemption: the overdraft guard, the ledger row, the redeemed item, the lots consumed
  (soonest-expiring first) and their consumption rows. The lots are planned from the
  statement's snapshot, which is stale if the statement had to wait for the account row
  lock. So the account UPDATE also requires the row's ``version`` to be the one the snapshot
  saw: every change to a customer's lots bumps it (ledger.py keeps that true), and
  PostgreSQL re-checks that condition on the newest row version after the wait. If anything
  changed, or more than ``_WINDOW`` lots would be needed, nothing is written.
"""

import re
from datetime import datetime
from weakref import WeakKeyDictionary

from django.conf import settings
from django.db import connection
from django.db.models import Model

from core.limits import MAX_BIGINT
from rewards.models import Account, CatalogItem, Event, LotConsumption, PointLot, RedeemedItem, Reward
from rewards.selectors import BALANCE_COLUMNS

_WINDOW = 64
_ACCOUNT, _REWARD, _ITEM, _LOT, _CONSUMPTION = (
    Account._meta.db_table,
    Reward._meta.db_table,
    RedeemedItem._meta.db_table,
    PointLot._meta.db_table,
    LotConsumption._meta.db_table,
)
_ACCOUNT_COLUMNS = ", ".join(f"account.{name}" for name in (*BALANCE_COLUMNS, "points_owed"))
_EVENT = Event._meta.db_table


def _iso(column: str) -> str:
    """A timestamp as the HTTP answers and Python's events render it (``rewards.shapes.iso``,
    DRF): UTC, "Z", and microseconds only when there are some."""
    return (
        f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')"""
        f" || CASE WHEN date_trunc('second', {column}) = {column} THEN ''"
        f" ELSE to_char({column} AT TIME ZONE 'UTC', '.US') END || 'Z'"
    )


# The event's data: the skeleton Python built (the ledger row without its id, the item),
# with the row's id and the balance after this statement filled in here.
_EVENT_DATA = (
    "jsonb_set(%(event_data)s::jsonb, '{reward,id}', to_jsonb(reward.id)) || jsonb_build_object('balance',"
    " jsonb_build_object("
    "'total_points', account.total_points_earned - account.total_points_redeemed,"
    " 'total_points_earned', account.total_points_earned, 'total_points_redeemed', account.total_points_redeemed,"
    f" 'pending_points', account.pending_points, 'next_available_at', {_iso('account.next_available_at')},"
    f" 'expiring_points', account.expiring_points, 'next_expiry_at', {_iso('account.next_expiry_at')}))"
)
_EVENT_INSERT = f"""event AS (
    INSERT INTO {_EVENT} (type, user_id, application_id, reward_id, data, created_at)
    SELECT %(event_type)s, %(user_id)s, %(app_id)s, reward.id, {_EVENT_DATA}, %(now)s FROM account, reward
    RETURNING id
)"""
_APP_KEY = Reward._meta.get_field("application").target_field

_CREDIT = f"""
WITH account AS (
    INSERT INTO {_ACCOUNT} AS a (user_id, total_points_earned, total_points_redeemed, pending_points, points_owed,
                                 expiring_points, next_expiry_at, next_available_at, version, created_at, updated_at)
    VALUES (%(user_id)s, %(earned)s, 0, %(pending)s, 0, %(expiring)s, %(expires_at)s, %(pending_until)s, 1,
            %(now)s, %(now)s)
    ON CONFLICT (user_id) DO UPDATE SET
        total_points_earned = a.total_points_earned + excluded.total_points_earned,
        pending_points = a.pending_points + excluded.pending_points,
        expiring_points = a.expiring_points + excluded.expiring_points,
        next_expiry_at = LEAST(a.next_expiry_at, excluded.next_expiry_at),
        next_available_at = LEAST(a.next_available_at, excluded.next_available_at),
        version = a.version + 1,
        updated_at = excluded.updated_at
    WHERE a.total_points_earned <= {MAX_BIGINT} - excluded.total_points_earned
      AND a.pending_points <= {MAX_BIGINT} - excluded.pending_points
      AND (excluded.total_points_earned = 0 OR a.points_owed = 0)
    RETURNING *
), reward AS (
    INSERT INTO {_REWARD} (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                           earned_date, redeemed_date, is_active, application_id, created_at)
    SELECT %(user_id)s, %(kind)s, %(earned)s, 0, %(pending)s, %(description)s, %(now)s, NULL, true, %(app_id)s, %(now)s
    FROM account RETURNING id
), lot AS (
    INSERT INTO {_LOT} (user_id, credit_id, points, remaining, pending, available_at, expires_at, notice_at,
                        expired_points, cancelled_points, created_at)
    SELECT %(user_id)s, reward.id, %(points)s, %(points)s, %(is_pending)s, %(available_at)s, %(lot_expires_at)s,
           %(notice_at)s, 0, 0, %(now)s
    FROM reward RETURNING id
), {_EVENT_INSERT}
SELECT reward.id, lot.id, {_ACCOUNT_COLUMNS} FROM account, reward, lot, event
"""

_REDEEM = f"""
WITH snap AS (
    SELECT version FROM {_ACCOUNT} WHERE user_id = %(user_id)s
), candidates AS (
    SELECT id, remaining, expires_at, notice_at,
           SUM(remaining) OVER (ORDER BY expires_at, id) - remaining AS before
    FROM (SELECT id, remaining, expires_at, notice_at FROM {_LOT}
          WHERE user_id = %(user_id)s AND NOT pending AND remaining > 0
          ORDER BY expires_at, id LIMIT {_WINDOW}) window_lots
), used AS (
    SELECT id, LEAST(remaining, %(points)s - before) AS take, notice_at FROM candidates WHERE before < %(points)s
), plan AS (
    SELECT (SELECT COALESCE(SUM(take), 0) FROM used) AS consumed,
           (SELECT COALESCE(SUM(take), 0) FROM used WHERE notice_at IS NOT NULL) AS noticed,
           -- The first lot with points left after this debit has the soonest expiry of all left.
           (SELECT expires_at FROM candidates WHERE before + remaining > %(points)s ORDER BY expires_at, id LIMIT 1)
               AS next_expiry,
           EXISTS (SELECT 1 FROM candidates WHERE before + remaining > %(points)s)
               OR (SELECT COUNT(*) FROM candidates) < {_WINDOW} AS next_expiry_known
), account AS (
    UPDATE {_ACCOUNT} a SET
        total_points_redeemed = a.total_points_redeemed + %(points)s,
        expiring_points = a.expiring_points - plan.noticed,
        next_expiry_at = plan.next_expiry,
        version = a.version + 1,
        updated_at = %(now)s
    FROM plan, snap
    WHERE a.user_id = %(user_id)s
      AND a.total_points_earned - a.total_points_redeemed >= %(points)s
      AND a.version = snap.version
      AND plan.consumed = %(points)s AND plan.next_expiry_known
    RETURNING a.*
), reward AS (
    INSERT INTO {_REWARD} (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                           earned_date, redeemed_date, is_active, application_id, created_at)
    SELECT %(user_id)s, %(kind)s, 0, %(points)s, 0, %(description)s, NULL, %(now)s, %(is_active)s, %(app_id)s,
           %(now)s
    FROM account RETURNING id
), item AS (
    INSERT INTO {_ITEM} (reward_id, catalog_item_id, kind, item_code, item_description, amount, created_at)
    SELECT reward.id, %(catalog_item_id)s, %(kind)s, %(code)s, %(item_description)s, %(amount)s, %(now)s
    FROM reward RETURNING id
), lots AS (
    UPDATE {_LOT} l SET remaining = l.remaining - used.take FROM used, account WHERE l.id = used.id RETURNING l.id
), consumptions AS (
    INSERT INTO {_CONSUMPTION} (lot_id, debit_id, points, created_at)
    SELECT used.id, reward.id, used.take, %(now)s FROM used, reward RETURNING id
), {_EVENT_INSERT}
-- One row whatever happened: what was written, or nothing and the balance the statement's
-- snapshot saw (the data-modifying steps above are invisible to this read).
SELECT reward.id, item.id, (SELECT COUNT(*) FROM lots), (SELECT COUNT(*) FROM consumptions),
       (SELECT total_points_earned - total_points_redeemed FROM {_ACCOUNT} WHERE user_id = %(user_id)s),
       {_ACCOUNT_COLUMNS}
FROM (SELECT 1) AS one LEFT JOIN (account CROSS JOIN reward CROSS JOIN item CROSS JOIN event) ON true
"""


class PreparedStatement:
    """A statement PostgreSQL plans once per connection (PREPARE) and then only executes.

    Planning these CTEs costs about as much as running them. Turned off with
    ``DB_PREPARED_STATEMENTS=false`` where a pooler may hand a transaction another server
    connection (PgBouncer in transaction mode), which would not know the statement.
    """

    # Which statements each open connection has prepared; a new connection starts empty.
    _prepared: "WeakKeyDictionary[object, set[str]]" = WeakKeyDictionary()

    def __init__(self, name: str, sql: str, types: dict[str, str]) -> None:
        self.name, self.sql = name, sql
        self.order: list[str] = []

        def positional(match: re.Match) -> str:
            if match[1] not in self.order:
                self.order.append(match[1])
            return f"${self.order.index(match[1]) + 1}"

        body = re.sub(r"%\((\w+)\)s", positional, sql)
        self.prepare = f"PREPARE {name} ({', '.join(types[param] for param in self.order)}) AS {body}"
        self.execute_sql = f"EXECUTE {name} ({', '.join(['%s'] * len(self.order))})"

    def fetchone(self, params: dict[str, object]) -> tuple | None:
        with connection.cursor() as cursor:
            if not settings.DB_PREPARED_STATEMENTS:
                cursor.execute(self.sql, params)
                return cursor.fetchone()
            prepared = self._prepared.setdefault(connection.connection, set())
            if self.name not in prepared:
                cursor.execute(self.prepare)
                prepared.add(self.name)
            cursor.execute(self.execute_sql, [params[param] for param in self.order])
            return cursor.fetchone()


_TYPES = {
    "user_id": "bigint",
    "points": "bigint",
    "earned": "bigint",
    "pending": "bigint",
    "expiring": "bigint",
    "kind": "varchar",
    "description": "varchar",
    "app_id": "uuid",
    "now": "timestamptz",
    "expires_at": "timestamptz",
    "pending_until": "timestamptz",
    "available_at": "timestamptz",
    "lot_expires_at": "timestamptz",
    "notice_at": "timestamptz",
    "is_pending": "boolean",
    "is_active": "boolean",
    "catalog_item_id": "bigint",
    "code": "varchar",
    "item_description": "varchar",
    "amount": "numeric",
    "event_type": "varchar",
    "event_data": "text",
}
_CREDIT_STATEMENT = PreparedStatement("rewards_credit_v3", _CREDIT, _TYPES)
_REDEEM_STATEMENT = PreparedStatement("rewards_redeem_v3", _REDEEM, _TYPES)


def _app_key(app: Model | None) -> object:
    """The application's key as this backend stores it."""
    return _APP_KEY.get_db_prep_value(app.pk, connection) if app is not None else None


def credit_in_one_statement(
    *,
    user_id: int,
    points: int,
    kind: str,
    description: str,
    app: Model | None,
    pending: bool,
    available_at: datetime,
    expires_at: datetime | None,
    in_notice: bool,
    now: datetime,
    event_type: str,
    event_data: str,
) -> tuple[int, int, tuple] | None:
    """(reward id, lot id, account columns) or None when the general path must do it."""
    params = {
        "event_type": event_type,
        "event_data": event_data,
        "user_id": user_id,
        "points": points,
        "kind": kind,
        "description": description,
        "app_id": _app_key(app),
        "now": now,
        "earned": 0 if pending else points,
        "pending": points if pending else 0,
        "is_pending": pending,
        "expiring": points if in_notice else 0,
        # Only points left to spend have an expiry the account must know.
        "expires_at": None if pending or points == 0 else expires_at,
        "pending_until": available_at if pending else None,
        "available_at": available_at,
        "lot_expires_at": expires_at,
        "notice_at": now if in_notice else None,
    }
    row = _CREDIT_STATEMENT.fetchone(params)
    return None if row is None else (row[0], row[1], row[2:])


# The snapshot's balance does not cover the redemption: refused, and nothing was written.
REFUSED = "refused"


def redemption_in_one_statement(
    *,
    user_id: int,
    item: CatalogItem,
    code: str,
    description: str,
    app: Model | None,
    is_active: bool,
    now: datetime,
    event_type: str,
    event_data: str,
) -> tuple[int, int, tuple] | None:
    """(reward id, item id, account columns); ``REFUSED`` when the balance the statement saw
    does not cover it (a later state only has less, or the refusal stands as of that moment);
    None when the general path must decide (the account changed under the plan, or the
    redemption needs more lots than the statement plans for)."""
    params = {
        "event_type": event_type,
        "event_data": event_data,
        "user_id": user_id,
        "points": item.points_cost,
        "kind": item.kind,
        "description": description,
        "app_id": _app_key(app),
        "now": now,
        "is_active": is_active,
        "catalog_item_id": item.pk,
        "code": code,
        "item_description": item.description,
        "amount": item.amount,
    }
    row = _REDEEM_STATEMENT.fetchone(params)
    if row[0] is None:
        seen = row[4] or 0  # no account yet: nothing to spend
        return REFUSED if seen < item.points_cost else None
    if row[2] != row[3]:
        raise RuntimeError(f"Redemption {row[0]}: {row[2]} lots updated but {row[3]} consumptions recorded.")
    return row[0], row[1], row[5:]
