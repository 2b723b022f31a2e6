#!/usr/bin/env bash
# The lifecycle job's cost grows with the lots that are due, not with all lots: one pass
# over 1,000,000 lots of which 10,000 are due (5,000 to release, 5,000 to expire), then
# the same 10,000 due among 100,000 lots. Usage: bench/lifecycle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

seed_lots() {  # total_lots customers
    local total=$1 customers=$2
    psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
    $PY manage.py migrate --no-input -v 0
    psql -h 127.0.0.1 -U postgres -q -d "$DB" <<SQL
INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change, reward_description,
                            earned_date, is_active, created_at)
SELECT 1 + g % $customers, CASE WHEN g <= 5000 THEN 'order' ELSE 'earn' END,
       CASE WHEN g <= 5000 THEN 0 ELSE 10 END, 0, CASE WHEN g <= 5000 THEN 10 ELSE 0 END,
       'lot ' || g, now(), true, now()
FROM generate_series(1, $total) g;
-- Lots 1-5,000 pending and due; 5,001-10,000 available and expired; the rest available,
-- expiring in a year (not due, not in the notice window).
INSERT INTO rewards_pointlot (user_id, credit_id, points, remaining, pending, available_at, expires_at, notice_at,
                              expired_points, cancelled_points, created_at)
SELECT user_id, id, 10, 10, id <= 5000, now() - interval '1 day',
       CASE WHEN id <= 5000 THEN NULL WHEN id <= 10000 THEN now() - interval '1 hour' ELSE now() + interval '365 days' END,
       NULL, 0, 0, now()
FROM rewards_reward;
INSERT INTO rewards_account (user_id, total_points_earned, total_points_redeemed, pending_points, points_owed,
                             expiring_points, next_expiry_at, created_at, updated_at)
SELECT r.user_id, SUM(r.points_earned), 0, SUM(r.pending_change), 0, 0,
       MIN(l.expires_at) FILTER (WHERE NOT l.pending), now(), now()
FROM rewards_reward r JOIN rewards_pointlot l ON l.credit_id = r.id GROUP BY r.user_id;
UPDATE rewards_account a SET next_available_at = now() - interval '1 day'
WHERE EXISTS (SELECT 1 FROM rewards_pointlot l WHERE l.user_id = a.user_id AND l.pending);
VACUUM ANALYZE;
SQL
}

for total in 1000000 100000; do
    echo "== $total lots, 10,000 due"
    seed_lots "$total" 100000
    /usr/bin/time -f "points_lifecycle: %e s wall, %M KB peak" $PY manage.py points_lifecycle
    $PY manage.py points_lifecycle | sed 's/^/second pass: /'
    $PY manage.py check_ledger | tail -1
done
