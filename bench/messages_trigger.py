"""The write path of a customer with no contact, with and without the messages' trigger, side by
side: alternated rounds of earn-points postings (the service, one connection, each its own
transaction) with ``message_outbox`` enabled and disabled on ``rewards_event``. Commits do not
wait for the disk (``synchronous_commit`` off for this session): on a shared machine the fsync's
noise would hide what the trigger costs. Many short pairs, their median ratio. Usage (on a
migrated database, DATABASE_URL set): python bench/messages_trigger.py [postings per round] [pairs]
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")

import django

django.setup()

from django.db import connection  # noqa: E402

from rewards.services import points_earn  # noqa: E402

USER_BASE = 9_000_000


def round_rate(postings: int, *, trigger: bool, user_id: int) -> float:
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE rewards_event {'ENABLE' if trigger else 'DISABLE'} TRIGGER message_outbox")
    started = time.perf_counter()
    for _ in range(postings):
        points_earn(user_id=user_id, points=1, description="bench", app=None)
    return postings / (time.perf_counter() - started)


def main() -> None:
    postings = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    round_rate(200, trigger=True, user_id=USER_BASE)  # warm the plans and the connection
    ratios = []
    try:
        for pair in range(1, pairs + 1):
            before = round_rate(postings, trigger=False, user_id=USER_BASE + pair)
            after = round_rate(postings, trigger=True, user_id=USER_BASE + pair)
            ratios.append(after / before)
            print(f"pair {pair}: without the trigger {before:.0f}/s, with it {after:.0f}/s ({after / before:.2f}x)")
            # Alternate which goes first, so a drift of the machine falls on both alike.
            after = round_rate(postings, trigger=True, user_id=USER_BASE + pair)
            before = round_rate(postings, trigger=False, user_id=USER_BASE + pair)
            ratios.append(after / before)
            print(f"pair {pair}b: with the trigger {after:.0f}/s, without it {before:.0f}/s ({after / before:.2f}x)")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE rewards_event ENABLE TRIGGER message_outbox")
    ratios.sort()
    print(
        f"with / without: median {ratios[len(ratios) // 2]:.2f}x (lowest {ratios[0]:.2f}x, highest {ratios[-1]:.2f}x)"
    )


if __name__ == "__main__":
    main()
