#!/usr/bin/env bash
# The service through HAProxy on deploy/cluster.sh, in four shapes: 1 and 3 app servers, with
# PgBouncer and without. Each: bring the cluster up, load bench/seed.py's data on the primary,
# drive earn-points, get-points and a mix with wrk (16 connections) through HAProxy, and count
# the CPU seconds each part used (PostgreSQL primary and replica, PgBouncer, the app servers,
# HAProxy, wrk). Usage: bench/cluster.sh [seconds per endpoint]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
OUT=bench/out/cluster
mkdir -p "$OUT"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
export CLUSTER_DIR=/tmp/loyalty-cluster-bench CLUSTER_WORKERS=${CLUSTER_WORKERS:-2}
PRIMARY_URL=postgres://postgres@127.0.0.1:55432/loyalty
URL=http://127.0.0.1:58080
RESULTS=$OUT/results.tsv
printf 'apps\tpgbouncer\tendpoint\treq_s\tp50_ms\tp99_ms\tnon_2xx\tcpu_postgres\tcpu_pgbouncer\tcpu_apps\tcpu_haproxy\tcpu_wrk\n' >"$RESULTS"

to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /s$/ && v !~ /ms$/) n *= 1000; printf "%.2f", n }'; }

roots() {  # NAME=PID,... for bench/cpu.py
    local d=$CLUSTER_DIR
    echo "postgres=$(head -1 "$d/primary/postmaster.pid"),$(head -1 "$d/replica/postmaster.pid")" \
        "pgbouncer=$(cat "$d/run/pgbouncer.pid" 2>/dev/null || true)" \
        "apps=$(cat "$d"/run/app*.pid | paste -sd,)" "haproxy=$(cat "$d/run/haproxy.pid" | paste -sd,)"
}

run() {  # apps pgbouncer name script [env...]
    local apps=$1 bouncer=$2 name=$3 script=$4; shift 4
    local before after
    before=$(.venv/bin/python bench/cpu.py $(roots))
    /usr/bin/time -f "%U %S" -o "$OUT/wrk.time" env "$@" wrk -t2 -c16 -d"${DURATION}s" --latency -s "bench/$script" "$URL" \
        >"$OUT/$apps-$bouncer-$name.txt" 2>&1
    after=$(.venv/bin/python bench/cpu.py $(roots))
    local f=$OUT/$apps-$bouncer-$name.txt
    local cpu
    cpu=$(paste <(echo "$before") <(echo "$after") | awk '{printf "%.1f\t", $4 - $2}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n' "$apps" "$bouncer" "$name" \
        "$(awk '/^Requests\/sec/ {print $2}' "$f")" \
        "$(to_ms "$(awk '$1 == "50%" {print $2}' "$f")")" "$(to_ms "$(awk '$1 == "99%" {print $2}' "$f")")" \
        "$(awk '/Non-2xx/ {print $NF}' "$f" | grep . || echo 0)" "$cpu" \
        "$(awk '{printf "%.1f", $1 + $2}' "$OUT/wrk.time")" | tee -a "$RESULTS"
}

for shape in "1 1" "3 1" "1 0" "3 0"; do
    set -- $shape
    apps=$1 bouncer=$2
    echo "== $apps app server(s), PgBouncer $([ "$bouncer" = 1 ] && echo on || echo off)"
    CLUSTER_PGBOUNCER=$bouncer bash deploy/cluster.sh up "$apps" >"$OUT/up.log"
    BENCH_TOKEN=$(DATABASE_URL=$PRIMARY_URL .venv/bin/python bench/seed.py)
    export BENCH_TOKEN BENCH_DIR=$PWD/bench BENCH_ORDER_BASE=1000000000
    sleep 2  # the replica replays the seed
    run "$apps" "$bouncer" earn-points earn.lua
    run "$apps" "$bouncer" get-points get_points.lua BENCH_USER=2
    run "$apps" "$bouncer" mixed mixed.lua
    DATABASE_URL=$PRIMARY_URL .venv/bin/python manage.py check_ledger | tail -1
    bash deploy/cluster.sh status | grep -i lag
    bash deploy/cluster.sh down >/dev/null
done
echo
column -t -s $'\t' "$RESULTS"
