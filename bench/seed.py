"""Load the benchmark's data into a freshly migrated database and print an app token.

10,000 customers with 100,000 points each (one ledger row each), one customer (user 1)
with 100,000 ledger rows, one (user 2) with 10, and 50,000 orders (five per customer
of 10,000) for the returns benchmark. Every credit has its lot (available, never
expiring, as with the default settings). Everything goes through the same tables the
services write, and `check_ledger` is clean afterwards. The rows are then hash-chained as the
chain's migration chains existing rows (its own SQL), so `verify_ledger` is clean too.
With ``BENCH_CHALLENGES=N``, N active challenges that every order moves (orders, spend, a
streak, a rolling window, spend with a condition, in turn).
"""

import importlib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")
# A load and its chaining run for seconds, more on a busy machine: no request's statement timeout.
os.environ.setdefault("LOYALTY_MANAGEMENT_COMMAND", "1")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from core.access import AccessLevel  # noqa: E402
from loyalty.services import application_create  # noqa: E402

CUSTOMERS = range(1000, 11000)
ORDERS_PER_CUSTOMER = 5
ORDER_POINTS = 50

SQL = f"""
INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                            earned_date, is_active, application_id, created_at,
                            seq, hash, description_commitment)
SELECT u, 'earn', 100000, 0, 0, 'bench seed', now(), true, %(app)s, now(), 0, '', ''
FROM generate_series({CUSTOMERS.start}, {CUSTOMERS.stop - 1}) u;

INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                            earned_date, is_active, application_id, created_at,
                            seq, hash, description_commitment)
SELECT 1, 'earn', 1, 0, 0, 'row ' || g, now(), true, %(app)s, now(), 0, '', '' FROM generate_series(1, 100000) g;

INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                            earned_date, is_active, application_id, created_at,
                            seq, hash, description_commitment)
SELECT 2, 'earn', 1, 0, 0, 'row ' || g, now(), true, %(app)s, now(), 0, '', '' FROM generate_series(1, 10) g;

WITH orders AS (
    SELECT g AS order_id, {CUSTOMERS.start} + (g - 1) / {ORDERS_PER_CUSTOMER} AS user_id
    FROM generate_series(1, {len(CUSTOMERS) * ORDERS_PER_CUSTOMER}) g
), rows AS (
    INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                                earned_date, is_active, application_id, created_at,
                            seq, hash, description_commitment)
    SELECT user_id, 'order', {ORDER_POINTS}, 0, 0, 'Order ' || order_id, now(), true, %(app)s, now(), 0, '', ''
    FROM orders
    RETURNING id, user_id, substring(reward_description FROM 7)::bigint AS order_id
), placed AS (
    INSERT INTO loyalty_order (order_id, user_id, total_cost, completed_at, coefficient, points_awarded,
                               balance_after, breakdown, channel, items, application_id, created_at, returned_cost,
                               points_taken_back)
    SELECT order_id, user_id, {ORDER_POINTS * 20}, now(), 1, {ORDER_POINTS}, 0, '[]', '', '[]', %(app)s, now(), 0, 0
    FROM rows
)
INSERT INTO loyalty_orderaward (order_id, credit_id, user_id, points)
SELECT order_id, id, user_id, {ORDER_POINTS} FROM rows;

INSERT INTO loyalty_ordercounter (user_id, orders_placed, orders_returned)
SELECT u, {ORDERS_PER_CUSTOMER}, 0 FROM generate_series({CUSTOMERS.start}, {CUSTOMERS.stop - 1}) u;

INSERT INTO rewards_pointlot (user_id, credit_id, points, remaining, pending, available_at, expires_at,
                              notice_at, expired_points, cancelled_points, created_at)
SELECT user_id, id, points_earned, points_earned, false, now(), NULL, NULL, 0, 0, now()
FROM rewards_reward WHERE points_earned > 0;

INSERT INTO rewards_account (user_id, total_points_earned, total_points_redeemed, pending_points, points_owed,
                             expiring_points, created_at, updated_at)
SELECT user_id, SUM(points_earned), SUM(points_redeemed), 0, 0, 0, now(), now() FROM rewards_reward GROUP BY user_id;

ANALYZE;
"""


# What BENCH_CHALLENGES seeds, in turn: every order the benchmark posts moves each of them.
CHALLENGE_GOALS = [
    ({"metric": "orders", "target": 1000}, {}),
    ({"metric": "spend", "target": 10**9}, {"period": "month"}),
    ({"metric": "streak_days", "target": 1000}, {}),
    ({"metric": "orders", "target": 1000}, {"days": 30}),
    ({"metric": "spend", "target": 10**9, "conditions": [{"field": "total_cost", "op": "gt", "value": 0}]}, {}),
]


def challenges_seed(count: int) -> None:
    from rewards.services.challenges import challenge_create

    for index in range(count):
        goal, window = CHALLENGE_GOALS[index % len(CHALLENGE_GOALS)]
        definition = {"code": f"bench-{index}", "name": f"Bench {index}", "status": "active"}
        challenge_create(definition={**definition, "goal": goal, "window": window, "reward": {"points": 1}}, by="bench")


def main() -> None:
    with transaction.atomic():
        if int(os.environ.get("BENCH_CHALLENGES", "0")):
            challenges_seed(int(os.environ["BENCH_CHALLENGES"]))
        issued = application_create(name="bench", access_level=AccessLevel.CAN_MODIFY_ORDERS)
        with connection.cursor() as cursor:
            cursor.execute(SQL, {"app": str(issued.app.pk)})
            cursor.execute(importlib.import_module("rewards.migrations.0032_ledger_chain").CHAIN_EXISTING_ROWS)
            cursor.execute("ANALYZE rewards_reward; ANALYZE rewards_account")
    print(issued.token)


if __name__ == "__main__":
    main()
