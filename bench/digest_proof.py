"""A customer's digests with their Merkle proofs, out of a digest of 100,000 heads.

    DATABASE_URL=postgres://…/a_scratch_db .venv/bin/python bench/digest_proof.py [heads]

Gives 100,000 accounts a chain head (plain SQL: no rows, only what a cut reads), cuts one
digest, then times customer_digests (what a customer's export carries) for one customer in
the middle, ten times, and prints the median. It writes into the database it is given: use a
scratch one (the accounts are removed again, the digest stays: digests are append-only).
"""

import os
import statistics
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")
os.environ.setdefault("LOYALTY_MANAGEMENT_COMMAND", "1")  # no statement timeout
os.environ.setdefault("LEDGER_SIGNING_KEY", "bec0" * 16)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
django.setup()

from django.db import connection  # noqa: E402

from rewards.models import LedgerDigest  # noqa: E402
from rewards.services.digests import customer_digests, ledger_digest_cut  # noqa: E402

HEADS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
FIRST = 800_000_000 + 1_000_000 * LedgerDigest.objects.count()  # customers no digest holds yet

with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO rewards_account (user_id, total_points_earned, total_points_redeemed, pending_points, points_owed,"
        " expiring_points, created_at, updated_at, chain_seq, chain_hash) "
        "SELECT %s + n, 0, 0, 0, 0, 0, now(), now(), 1, sha256(n::text::bytea) FROM generate_series(0, %s - 1) n",
        [FIRST, HEADS],
    )
started = time.perf_counter()
digest = ledger_digest_cut()
cut = time.perf_counter() - started
customer = FIRST + HEADS // 2
times = []
for _ in range(10):
    started = time.perf_counter()
    held = [d for d in customer_digests(customer) if d["id"] == digest.id]
    times.append(time.perf_counter() - started)
assert len(held) == 1 and held[0]["head"]["user_id"] == customer
with connection.cursor() as cursor:
    cursor.execute("DELETE FROM rewards_account WHERE user_id >= %s AND user_id < %s", [FIRST, FIRST + HEADS])
print(f"digest {digest.id} of {digest.heads_count} heads cut in {cut:.2f} s")
print(f"customer_digests of one customer: median {statistics.median(times) * 1000:.1f} ms (10 runs)")
