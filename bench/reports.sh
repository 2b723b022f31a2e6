#!/usr/bin/env bash
# The reports over 1,000,000 lots: 1,000,000 credits (a year of them, spread over 100,000
# customers, some expiring, some expired, some pending), 500,000 redemptions consuming them.
# Each report is timed as the API computes it (least of 3). Usage: bench/reports.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

echo "== fresh database $DB with 1,000,000 lots"
psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
$PY manage.py migrate --no-input -v 0
psql -h 127.0.0.1 -U postgres -q -d "$DB" <<'SQL'
-- Credits over the last year: 1 in 10 pending, 1 in 5 expiring within a year, 1 in 20 already
-- expired (their points gone by an expiry row).
INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                            earned_date, is_active, created_at)
SELECT 1 + g % 100000, CASE WHEN g % 10 = 0 THEN 'order' ELSE 'earn' END,
       CASE WHEN g % 10 = 0 THEN 0 ELSE 100 END, 0, CASE WHEN g % 10 = 0 THEN 100 ELSE 0 END,
       'credit ' || g, now() - (g % 365) * interval '1 day', true, now() - (g % 365) * interval '1 day'
FROM generate_series(1, 1000000) g;
INSERT INTO rewards_pointlot (user_id, credit_id, points, remaining, pending, available_at, expires_at, notice_at,
                              expired_points, cancelled_points, created_at)
SELECT user_id, id, 100, CASE WHEN id % 20 = 1 THEN 0 ELSE 100 END, id % 10 = 0,
       CASE WHEN id % 10 = 0 THEN now() + interval '5 days' ELSE created_at END,
       CASE WHEN id % 20 = 1 THEN created_at + interval '1 day' WHEN id % 5 = 2 THEN now() + (id % 300) * interval '1 day' END,
       NULL, CASE WHEN id % 20 = 1 THEN 100 ELSE 0 END, 0, created_at
FROM rewards_reward;
INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                            redeemed_date, is_active, created_at)
SELECT user_id, 'expiry', 0, 100, 0, 'Expired', created_at + interval '1 day', true, created_at + interval '1 day'
FROM rewards_pointlot WHERE expired_points > 0;
-- 500,000 redemptions of 50 points, each from one lot that is available and not expired.
WITH picked AS (
    SELECT id, user_id, created_at FROM rewards_pointlot
    WHERE NOT pending AND expired_points = 0 AND id % 2 = 0 LIMIT 500000
), debits AS (
    INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                                redeemed_date, is_active, created_at)
    SELECT user_id, 'coupon', 0, 50, 0, 'lot ' || id, created_at, true, created_at FROM picked
    RETURNING id, reward_description
)
INSERT INTO rewards_lotconsumption (lot_id, debit_id, points, created_at)
SELECT substr(d.reward_description, 5)::bigint, d.id, 50, now() FROM debits d;
UPDATE rewards_pointlot l SET remaining = remaining - 50
FROM rewards_lotconsumption c WHERE c.lot_id = l.id;
ANALYZE;
SQL
$PY - <<'PY'
import os, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rewards_project.settings")
django.setup()
from datetime import UTC, date, datetime, timedelta
from rewards import reports
from django.db import connection

today = datetime.now(UTC).date()
with connection.cursor() as cursor:
    cursor.execute("SELECT COUNT(*) FROM rewards_pointlot"); lots = cursor.fetchone()[0]
    cursor.execute("SELECT COUNT(*) FROM rewards_reward"); rows = cursor.fetchone()[0]
print(f"{lots:,} lots, {rows:,} ledger rows")
for name, run in [
    ("liability (today)", lambda: reports.liability(as_of=today)),
    ("liability (90 days ago)", lambda: reports.liability(as_of=today - timedelta(days=90))),
    ("rollforward (a year)", lambda: reports.rollforward(start=today - timedelta(days=365), end=today)),
    ("rollforward (today)", lambda: reports.rollforward(start=today, end=today)),
    ("breakage", reports.breakage),
    ("dashboard series (90 days)", lambda: reports.daily(days=90)),
]:
    times = []
    for _ in range(3):
        start = time.perf_counter(); result = run(); times.append(time.perf_counter() - start)
    print(f"{name:28} {min(times):6.2f} s")
report = reports.liability(as_of=today)
print("available", report.available_points, "buckets add up:", sum(report.expiring.values()) == report.available_points)
PY
