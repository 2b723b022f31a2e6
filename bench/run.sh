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
printf 'endpoint\treq_s\tp50_ms\tp99_ms\tmax_ms\tnon_2xx\tpg_cpu_ms\tapp_cpu_ms\twrk_cpu_ms\n' > "$RESULTS"
# CPU seconds of PostgreSQL's process tree (backends included) and of gunicorn's.
POSTMASTER=$(psql -h 127.0.0.1 -U postgres -Atc "SELECT pg_read_file('postmaster.pid')" 2>/dev/null | head -1 \
    || head -1 /var/run/postgresql/15-main.pid)

to_ms() {  # wrk prints 812.00us, 1.23ms or 1.02s
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

cpu_seconds() {  # PostgreSQL's and gunicorn's CPU seconds so far, on one line
    $PY bench/cpu.py "pg=$POSTMASTER" "app=$GUNICORN" | awk '{printf "%s ", $2}'
}

bench() {  # name script [env...]
    local name=$1 script=$2; shift 2
    # BENCH_ONLY="earn-points healthz" runs a subset, for quick comparisons.
    if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $name "* ]]; then return; fi
    local before after wrk_cpu
    before=$(cpu_seconds)
    wrk_cpu=$( { TIMEFORMAT='%U %S'; time env "$@" wrk -t$THREADS -c$CONNECTIONS -d"${DURATION}s" --latency \
        -s "bench/$script" "http://127.0.0.1:$PORT" > "$OUT/$name.txt" 2>&1; } 2>&1 | awk '{print $1 + $2}')
    after=$(cpu_seconds)
    local rps p50 p99 max bad requests
    rps=$(awk '/^Requests\/sec/ {print $2}' "$OUT/$name.txt")
    requests=$(awk '/requests in/ {print $1}' "$OUT/$name.txt")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$OUT/$name.txt")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$OUT/$name.txt")")
    max=$(to_ms "$(awk '$1 == "Latency" {print $4; exit}' "$OUT/$name.txt")")
    bad=$(awk '/Non-2xx/ {print $NF}' "$OUT/$name.txt"); bad=${bad:-0}
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rps" "$p50" "$p99" "$max" "$bad" \
        "$(echo "$before $after $wrk_cpu $requests" | awk '{printf "%.3f\t%.3f\t%.3f", 1000 * ($3 - $1) / $6, 1000 * ($4 - $2) / $6, 1000 * $5 / $6}')" \
        | tee -a "$RESULTS"
}

# Each worker's first requests open its PostgreSQL and Redis connections and plan its first
# statements: warm them up unmeasured, so the first endpoint measured pays no start-up.
echo "== warm-up: 2 s of reads and writes, not measured"
for script in get_points.lua earn.lua; do
    BENCH_USER=2 wrk -t$THREADS -c$CONNECTIONS -d2s -s "bench/$script" "http://127.0.0.1:$PORT" > /dev/null 2>&1
done

echo "== wrk: $CONNECTIONS connections, $DURATION s each"
bench healthz healthz.lua
bench get-points-10-rows get_points.lua BENCH_USER=2
bench get-points-100k-rows get_points.lua BENCH_USER=1
bench get-user-info user_info.lua
bench earn-points earn.lua
bench redeem-coupon redeem.lua
bench orders-post orders_post.lua
bench orders-delete orders_delete.lua

echo "== pgbench: the same write (account upsert, ledger row, lot, event), $CONNECTIONS clients"
pgbench -h 127.0.0.1 -U postgres -n -c $CONNECTIONS -j $THREADS -T "$DURATION" -f bench/pgbench_write.sql "$DB" \
    > "$OUT/pgbench.txt" 2>&1
PGTPS=$(awk '/^tps/ {print $3; exit}' "$OUT/pgbench.txt")
echo "pgbench tps: $PGTPS"

echo "== ledger check after the run"
$PY manage.py check_ledger | tail -1

echo
echo "== summary (same run)"
awk -F'\t' -v pg="$PGTPS" '
    NR == 1 {
        printf "%-22s %8s %7s %7s %7s %7s  %-18s %s\n", "endpoint", "req/s", "p50 ms", "p99 ms", "max ms", "non-2xx",
            "vs", "CPU ms per request: PostgreSQL / app / wrk"
        next
    }
    $1 == "healthz" { health = $2 }
    {
        vs = ""
        if ($1 ~ /^(earn-points|redeem-coupon|orders-post|orders-delete)$/) vs = sprintf("%.0f%% of pgbench", 100 * $2 / pg)
        if ($1 ~ /^get-(points|user-info)/ && health > 0) vs = sprintf("%.0f%% of healthz", 100 * $2 / health)
        printf "%-22s %8.0f %7.2f %7.2f %7.1f %7s  %-18s %.3f / %.3f / %.3f\n", $1, $2, $3, $4, $5, $6, vs, $7, $8, $9
    }
    END { printf "%-22s %8.0f\n", "pgbench (same write)", pg }' "$RESULTS" | tee "$OUT/summary.txt"
