#!/usr/bin/env bash
# One command for the numbers: a fresh PostgreSQL database, realistic data, gunicorn with
# the project's config, wrk at 16 connections per endpoint, and pgbench's TPS for the same
# write in the same run. Usage: bench/run.sh [seconds per endpoint, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DURATION=${1:-10}
CONNECTIONS=16
THREADS=2
PORT=${BENCH_PORT:-8077}
DB=rewards_bench
PY=.venv/bin/python
OUT=bench/out
mkdir -p "$OUT"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
make -s venv
pg_isready -h 127.0.0.1 -q || pg_ctlcluster 15 main start

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export SECRET_KEY=bench-secret-key-not-for-production-0123456789abcdef
export DEBUG=0 CONN_MAX_AGE=600 REQUEST_LOG_LEVEL=WARNING GUNICORN_ACCESS_LOG=
export THROTTLE_APPLICATION_RATE= THROTTLE_CUSTOMER_RATE=
export GUNICORN_BIND="127.0.0.1:$PORT" GUNICORN_WORKERS=${GUNICORN_WORKERS:-4}

echo "== fresh database $DB"
psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
$PY manage.py migrate --no-input -v 0
TOKEN=$($PY bench/seed.py)
export BENCH_TOKEN=$TOKEN BENCH_DIR=$ROOT/bench BENCH_ORDER_BASE=1000000000

echo "== gunicorn ($GUNICORN_WORKERS workers) on :$PORT"
.venv/bin/gunicorn -c gunicorn.conf.py rewards_project.wsgi:application > "$OUT/gunicorn.log" 2>&1 &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

RESULTS="$OUT/results.tsv"
printf 'endpoint\treq_s\tp50_ms\tp99_ms\tnon_2xx\n' > "$RESULTS"

to_ms() {  # wrk prints 812.00us, 1.23ms or 1.02s
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

bench() {  # name script [env...]
    local name=$1 script=$2; shift 2
    env "$@" wrk -t$THREADS -c$CONNECTIONS -d"${DURATION}s" --latency -s "bench/$script" "http://127.0.0.1:$PORT" \
        > "$OUT/$name.txt" 2>&1
    local rps p50 p99 bad
    rps=$(awk '/^Requests\/sec/ {print $2}' "$OUT/$name.txt")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$OUT/$name.txt")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$OUT/$name.txt")")
    bad=$(awk '/Non-2xx/ {print $NF}' "$OUT/$name.txt"); bad=${bad:-0}
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rps" "$p50" "$p99" "$bad" | tee -a "$RESULTS"
}

echo "== wrk: $CONNECTIONS connections, $DURATION s each"
bench healthz healthz.lua
bench get-points-10-rows get_points.lua BENCH_USER=2
bench get-points-100k-rows get_points.lua BENCH_USER=1
bench get-user-info user_info.lua
bench earn-points earn.lua
bench redeem-coupon redeem.lua
bench orders-post orders_post.lua
bench orders-delete orders_delete.lua

echo "== pgbench: the same write (account upsert + ledger insert), $CONNECTIONS clients"
pgbench -h 127.0.0.1 -U postgres -n -c $CONNECTIONS -j $THREADS -T "$DURATION" -f bench/pgbench_write.sql "$DB" \
    > "$OUT/pgbench.txt" 2>&1
PGTPS=$(awk '/^tps/ {print $3; exit}' "$OUT/pgbench.txt")
echo "pgbench tps: $PGTPS"

echo "== ledger check after the run"
$PY manage.py check_ledger | tail -1

echo
echo "== summary (same run)"
awk -F'\t' -v pg="$PGTPS" '
    NR == 1 { printf "%-22s %10s %8s %8s %8s %s\n", "endpoint", "req/s", "p50 ms", "p99 ms", "non-2xx", "vs"; next }
    $1 == "healthz" { health = $2 }
    {
        vs = ""
        if ($1 ~ /^(earn-points|redeem-coupon|orders-post|orders-delete)$/) vs = sprintf("%.0f%% of pgbench", 100 * $2 / pg)
        if ($1 ~ /^get-points/ && health > 0) vs = sprintf("%.0f%% of healthz", 100 * $2 / health)
        printf "%-22s %10.0f %8.2f %8.2f %8s %s\n", $1, $2, $3, $4, $5, vs
    }
    END { printf "%-22s %10.0f\n", "pgbench (same write)", pg }' "$RESULTS" | tee "$OUT/summary.txt"
