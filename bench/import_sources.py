"""Build the import benchmark's sources: the rewards system's SQLite file and the CLP's PostgreSQL
database, in their own layouts, with CUSTOMERS customers and ROWS ledger rows each.

Usage: python bench/import_sources.py SQLITE_PATH CLP_DBNAME CUSTOMERS ROWS
"""

import sqlite3
import sys
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.import_sources import CLP_SCHEMA, CPS714_SCHEMA


def cps714_rows(customers: int, rows: int):
    """Per customer: rows - 3 earnings of 30, then a used and an unused $5 coupon (50 each)
    and a $10 donation (100)."""
    reward_id = 0
    for user_id in range(1, customers + 1):
        for n in range(rows):
            reward_id += 1
            when = f"2024-{1 + n % 12:02d}-{1 + user_id % 28:02d} 10:00:00"
            if n < rows - 3:
                yield (reward_id, user_id, 30, 0, f"Purchase {n}", 1, when, None), None
            elif n < rows - 1:
                active = int(n == rows - 2)
                yield (
                    (reward_id, user_id, 0, 50, "$5 coupon", active, None, when),
                    (
                        reward_id,
                        f"C{reward_id:015d}",
                        "$5 coupon",
                        5.0,
                    ),
                )
            else:
                yield (
                    (reward_id, user_id, 0, 100, "$10 donation", 0, None, when),
                    (reward_id, None, "$10 donation", 10.0),
                )


def build_cps714(path: Path, customers: int, rows: int) -> None:
    path.unlink(missing_ok=True)
    source = sqlite3.connect(path)
    source.executescript(CPS714_SCHEMA)
    batch_rewards, batch_items = [], []
    for reward, item in cps714_rows(customers, rows):
        batch_rewards.append(reward)
        if item:
            batch_items.append(item)
        if len(batch_rewards) >= 50_000:
            source.executemany("INSERT INTO rewards_reward VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch_rewards)
            source.executemany("INSERT INTO rewards_redeemeditem VALUES (?, ?, ?, ?)", batch_items)
            batch_rewards, batch_items = [], []
    source.executemany("INSERT INTO rewards_reward VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch_rewards)
    source.executemany("INSERT INTO rewards_redeemeditem VALUES (?, ?, ?, ?)", batch_items)
    source.commit()
    source.close()


def build_clp(dbname: str, customers: int, orders_each: int) -> None:
    admin = psycopg2.connect(dbname="postgres", user="postgres", host="127.0.0.1")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {dbname}")
        cursor.execute(f"CREATE DATABASE {dbname}")
    admin.close()
    source = psycopg2.connect(dbname=dbname, user="postgres", host="127.0.0.1")
    with source, source.cursor() as cursor:
        cursor.execute(CLP_SCHEMA)
        # Customers 50,001.. are new; the first half are also in the rewards system (their sum).
        cursor.execute(
            "INSERT INTO users SELECT g + %s, mod(g, 997) * 1.05, mod(g, 3) FROM generate_series(1, %s) g",
            [customers // 2, customers],
        )
        cursor.execute(
            "INSERT INTO orders SELECT g, %s + 1 + (g - 1) / %s, 100 + mod(g, 900), 1700000000 + g"
            " FROM generate_series(1, %s) g",
            [customers // 2, orders_each, customers * orders_each],
        )
        cursor.execute("INSERT INTO applications VALUES (gen_random_uuid(), 'Web shop', 'secret')")
    source.close()


if __name__ == "__main__":
    sqlite_path, clp_db, customers, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    build_cps714(Path(sqlite_path), customers, rows)
    build_clp(clp_db, customers, orders_each=5)
