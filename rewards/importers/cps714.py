"""Importing the rewards system (CPS714): its ``rewards_reward`` and ``rewards_redeemeditem``.

That system kept a row per earning or redemption, let balances go below zero, and let clients
pick any points/amount pair. Every row comes over as a ledger row with its date and
description; what each odd row becomes is decided in ``_entries`` (docs/IMPORTS.md lists the
decisions).
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.utils import timezone

from core.limits import MAX_POINTS_PER_ENTRY
from rewards.importers.base import (
    BATCH_ROWS,
    ImportedItem,
    ImportEntry,
    ImportRefused,
    ImportReport,
    balances_below_zero,
    codes_taken,
    customer_id,
    customers_import,
    description_text,
    money,
    rows_imported,
    rows_record,
    run_import,
    source_connect,
    source_datetime,
    source_int,
    source_label,
    source_rows,
)
from rewards.models import ITEM_CODE_LENGTH, CatalogKind, ImportSource, RewardKind
from rewards.selectors import catalog_item_for_redemption
from rewards.services.ledger import item_code_generate

SOURCE = ImportSource.CPS714
_REWARDS_SQL = """
    SELECT r.reward_id, r.user_id, r.points_earned, r.points_redeemed, r.reward_description, r.is_active,
           r.earned_date, r.redeemed_date, i.reward_id AS item_of, i.item_code, i.item_description, i.amount
    FROM rewards_reward r LEFT JOIN rewards_redeemeditem i ON i.reward_id = r.reward_id
    ORDER BY r.user_id, r.reward_id, i.item_code
"""
_ORPHAN_ITEMS_SQL = """
    SELECT i.reward_id, i.item_code, i.item_description, i.amount FROM rewards_redeemeditem i
    WHERE NOT EXISTS (SELECT 1 FROM rewards_reward r WHERE r.reward_id = i.reward_id)
    ORDER BY i.reward_id
"""


def cps714_import(source: str, *, dry_run: bool = False) -> ImportReport:
    """Take over the rewards system's customers from ``source`` (an SQLite file or a database
    URL), in one transaction; rows imported by an earlier run are skipped."""
    connection = source_connect(source)
    try:
        report = ImportReport(source=f"the rewards system at {source_label(source)}", dry_run=dry_run)
        return run_import(report, lambda report: _import(connection, report))
    finally:
        connection.close()


def _import(connection: Any, report: ImportReport) -> None:
    now = timezone.now()
    catalog: dict[tuple, int | None] = {}
    for batch in _customer_batches(source_rows(connection, _REWARDS_SQL, name="cps714_rewards")):
        _batch_import(batch, report, now=now, catalog=catalog)
    for row in source_rows(connection, _ORPHAN_ITEMS_SQL, name="cps714_orphans"):
        report.anomaly("redeemed item without its reward row", "skipped: it belongs to no customer", row)


def _customer_batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """About BATCH_ROWS rows at a time, never splitting a customer's rows."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        if len(batch) >= BATCH_ROWS and row["user_id"] != batch[-1]["user_id"]:
            yield batch
            batch = []
        batch.append(row)
    if batch:
        yield batch


def _batch_import(rows: list[dict[str, Any]], report: ImportReport, *, now: datetime, catalog: dict) -> None:
    keys = {row["reward_id"]: f"reward:{row['reward_id']}" for row in rows}
    done = rows_imported(source=SOURCE, keys=keys.values())
    report.counts["rows already imported"] += len(done)
    fresh = [row for row in rows if keys[row["reward_id"]] not in done]
    fresh = _one_item_each(fresh, report)
    taken = codes_taken(str(row["item_code"]).replace("\x00", "") for row in fresh if row["item_code"])
    taken_before = set(taken)
    entries: dict[int, list[ImportEntry]] = {}
    for row in fresh:
        user_id = customer_id(row["user_id"])
        if user_id is None:
            report.anomaly("user_id is not a positive integer", "skipped: it belongs to no customer", row)
            continue
        entries.setdefault(user_id, []).extend(
            _entries(row, keys[row["reward_id"]], report, now=now, taken=taken, catalog=catalog)
        )
    entries = {user_id: rows for user_id, rows in entries.items() if rows}
    fresh_codes = {e.item.code for rows in entries.values() for e in rows if e.item is not None} - taken_before
    if codes_taken(fresh_codes):
        raise ImportRefused("A newly drawn coupon code is already in use (about one chance in 10^24): run it again.")
    if entries:
        balances_below_zero(report, customers_import(entries, source=SOURCE, now=now))
    rows_record(source=SOURCE, keys=(keys[row["reward_id"]] for row in fresh), now=now)
    report.counts["customers"] += len(entries)


def _one_item_each(rows: list[dict[str, Any]], report: ImportReport) -> list[dict[str, Any]]:
    """A reward bought one thing. A source whose items table lost its key may give a reward
    several items (one joined row each): the reward is debited once, with its first item."""
    seen: set[object] = set()
    kept = []
    for row in rows:
        if row["reward_id"] in seen:
            report.anomaly("reward has more than one redeemed item", "skipped: the reward counts once", row)
            continue
        seen.add(row["reward_id"])
        kept.append(row)
    return kept


def _points(value: object, name: str, report: ImportReport, row: dict) -> int | None:
    if value is None:
        report.anomaly(f"{name} is empty", "read as 0", row)
        return 0
    points = source_int(value)
    if points is None and isinstance(value, float) and value.is_integer():
        points = int(value)
    if points is None:
        report.anomaly(f"{name} is not a whole number", "skipped the row", row)
    elif abs(points) > MAX_POINTS_PER_ENTRY:
        report.anomaly("points beyond what one entry may hold", "skipped the row", row)
        return None
    return points


def _entries(
    row: dict, key: str, report: ImportReport, *, now: datetime, taken: set[str], catalog: dict
) -> list[ImportEntry]:
    """A source row's ledger rows: its credit, its debit (with what it bought), or both."""
    earned = _points(row["points_earned"], "points_earned", report, row)
    redeemed = _points(row["points_redeemed"], "points_redeemed", report, row)
    if earned is None or redeemed is None:
        return []
    if earned < 0 or redeemed < 0:
        report.anomaly("negative points", "kept as the balance had them: a negative earning is a debit", row)
    credit = max(earned, 0) + max(-redeemed, 0)
    debit = max(redeemed, 0) + max(-earned, 0)
    has_item = row["item_of"] is not None
    if credit == 0 and debit == 0 and not has_item:
        report.anomaly("row moves no points and bought nothing", "skipped", row)
        return []
    if credit and (debit or has_item):
        report.anomaly("row both earned and redeemed", "split into a credit and a debit", row)
    description = description_text(row["reward_description"], report, row)
    earned_at, redeemed_at = source_datetime(row["earned_date"]), source_datetime(row["redeemed_date"])
    if earned_at is None and redeemed_at is None:
        report.anomaly("row has no usable date", "dated at the import", row)
    entries = []
    if credit:
        report.counts["points credited"] += credit
        entries.append(
            ImportEntry(
                key=key,
                kind=RewardKind.EARN,
                points=credit,
                description=description,
                at=earned_at or redeemed_at or now,
            )
        )
    if debit or has_item:
        report.counts["points debited"] += debit
        at = redeemed_at or earned_at or now
        if has_item:
            item, is_active = _item(row, debit, report, taken=taken, catalog=catalog)
            kind = item.kind
        else:
            if redeemed > 0:
                report.anomaly("redemption without a redeemed item", "kept as a debit (kind adjustment)", row)
            item, is_active, kind = None, True, RewardKind.ADJUSTMENT
        entries.append(
            ImportEntry(
                key=key, kind=kind, points=-debit, description=description, at=at, is_active=is_active, item=item
            )
        )
    report.counts["ledger rows"] += len(entries)
    return entries


def _item(row: dict, points: int, report: ImportReport, *, taken: set[str], catalog: dict) -> tuple[ImportedItem, bool]:
    """What a redemption bought. It is a coupon when it has a code or is still active (unused);
    otherwise a donation, which was delivered when it was made."""
    code = "" if row["item_code"] is None else str(row["item_code"]).strip()
    is_active = bool(row["is_active"])
    kind = CatalogKind.COUPON if code or is_active else CatalogKind.DONATION
    if kind == CatalogKind.COUPON:
        report.counts["coupons unused" if is_active else "coupons used"] += 1
    else:
        report.counts["donations"] += 1
    if not code:
        code = _code_new(taken)
        if kind == CatalogKind.COUPON:
            report.anomaly("coupon without a code", f"kept with the new code {code}", row)
    elif code in taken or len(code) > ITEM_CODE_LENGTH or "\x00" in code:
        problem = (
            "code already in use"
            if code in taken
            else "code holds a NUL character"
            if "\x00" in code
            else "code longer than 16 characters"
        )
        new_code = _code_new(taken)
        report.anomaly(problem, f"the coupon keeps its value under the new code {new_code}", row)
        code = new_code
    taken.add(code)
    amount, rounded = money(row["amount"])
    if amount is None:
        report.anomaly("amount is empty, negative or not a number", "recorded as 0.00", row)
        amount = money(0)[0]
    elif rounded:
        report.anomaly("amount has more than 2 decimal places", f"rounded to {amount}", row)
    option = (kind, points, amount)
    if option not in catalog:
        found = catalog_item_for_redemption(kind=kind, points=points, amount=amount)
        catalog[option] = None if found is None else found.pk
    if catalog[option] is None:
        report.counts["redemptions off the catalog"] += 1
        report.anomaly(
            "redemption matches no catalog option", "kept as it was: the customer paid these points for it", row
        )
    description = description_text(row["item_description"], report, row)
    item = ImportedItem(kind=kind, code=code, description=description, amount=amount, catalog_item_id=catalog[option])
    return item, is_active and kind == CatalogKind.COUPON


def _code_new(taken: set[str]) -> str:
    """A fresh code (82 random bits): checked against this batch's codes here, and against the
    codes already here in one query per batch (``_batch_import``)."""
    while True:
        code = item_code_generate()
        if code not in taken:
            return code
