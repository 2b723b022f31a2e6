#!/usr/bin/env bash
# Soak: a mixed concurrent load (earn, redeem, orders, returns, reads) for a bounded time,
# then check_ledger. Fails if any request got a 5xx or the ledger drifted.
# Usage: bench/soak.sh [seconds, default 120] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-120}
CONNECTIONS=${2:-32}
source bench/lib.sh
bench_fresh_database
bench_start_server

echo "== soak: $CONNECTIONS connections for $DURATION s"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency --timeout 10s -s bench/mixed.lua "http://127.0.0.1:$PORT" \
    | tee "$OUT/soak.txt"

echo "== after the soak"
$PY manage.py check_ledger | tail -1
errors=$(awk '/^status 5[0-9][0-9]:/ {n += $3} END {print n + 0}' "$OUT/soak.txt")
echo "5xx responses: $errors"
[ "$errors" -eq 0 ]
