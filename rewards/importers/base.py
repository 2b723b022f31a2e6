"""Taking over customers from the systems this service replaces, in bulk.

The readers (``cps714``, ``balances_csv``, and the CLP's in ``loyalty``) turn source rows into
``ImportEntry`` lists per customer and decide what to do with odd rows; ``customers_import``
posts them through the ledger's own rules (the functions every posting calls): ledger rows
(marked with their source, keeping the source's dates), a lot for every credit, the
consumptions of every debit, coupons, and the account. A batch of rows is one call, so a
million rows take minutes, not hours.

``ImportedRow`` records every source row taken over, so a second run imports nothing twice.
"""

import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import psycopg2
from django.conf import settings
from django.db import connection, transaction
from django.db.models import JSONField, Model
from django.utils.dateparse import parse_datetime
from psycopg2.extras import Json, execute_values

from core.limits import MAX_BIGINT
from rewards.models import (
    DESCRIPTION_MAX_LENGTH,
    Account,
    Event,
    EventType,
    ImportedRow,
    PointLot,
    RedeemedItem,
)
from rewards.selectors import Balance
from rewards.services.events import announce_committed
from rewards.services.ledger import Typed, ledger_call, notice_horizon
from rewards.shapes import balance_fields

# Source rows are read, checked and posted this many at a time: memory stays flat however big
# the source is, and each batch is a handful of bulk statements.
BATCH_ROWS = 5000
_BULK = 2000
_CENTS = Decimal("0.01")
_NEVER = datetime.max.replace(tzinfo=UTC)


class ImportRefused(Exception):
    """The import cannot go on; nothing of it is written. A command's refusal (it becomes a
    ``CommandError``), never an API answer: so not a domain error of ``rewards.errors``."""


@dataclass(frozen=True)
class ImportedItem:
    """What an imported redemption bought, as the source had it."""

    kind: str
    code: str
    description: str
    amount: Decimal
    catalog_item_id: int | None


@dataclass(frozen=True)
class ImportEntry:
    """One ledger row to write: ``points`` > 0 credits, < 0 debits (0: a free redemption)."""

    key: str
    kind: str
    points: int
    description: str
    at: datetime
    is_active: bool = True
    item: ImportedItem | None = None


@dataclass(frozen=True)
class Anomaly:
    """A source row the import had to decide about: what was odd, what it did, the row itself."""

    problem: str
    decision: str
    row: str

    def __str__(self) -> str:
        return f"{self.problem}: {self.decision}. Row: {self.row}"


@dataclass
class ImportReport:
    """What an import found and did (or, in a dry run, would do)."""

    source: str
    dry_run: bool = False
    counts: Counter = field(default_factory=Counter)
    anomalies: list[Anomaly] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def anomaly(self, problem: str, decision: str, row: object) -> None:
        self.anomalies.append(Anomaly(problem=problem, decision=decision, row=_row_text(row)))

    def lines(self) -> list[str]:
        heading = f"Import from {self.source}" + (" (dry run: nothing was written)" if self.dry_run else "")
        lines = [heading]
        lines += [f"  {name}: {value:,}" for name, value in sorted(self.counts.items())]
        lines += [f"  {note}" for note in self.notes]
        lines.append(f"  anomalies: {len(self.anomalies):,}")
        lines += [f"    - {anomaly}" for anomaly in self.anomalies]
        return lines


def _row_text(row: object) -> str:
    if isinstance(row, dict):
        return ", ".join(f"{name}={value!r}" for name, value in row.items())
    return repr(row)


# ---- reading the sources ------------------------------------------------------------------


def source_connect(source: str) -> Any:
    """A DB-API connection to a source database, read-only where the driver allows: an SQLite
    file (a path or ``sqlite:///path``) or a PostgreSQL URL."""
    if source.startswith(("postgres://", "postgresql://")):
        try:
            connection = psycopg2.connect(source, connect_timeout=10)
        except psycopg2.Error as error:
            raise ImportRefused(f"Cannot connect to {source}: {str(error).strip()}") from error
        connection.set_session(readonly=True)
        return connection
    path = Path(source.removeprefix("sqlite:///").removeprefix("sqlite://"))
    if "://" in str(path):
        raise ImportRefused(f"Unsupported source {source!r}: give an SQLite file or a PostgreSQL URL.")
    if not path.is_file():
        raise ImportRefused(f"No SQLite file at {path}.")
    return sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)


def source_label(source: str) -> str:
    """The source as a report shows it: a URL without its password."""
    scheme, separator, rest = source.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{credentials.split(':')[0]}@{host}" if separator and at else source


def source_rows(connection: Any, sql: str, *, name: str) -> Iterable[dict[str, Any]]:
    """The rows of ``sql`` as dicts, streamed: PostgreSQL sends them from a server-side cursor,
    SQLite steps through them; neither holds the result in memory."""
    if isinstance(connection, sqlite3.Connection):
        cursor = connection.cursor()
    else:
        cursor = connection.cursor(name=name)
        cursor.itersize = BATCH_ROWS
    try:
        cursor.execute(sql)
    except (sqlite3.Error, psycopg2.Error) as error:
        raise ImportRefused(f"The source does not have the expected tables: {str(error).strip()}") from error
    columns = None
    for row in cursor:
        if columns is None:
            columns = [column[0] for column in cursor.description]
        yield dict(zip(columns, row, strict=True))
    cursor.close()


def source_datetime(value: object) -> datetime | None:
    """A source's date: a datetime, or text as Django's SQLite backend stores it (naive: UTC)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            return None
        if moment is None:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_INTEGER_TEXT = re.compile(r"-?[0-9]{1,19}")


def source_int(value: object) -> int | None:
    """An integer within PostgreSQL's bigint that the source holds as an integer, or as text of
    ASCII digits with at most one minus sign; else None (so "--5" or 5,000 digits are None)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        value = int(value.strip())
    elif isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)  # a numeric column's whole number
    if isinstance(value, int) and -MAX_BIGINT <= value <= MAX_BIGINT:
        return value
    return None


def source_decimal(value: object) -> Decimal | None:
    """A number as an exact decimal: a float becomes the decimal of its shortest repr (the value
    the source meant), not of its binary expansion. None for what is not a finite number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def customer_id(value: object) -> int | None:
    user_id = source_int(value)
    return user_id if user_id is not None and 0 < user_id <= MAX_BIGINT else None


def money(value: object) -> tuple[Decimal | None, bool]:
    """An amount in cents and whether it had to be rounded; None when it is no usable amount."""
    number = source_decimal(value)
    if number is None or number < 0 or number >= Decimal("1e10"):
        return None, False
    cents = number.quantize(_CENTS, rounding=ROUND_HALF_UP)
    return cents, cents != number


def description_text(value: object, report: ImportReport, row: object) -> str:
    text = "" if value is None else str(value)
    if "\x00" in text:  # no PostgreSQL text holds one
        report.anomaly("description holds NUL characters", "removed", row)
        text = text.replace("\x00", "")
    if len(text) > DESCRIPTION_MAX_LENGTH:
        report.anomaly("description longer than 255 characters", "cut to 255", row)
        text = text[:DESCRIPTION_MAX_LENGTH]
    return text


# ---- which source rows were taken over already ----------------------------------------------


def rows_imported(*, source: str, keys: Iterable[str]) -> set[str]:
    keys = list(keys)
    found: set[str] = set()
    for start in range(0, len(keys), _BULK):
        found.update(
            ImportedRow.objects.filter(source=source, key__in=keys[start : start + _BULK]).values_list("key", flat=True)
        )
    return found


def rows_record(*, source: str, keys: Iterable[str], now: datetime) -> None:
    bulk_insert([ImportedRow(source=source, key=key, created_at=now) for key in dict.fromkeys(keys)])


def codes_taken(codes: Iterable[str]) -> set[str]:
    """Which of these coupon codes this service already has."""
    return set(RedeemedItem.objects.filter(item_code__in=list(codes)).values_list("item_code", flat=True))


_IMPORT_TABLES = (ImportedRow, Account, PointLot, RedeemedItem)
# Below this many lots by the planner's statistics, an import refreshes them after each batch.
_SMALL_TABLE = 10 * BATCH_ROWS


def analyze_for_import() -> None:
    """Refresh the planner's statistics of the tables an import reads by key: a first import
    grows them from nothing, and a rerun must find its keys by index, not by scanning."""
    tables = ", ".join(model._meta.db_table for model in _IMPORT_TABLES)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def _analyze_while_small() -> None:
    """A first import grows the tables from nothing inside one transaction, where autovacuum
    cannot see them: the ledger functions' cached plans, made while the tables were empty,
    would scan them whole for every row. Refreshing the statistics in the transaction counts
    its own rows and makes PostgreSQL plan them again, by index, once they are no longer small."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [PointLot._meta.db_table])
        if cursor.fetchone()[0] < _SMALL_TABLE:
            analyze_for_import()


def run_import(report: ImportReport, work: Any) -> ImportReport:
    """Run ``work(report)`` in one transaction: a failure writes nothing, a dry run is rolled back
    after the report is made, so the report says exactly what a real run would do."""
    analyze_for_import()
    with transaction.atomic():
        work(report)
        if report.dry_run:
            transaction.set_rollback(True)
    return report


def balances_below_zero(report: ImportReport, balances: dict[int, Balance]) -> None:
    """Report the customers an import left owing points (the source let balances go below zero):
    kept, so that the balance is the source's; their next points pay it."""
    for user_id, balance in balances.items():
        if balance.total_points < 0:
            report.counts["customers below zero"] += 1
            report.anomaly(
                "balance below zero",
                f"kept: customer {user_id} owes {-balance.total_points} points, paid by their next points",
                {"user_id": user_id},
            )


# ---- posting -----------------------------------------------------------------------------


def customers_import(
    entries_by_customer: dict[int, Sequence[ImportEntry]], *, source: str, now: datetime, announce: bool = True
) -> dict[int, Balance]:
    """Post each customer's entries, in order, through the ledger's rules (``ledger_import``
    calls the same functions as every other posting): credits open available lots (and pay
    what the customer owes first), debits consume the open lots soonest-expiring first and
    owe the rest. Returns each customer's balance after. With ``announce`` each customer gets
    a ``points.imported`` event (else the caller sends one: ``customers_imported_announce``).

    Call inside a transaction. Imported lots expire (when points expire at all) the validity
    period after ``now``: on the day of the switch no customer loses a point.
    """
    user_ids = sorted(entries_by_customer)  # accounts are locked in one order: imports never deadlock
    entries = [(user_id, entry) for user_id in user_ids for entry in entries_by_customer[user_id]]
    items = [entry.item for _, entry in entries]
    validity = settings.POINTS_VALIDITY_DAYS
    # Typed arrays: a column that is all NULL in this batch (no coupons, say) has no type of its own.
    over_limit = ledger_call(
        "ledger_import",
        source=source,
        now=now,
        expires_at=now + timedelta(days=validity) if validity else None,
        notice_horizon=notice_horizon(now),
        user_ids=Typed([user_id for user_id, _ in entries], "bigint[]"),
        kinds=Typed([entry.kind for _, entry in entries], "text[]"),
        points=Typed([entry.points for _, entry in entries], "bigint[]"),
        descriptions=Typed([entry.description for _, entry in entries], "text[]"),
        ats=Typed([entry.at for _, entry in entries], "timestamptz[]"),
        is_active=Typed([entry.is_active for _, entry in entries], "boolean[]"),
        catalog_item_ids=Typed([item and item.catalog_item_id for item in items], "bigint[]"),
        item_codes=Typed([item and item.code for item in items], "text[]"),
        item_descriptions=Typed([item and item.description for item in items], "text[]"),
        amounts=Typed([item and item.amount for item in items], "numeric[]"),
    )[0]
    if over_limit is not None:
        raise ImportRefused(f"Customer {over_limit}'s point totals would pass what can be stored.")
    _analyze_while_small()
    # A customer the source knows with nothing to post still gets an account (a zero balance).
    Account.objects.bulk_create(
        [
            Account(user_id=user_id, created_at=now, updated_at=now)
            for user_id in user_ids
            if not entries_by_customer[user_id]
        ],
        ignore_conflicts=True,
    )
    if announce:
        points = {user_id: sum(entry.points for entry in entries_by_customer[user_id]) for user_id in user_ids}
        return customers_imported_announce(points, source=source, now=now)
    return {account.user_id: Balance.of(account) for account in Account.objects.filter(user_id__in=user_ids)}


def _imported_event(account: Account, *, points: int, source: str, now: datetime) -> Event:
    """A customer's ``points.imported``: what the import moved in all, and the balance after."""
    data = {"source": source, "points": points, "balance": balance_fields(Balance.of(account))}
    return Event(type=EventType.POINTS_IMPORTED, user_id=account.user_id, data=data, created_at=now)


def customers_imported_announce(
    points_by_customer: dict[int, int], *, source: str, now: datetime
) -> dict[int, Balance]:
    """One ``points.imported`` per customer, with what the import moved and the balance after;
    returns the balances. ``customers_import`` calls it for each batch; an import whose
    customers' rows come in any order (a CSV file) posts with ``announce=False`` and calls it
    once at the end, with what the whole import moved."""
    balances: dict[int, Balance] = {}
    user_ids = sorted(points_by_customer)
    for start in range(0, len(user_ids), _BULK):
        accounts = Account.objects.filter(user_id__in=user_ids[start : start + _BULK])
        events = []
        for account in accounts:
            balances[account.user_id] = Balance.of(account)
            events.append(_imported_event(account, points=points_by_customer[account.user_id], source=source, now=now))
        Event.objects.bulk_create(events, batch_size=_BULK)
    announce_committed()
    return balances


def bulk_insert(objects: list[Model], *, returning: bool = False) -> None:
    """``bulk_create`` without the ORM's per-value preparation, which is most of an import's
    time: the instances' column values (every one set, foreign keys as ids) go straight to the
    driver."""
    if not objects:
        return
    model = type(objects[0])
    # Every column but an id the database draws (an order's id is its own).
    fields = [field for field in model._meta.concrete_fields if not (field.primary_key and field.db_returning)]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    sql = f"INSERT INTO {model._meta.db_table} ({columns}) VALUES %s" + (" RETURNING id" if returning else "")
    # JSON is the one kind of value the driver would not send as the column wants (a list as an array).
    prepared = {field.attname for field in fields if isinstance(field, JSONField)}
    rows = [
        tuple(
            Json(getattr(instance, field.attname)) if field.attname in prepared else getattr(instance, field.attname)
            for field in fields
        )
        for instance in objects
    ]
    with connection.cursor() as cursor:
        ids = execute_values(cursor.cursor, sql, rows, page_size=_BULK, fetch=returning)
    # RETURNING gives the ids in the order of the VALUES (bulk_create relies on it too).
    for instance, (pk,) in zip(objects, ids or (), strict=False):
        instance.pk = pk
        instance._state.adding = False
