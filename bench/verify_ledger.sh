#!/usr/bin/env bash
# verify_ledger over a generated ledger: 10,000 customers x 100 chained rows (1,000,000 rows),
# their accounts and heads, and one signed digest of the 10,000 heads; then the command, timed.
# Usage: bench/verify_ledger.sh [customers, default 10000] [rows each, default 100]
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOMERS=${1:-10000}
ROWS=${2:-100}
DB=${BENCH_DB:-rewards_bench_verify}
PY=.venv/bin/python
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export LEDGER_SIGNING_KEY=${LEDGER_SIGNING_KEY:-bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0}

echo "== fresh database $DB"
psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
$PY manage.py migrate --no-input -v 0

echo "== $CUSTOMERS customers x $ROWS rows, chained by ledger_row_hash (as ledger_row does)"
time psql -h 127.0.0.1 -U postgres -q -v ON_ERROR_STOP=1 "$DB" <<SQL
DO \$\$
DECLARE
    r rewards_reward;
    previous bytea;
    moment timestamptz := now();
BEGIN
    FOR customer IN 1 .. $CUSTOMERS LOOP
        previous := NULL;
        FOR n IN 1 .. $ROWS LOOP
            r.user_id := customer;
            r.seq := n;
            r.kind := CASE WHEN n % 10 = 0 THEN 'coupon' ELSE 'earn' END;
            r.points_earned := CASE WHEN n % 10 = 0 THEN 0 ELSE 20 END;
            r.points_redeemed := CASE WHEN n % 10 = 0 THEN 50 ELSE 0 END;
            r.pending_change := 0;
            r.reward_description := 'Row ' || n || ' of customer ' || customer;
            r.earned_date := CASE WHEN n % 10 = 0 THEN NULL ELSE moment END;
            r.redeemed_date := CASE WHEN n % 10 = 0 THEN moment END;
            r.application_id := NULL;
            r.imported_from := '';
            r.rule_id := NULL;
            r.rule_version := NULL;
            r.created_at := moment + n * interval '1 microsecond';
            r.description_salt := uuid_send(gen_random_uuid());
            r.description_commitment := sha256(r.description_salt || convert_to(r.reward_description, 'UTF8'));
            r.hash := ledger_row_hash(previous, r);
            INSERT INTO rewards_reward (user_id, kind, points_earned, points_redeemed, pending_change,
                                        reward_description, earned_date, redeemed_date, is_active, imported_from,
                                        created_at, seq, hash, description_salt, description_commitment)
            VALUES (r.user_id, r.kind, r.points_earned, r.points_redeemed, 0, r.reward_description, r.earned_date,
                    r.redeemed_date, true, '', r.created_at, r.seq, r.hash, r.description_salt,
                    r.description_commitment);
            previous := r.hash;
        END LOOP;
        INSERT INTO rewards_account (user_id, total_points_earned, total_points_redeemed, pending_points, points_owed,
                                     expiring_points, created_at, updated_at, chain_seq, chain_hash)
        VALUES (customer, 0, 0, 0, 0, 0, moment, moment, $ROWS, previous);
    END LOOP;
END \$\$;
ANALYZE;
SQL
$PY manage.py ledger_digest

echo "== verify_ledger"
time $PY manage.py verify_ledger
