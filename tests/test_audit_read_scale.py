"""The audit read costs what a page holds, not what the record holds: each audit table gives its
first ids by an index, and only the page's entries are read whole, each finding the entry before
it by (pgh_obj_id, pgh_id). Proved on 50,000 entries of one catalog item, seeded by SQL, by the
query plans of the pages (the rows every scan touched), not by timing."""

import json
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.audit import audit_entries, audit_latest
from rewards.models import CatalogItem, CatalogItemAudit

pytestmark = pytest.mark.django_db

SEEDED = 50_000
TODAY_ENTRIES = 300  # the last of the seeded entries, made today; the others days before
SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


def seed(item: CatalogItem) -> None:
    """50,000 updates of one item (its stock 1, 2, 3 …), one a minute, the last 300 today (a second apart)."""
    audit = CatalogItemAudit._meta
    columns = [f.column for f in audit.concrete_fields if not f.column.startswith("pgh_")]
    values = ["n" if column == "stock" else f'c."{column}"' for column in columns]
    # The first seconds of today (UTC, the audit's days), whatever the time: a run may start just
    # after midnight.
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    with connection.cursor() as cursor:
        # Not chained (the chain's trigger off, as the read does not care): 1 s instead of 5.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            f"""
            INSERT INTO {audit.db_table} ({", ".join(f'"{c}"' for c in columns)}, pgh_obj_id, pgh_label, pgh_created_at)
            SELECT {", ".join(values)}, c.id, 'update',
                   CASE WHEN n > %(before_today)s THEN %(midnight)s + (n - %(before_today)s) * interval '1 second'
                        ELSE %(midnight)s - interval '1 day' - (%(seeded)s - n) * interval '1 minute' END
            FROM rewards_catalogitem c, generate_series(1, %(seeded)s) n WHERE c.id = %(item)s ORDER BY n
            """,
            {"seeded": SEEDED, "before_today": SEEDED - TODAY_ENTRIES, "midnight": midnight, "item": item.pk},
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
        cursor.execute(f"ANALYZE {audit.db_table}")  # what autovacuum does after such a load


@contextmanager
def queries():
    seen: list[tuple[str, object]] = []

    def keep(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        yield seen


def rows_scanned(sql: str, params: object) -> int:
    """Every row any scan of the query's plan touched (returned or filtered out), loops included."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def walk(node: dict) -> int:
        own = 0
        if node["Node Type"] in SCANS:
            own = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
        return own + sum(walk(child) for child in node.get("Plans", []))

    return walk(plan[0]["Plan"])


@pytest.fixture
def item():
    item = CatalogItem.objects.get(kind="coupon", points_cost=50)
    seed(item)
    return item


def test_a_page_of_today_reads_about_the_page_among_50000_entries(item):
    today = timezone.now().date()
    with queries() as seen:
        page = audit_entries(start=today, end=today, subject="catalog_item", limit=100)
    mine = [e for e in page if e.object_id == str(item.pk) and e.action == "update"]
    assert len(page) == 100 and len(mine) >= 90  # after the few entries the migrations made today
    assert [e.after["stock"] for e in mine] == list(range(49701, 49701 + len(mine)))
    # Each update's before is the entry before it, found by the (pgh_obj_id, pgh_id) index.
    assert [(e.before["stock"], e.after["stock"]) for e in mine[:2]] == [(49700, 49701), (49701, 49702)]
    [(sql, params)] = seen
    scanned = rows_scanned(sql, params)
    # The 300 of today (by the time index), then the page's 100 by id and one entry before each.
    assert scanned <= TODAY_ENTRIES + 3 * 100, scanned


@pytest.mark.parametrize("after_seq", [0, 25_000, 49_990])
def test_a_page_after_any_cursor_over_every_day_reads_the_page(item, after_seq):
    seeded = CatalogItemAudit.objects.filter(pgh_obj_id=item.pk, pgh_label="update").order_by("pgh_id")
    first = seeded.values_list("pgh_id", flat=True)[after_seq]
    with queries() as seen:
        page = audit_entries(
            start=timezone.now().date() - timedelta(days=400), end=timezone.now().date(), after_id=first, limit=100
        )
    assert [e.id for e in page] == sorted(e.id for e in page) and all(e.id > first for e in page)
    assert len(page) == min(100, SEEDED - after_seq - 1)
    assert [e.after["stock"] for e in page] == list(range(after_seq + 2, after_seq + 2 + len(page)))
    [(sql, params)] = seen
    scanned = rows_scanned(sql, params)
    # Each audit table's first 100 after the cursor (this item's, here), then the page's 100 by
    # id and one entry before each: never the 50,000.
    assert scanned <= 4 * 100 + 20, scanned


def test_the_admin_list_reads_the_newest_page_only(item):
    with queries() as seen:
        newest = audit_latest(subject="catalog_item", limit=100)
        older = audit_latest(subject="catalog_item", before_id=newest[-1].id, limit=100)
    assert [e.after["stock"] for e in newest] == list(range(SEEDED, SEEDED - 100, -1))
    assert [e.after["stock"] for e in older] == list(range(SEEDED - 100, SEEDED - 200, -1))
    for sql, params in seen:
        assert rows_scanned(sql, params) <= 4 * 100 + 20
