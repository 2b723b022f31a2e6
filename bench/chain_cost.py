"""What the ledger's hash chain costs a posting, measured inside PostgreSQL, side by side.

    DATABASE_URL=postgres://…/a_migrated_db .venv/bin/python bench/chain_cost.py [rounds] [postings]

Each round runs the same postings (ledger_credit, as earn-points calls it: the account, one
ledger row, its lot and its event) twice in one session, each in a transaction rolled back
afterwards: once with ledger_row as rewards/sql/ledger.sql defines it, once with ledger_row
replaced, inside that transaction only, by the same function without the chain's work (no
salt, no description commitment, no row hash). The difference is the chain's own cost per
posting, with what a request adds (Python, the round trips, the commit's WAL flush) left out:
compare it with a request's time (docs/BENCHMARKS.md). Alternating rounds, medians: the
machine is noisy.
"""

import os
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
CHAIN_LINES = (
    "    r.description_salt := uuid_send(gen_random_uuid());  -- 16 random bytes\n",
    "    r.description_commitment := sha256(r.description_salt || convert_to(r.reward_description, 'UTF8'));\n",
    "    r.hash := ledger_row_hash(a.chain_hash, r);\n",
)
UNCHAINED = (
    "    r.description_salt := NULL;\n",
    "    r.description_commitment := '\\x00'::bytea;\n",
    "    r.hash := '\\x00'::bytea;\n",
)


def ledger_row_unchained() -> str:
    live = (ROOT / "rewards/sql/ledger.sql").read_text()
    found = re.search(r"^CREATE OR REPLACE FUNCTION ledger_row\(.*?^END \$\$;", live, re.MULTILINE | re.DOTALL)
    definition = found.group(0)
    for chained, unchained in zip(CHAIN_LINES, UNCHAINED, strict=True):
        assert chained in definition, f"ledger_row no longer has: {chained.strip()}"
        definition = definition.replace(chained, unchained)
    return definition


def postings(cursor, count: int, first_user: int) -> float:
    """Seconds for ``count`` credits to new customers, in the current transaction."""
    started = time.perf_counter()
    cursor.execute(
        f"""
        DO $$ BEGIN
            FOR i IN 0 .. {int(count)} - 1 LOOP
                PERFORM ledger_credit({int(first_user)} + i, 10, 'earn', 'bench', NULL, now(), now(), false, now(),
                                      NULL, now() + interval '30 days', '', 'points.earned', NULL);
            END LOOP;
        END $$
        """
    )
    return time.perf_counter() - started


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    url = urlparse(os.environ["DATABASE_URL"])
    connection = psycopg2.connect(
        host=url.hostname, port=url.port or 5432, user=url.username, dbname=url.path.lstrip("/")
    )
    cursor = connection.cursor()
    unchained = ledger_row_unchained()
    results: dict[str, list[float]] = {"chained": [], "unchained": []}
    postings(cursor, count, 900_000_000)  # warm up
    connection.rollback()
    for round_number in range(rounds):
        for variant in ("chained", "unchained") if round_number % 2 == 0 else ("unchained", "chained"):
            if variant == "unchained":
                cursor.execute(unchained)
            results[variant].append(postings(cursor, count, 900_000_000))
            connection.rollback()
    chained, bare = statistics.median(results["chained"]), statistics.median(results["unchained"])
    per_posting = (chained - bare) / count * 1e6
    print(f"{count} postings x {rounds} rounds, medians: chained {chained:.3f} s, without the chain {bare:.3f} s")
    print(f"per posting: chained {chained / count * 1e6:.1f} us, without {bare / count * 1e6:.1f} us")
    print(f"the chain's own cost: {per_posting:.1f} us per posting ({(chained / bare - 1) * 100:.1f}% of the SQL)")


if __name__ == "__main__":
    main()
