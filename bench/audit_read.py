"""One page of the audit record (GET loyalty-api/audit's read) over many entries.

    DATABASE_URL=postgres://…/a_scratch_db .venv/bin/python bench/audit_read.py [entries] [objects]

Writes ``entries`` updates of ``objects`` catalog items into their audit table by plain SQL (the
chain's trigger off: the read does not care), all today, then times the first page of 100 of
today's entries (what the API answers by default) and the page after the middle of them, and
prints each. It writes into the database it is given: use a scratch one.
"""

import os
import statistics
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")
os.environ.setdefault("LOYALTY_MANAGEMENT_COMMAND", "1")  # no statement timeout
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.audit import audit_entries  # noqa: E402
from rewards.models import CatalogItem, CatalogItemAudit  # noqa: E402

ENTRIES = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
OBJECTS = int(sys.argv[2]) if len(sys.argv) > 2 else 10

audit = CatalogItemAudit._meta
columns = [f.column for f in audit.concrete_fields if not f.column.startswith("pgh_")]
items = list(CatalogItem.objects.order_by("pk").values_list("pk", flat=True)[:OBJECTS])
with transaction.atomic(), connection.cursor() as cursor:
    cursor.execute("SET LOCAL session_replication_role = replica")
    cursor.execute(
        f"""
        INSERT INTO {audit.db_table} ({", ".join(f'"{c}"' for c in columns)}, pgh_obj_id, pgh_label, pgh_created_at)
        SELECT {", ".join("n" if c == "stock" else f'c."{c}"' for c in columns)}, c.id, 'update', now()
        FROM generate_series(1, %s) n JOIN rewards_catalogitem c ON c.id = (%s::bigint[])[1 + n %% %s]
        ORDER BY n
        """,
        [ENTRIES, items, len(items)],
    )
    cursor.execute(f"ANALYZE {audit.db_table}")
total = CatalogItemAudit.objects.count()
today = timezone.now().date()
middle = CatalogItemAudit.objects.order_by("pgh_id").values_list("pgh_id", flat=True)[total // 2]
for name, after in (("first page", 0), ("a page from the middle", middle)):
    times = []
    for _ in range(3):
        started = time.perf_counter()
        page = audit_entries(start=today, end=today, after_id=after, limit=100)
        times.append(time.perf_counter() - started)
        if times[-1] > 60:
            break
    assert len(page) == 100
    print(f"{total} entries, {name} of 100: median {statistics.median(times) * 1000:.1f} ms ({len(times)} runs)")

# Admin's list: the newest 100 entries.
try:
    from core.audit import audit_latest

    def newest() -> list:
        return audit_latest(limit=100)
except ImportError:  # before the audit read was ours: pghistory's Events, as admin read it then
    from pghistory.models import Events

    from core.audit import audit_models

    def newest() -> list:
        return list(Events.objects.across(*audit_models()).order_by("-pgh_id")[:100])


limit_s = int(os.environ.get("AUDIT_READ_TIMEOUT_S", "300"))
with transaction.atomic(), connection.cursor() as cursor:
    cursor.execute(f"SET LOCAL statement_timeout = '{limit_s}s'")
    started = time.perf_counter()
    try:
        found = newest()
        print(f"{total} entries, admin's newest 100: {(time.perf_counter() - started) * 1000:.1f} ms ({len(found)})")
    except Exception as error:  # noqa: BLE001 - the statement timeout, reported as such
        print(f"{total} entries, admin's newest 100: over {limit_s} s ({type(error).__name__})")
