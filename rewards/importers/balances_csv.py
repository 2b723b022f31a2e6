"""Importing balances from a CSV file: ``user_id,points[,description]``, a header line optional.

Each line is one ledger row of kind ``import`` (a negative ``points`` takes points away and may
leave the customer owing). A file is recognised by its SHA-256: running the same file again
imports nothing; a different file is a different import.
"""

import csv
import hashlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from django.utils import timezone

from core.limits import MAX_POINTS_PER_ENTRY
from rewards.importers.base import (
    BATCH_ROWS,
    ImportEntry,
    ImportRefused,
    ImportReport,
    balances_below_zero,
    customer_id,
    customers_import,
    customers_imported_announce,
    description_text,
    rows_imported,
    rows_record,
    run_import,
    source_int,
)
from rewards.models import ImportSource, RewardKind

SOURCE = ImportSource.CSV


def balances_csv_import(path: Path, *, dry_run: bool = False) -> ImportReport:
    if not path.is_file():
        raise ImportRefused(f"No file at {path}.")
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for chunk in iter(lambda: data.read(1 << 20), b""):
            digest.update(chunk)
    report = ImportReport(source=f"{path.name} (sha256 {digest.hexdigest()[:12]}…)", dry_run=dry_run)
    return run_import(report, lambda report: _import(path, digest.hexdigest()[:32], report))


def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as data:
            for number, fields in enumerate(csv.reader(data), start=1):
                if number == 1 and fields and fields[0].strip().lower() == "user_id":
                    continue
                if fields and any(value.strip() for value in fields):
                    yield number, fields
    except UnicodeDecodeError as error:
        raise ImportRefused(f"{path.name} is not UTF-8 text ({error}).") from error
    except csv.Error as error:
        raise ImportRefused(f"{path.name} is not readable CSV: {error}.") from error


def _import(path: Path, digest: str, report: ImportReport) -> None:
    """Lines come in any order and a customer may be on several, in different batches: each
    customer is counted, announced and checked for a balance below zero once, at the end."""
    now = timezone.now()
    imported: dict[int, int] = {}  # user_id: points this import moved
    batch: list[tuple[int, list[str]]] = []
    for line in _lines(path):
        batch.append(line)
        if len(batch) >= BATCH_ROWS:
            _batch_import(batch, path, digest, report, now=now, imported=imported)
            batch = []
    if batch:
        _batch_import(batch, path, digest, report, now=now, imported=imported)
    balances_below_zero(report, customers_imported_announce(imported, source=SOURCE, now=now))
    report.counts["customers"] += len(imported)


def _batch_import(
    lines: list[tuple[int, list[str]]],
    path: Path,
    digest: str,
    report: ImportReport,
    *,
    now: datetime,
    imported: dict[int, int],
) -> None:
    keys = {number: f"{digest}:{number}" for number, _ in lines}
    done = rows_imported(source=SOURCE, keys=keys.values())
    report.counts["rows already imported"] += len(done)
    entries: dict[int, list[ImportEntry]] = {}
    for number, fields in lines:
        if keys[number] in done:
            continue
        row = {"line": number, "fields": fields}
        entry = _entry(fields, keys[number], path, report, row, now=now)
        if entry is not None:
            user_id = customer_id(fields[0])
            entries.setdefault(user_id, []).append(entry)
    if entries:
        customers_import(entries, source=SOURCE, now=now, announce=False)
    for user_id, rows in entries.items():
        imported[user_id] = imported.get(user_id, 0) + sum(entry.points for entry in rows)
    rows_record(source=SOURCE, keys=(keys[number] for number, _ in lines if keys[number] not in done), now=now)


def _entry(fields: list[str], key: str, path: Path, report: ImportReport, row: dict, *, now: datetime):
    if len(fields) < 2 or len(fields) > 3:
        report.anomaly("not 2 or 3 columns", "skipped", row)
        return None
    if customer_id(fields[0]) is None:
        report.anomaly("user_id is not a positive integer", "skipped", row)
        return None
    points = source_int(fields[1])
    if points is None or points == 0 or abs(points) > MAX_POINTS_PER_ENTRY:
        report.anomaly(
            "points is not a whole number between -1,000,000,000 and 1,000,000,000 other than 0", "skipped", row
        )
        return None
    description = description_text(fields[2] if len(fields) == 3 else "", report, row).strip()
    report.counts["ledger rows"] += 1
    report.counts["points credited" if points > 0 else "points debited"] += abs(points)
    return ImportEntry(
        key=key,
        kind=RewardKind.IMPORT,
        points=points,
        description=description or f"Balance imported from {path.name}",
        at=now,
    )
