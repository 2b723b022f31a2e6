"""One customer's row held locked while 40 writes to that customer arrive at once: how long
does an unrelated customer's request take meanwhile? (docs/BENCHMARKS.md, Contention.)

    python bench/contention.py BASE_URL TOKEN DATABASE_URL [--writes 40]

Holds the row with SELECT … FOR UPDATE on its own connection for the whole run, so the
contended writes can only wait and give up (503 resource_busy)."""

import argparse
import http.client
import json
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import psycopg2


def post(base: str, token: str, path: str, body: dict) -> tuple[int, float]:
    started = time.monotonic()
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=60)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        connection.request("POST", path, json.dumps(body), headers)
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        connection.close()


def earn(base: str, token: str, user_id: int) -> tuple[int, float]:
    body = {"user_id": user_id, "points_earned": 1, "reward_description": "contention"}
    return post(base, token, "/rewards-api/earn-points/", body)


def contended_run(base: str, token: str, database_url: str, *, busy_user: int, other_user: int, writes: int) -> dict:
    """The busy customer's row locked, `writes` writes to it at once, then one write for
    another customer: the statuses of the contended writes and the other's latency."""
    earn(base, token, busy_user)  # the account row exists
    holder = psycopg2.connect(database_url)
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT 1 FROM rewards_account WHERE user_id = %s FOR UPDATE", [busy_user])
        results: list[tuple[int, float]] = []
        threads = [threading.Thread(target=lambda: results.append(earn(base, token, busy_user))) for _ in range(writes)]
        for thread in threads:
            thread.start()
        time.sleep(0.2)  # every contended write is in
        other_status, other_seconds = earn(base, token, other_user)
        for thread in threads:
            thread.join()
    finally:
        holder.rollback()
        holder.close()
    return {
        "contended": dict(Counter(status for status, _ in results)),
        "contended_max_seconds": round(max(seconds for _, seconds in results), 3),
        "other_status": other_status,
        "other_seconds": round(other_seconds, 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("token")
    parser.add_argument("database_url")
    parser.add_argument("--writes", type=int, default=40)
    args = parser.parse_args()
    print(
        json.dumps(
            contended_run(
                args.base, args.token, args.database_url, busy_user=990001, other_user=990002, writes=args.writes
            )
        )
    )
