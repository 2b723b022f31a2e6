"""What challenges add to an order, in CPU time (the app's and its PostgreSQL backend's), which a
machine shared with other work disturbs far less than throughput.

Each round posts the same number of orders (``order_record``, one transaction each, to 2,000
customers) three ways, one after the other: without the challenge call at all (the order path as
it was before challenges), with the call and no active challenge, and with five active challenges
that every order moves (orders, spend this month, a streak, a rolling 30 days, spend with a
condition). It prints the CPU milliseconds per order of each, per round, and the medians' ratios.

Usage: DATABASE_URL=postgres://…/<a scratch database> python bench/challenges_cost.py [rounds] [orders]
(the database is migrated first; it gets the orders and challenges it posts).
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from loyalty.services import orders  # noqa: E402
from rewards.models import Challenge  # noqa: E402
from rewards.services import challenges  # noqa: E402
from rewards.services.challenges import challenge_create  # noqa: E402

GOALS = [
    ({"metric": "orders", "target": 10**6}, {}),
    ({"metric": "spend", "target": 10**12}, {"period": "month"}),
    ({"metric": "streak_days", "target": 1000}, {}),
    ({"metric": "orders", "target": 10**6}, {"days": 30}),
    ({"metric": "spend", "target": 10**12, "conditions": [{"field": "total_cost", "op": "gt", "value": 0}]}, {}),
]
CUSTOMERS = 2000
TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def post(count: int, first_id: int) -> float:
    """CPU milliseconds per order, app and database together, for ``count`` orders."""
    started_app, started_db = time.process_time(), backend_cpu()
    for i in range(count):
        orders.order_record(
            order_id=first_id + i,
            user_id=900_000 + (first_id + i) % CUSTOMERS,
            total_cost=1999,
            completed_at=1_700_000_000,
            app=None,
        )
    return 1000 * (time.process_time() - started_app + backend_cpu() - started_db) / count


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    call_command("migrate", verbosity=0)
    for index, (goal, window) in enumerate(GOALS):
        code = f"cost-{index}"
        if not Challenge.objects.filter(code=code).exists():
            definition = {"code": code, "name": code, "goal": goal, "window": window, "reward": {"points": 1}}
            challenge_create(definition=definition, by="bench")
    bench = Challenge.objects.filter(code__startswith="cost-")
    Challenge.objects.filter(status="active").exclude(pk__in=bench).update(status="paused")
    counted = challenges.event_count
    next_id = int(time.time()) * 10_000
    figures: dict[str, list[float]] = {"before": [], "none active": [], "five active": []}
    for round_number in range(1, rounds + 1):
        for name in figures:
            bench.update(status="active" if name == "five active" else "paused")
            orders.challenges.event_count = (lambda *args, **kwargs: []) if name == "before" else counted
            figures[name].append(post(count, next_id))
            next_id += count
        print(f"round {round_number}: " + ", ".join(f"{name} {values[-1]:.3f} ms" for name, values in figures.items()))
    orders.challenges.event_count = counted
    bench.update(status="paused")
    before, none, five = (statistics.median(values) for values in figures.values())
    print(f"medians (CPU ms per order): before {before:.3f}, none active {none:.3f}, five active {five:.3f}")
    print(f"none active / before = {none / before:.3f}; five active / none active = {five / none:.3f}")


if __name__ == "__main__":
    main()
