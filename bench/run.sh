#!/usr/bin/env bash
# One command for the numbers: a fresh PostgreSQL database, realistic data, gunicorn with
# the project's config, wrk at 16 connections per endpoint, and pgbench's TPS for the same
# write in the same run. Usage: bench/run.sh [seconds per endpoint, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNECTIONS=16
THREADS=2
source bench/lib.sh
bench_fresh_database
bench_start_server

RESULTS="$OUT/results.tsv"
printf 'endpoint\treq_s\tp50_ms\tp99_ms\tnon_2xx\n' > "$RESULTS"

to_ms() {  # wrk prints 812.00us, 1.23ms or 1.02s
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

bench() {  # name script [env...]
    local name=$1 script=$2; shift 2
    # BENCH_ONLY="earn-points healthz" runs a subset, for quick comparisons.
    if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $name "* ]]; then return; fi
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
