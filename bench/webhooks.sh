#!/usr/bin/env bash
# Webhook delivery under write load: earn-points at 16 connections for the given seconds while
# one Celery worker (Redis broker) delivers to a receiver on a loopback port; then the lag
# between a write and its delivery, and the worker's throughput. Usage: bench/webhooks.sh [s]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
source bench/lib.sh
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/14} WEBHOOK_ALLOW_PRIVATE=1
redis-cli -n 14 flushdb >/dev/null
bench_fresh_database
bench_start_server
.venv/bin/celery -A rewards_project worker --pool solo --loglevel WARNING > "$OUT/worker.log" 2>&1 &
WORKER=$!
trap 'kill $GUNICORN $WORKER 2>/dev/null || true' EXIT
sleep 3
$PY bench/webhooks.py "wrk -t2 -c16 -d${DURATION}s -s bench/earn.lua http://127.0.0.1:$PORT" "$DURATION"
