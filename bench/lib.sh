# Shared by run.sh and soak.sh: a fresh database with the benchmark's data, and
# gunicorn serving it with the project's config. Source it from the project root.
DB=${BENCH_DB:-rewards_bench}
PORT=${BENCH_PORT:-8077}
PY=.venv/bin/python
OUT=bench/out
mkdir -p "$OUT"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
make -s venv
pg_isready -h 127.0.0.1 -q || pg_ctlcluster 15 main start

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export SECRET_KEY=bench-secret-key-not-for-production-0123456789abcdef
export LEDGER_SIGNING_KEY=${LEDGER_SIGNING_KEY:-bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0bec0}
export DEBUG=0 CONN_MAX_AGE=600 REQUEST_LOG_LEVEL=WARNING GUNICORN_ACCESS_LOG=
# Throttles on, as in production: every request takes its number from the counters in Redis
# (compose's CACHE_URL shape), at a rate the benchmark's one application never reaches.
# BENCH_THROTTLE=off measures without them.
if [ "${BENCH_THROTTLE:-on}" = on ]; then
    export THROTTLE_APPLICATION_RATE=${THROTTLE_APPLICATION_RATE:-100000000/min} THROTTLE_CUSTOMER_RATE=${THROTTLE_CUSTOMER_RATE:-120/min}
    export CACHE_URL=${CACHE_URL:-redis://127.0.0.1:6379/${BENCH_REDIS_DB:-13}}
else
    export THROTTLE_APPLICATION_RATE= THROTTLE_CUSTOMER_RATE=
fi
export GUNICORN_BIND="127.0.0.1:$PORT" GUNICORN_WORKERS=${GUNICORN_WORKERS:-4}

bench_fresh_database() {
    echo "== fresh database $DB"
    psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
    $PY manage.py migrate --no-input -v 0
    $PY manage.py collectstatic --no-input -v 0
    BENCH_TOKEN=$($PY bench/seed.py)
    # Chaining the seeded rows rewrote them all: vacuum now, so autovacuum does not run
    # during the first endpoints' measurements.
    psql -h 127.0.0.1 -U postgres -q -d "$DB" -c "VACUUM ANALYZE"
    export BENCH_TOKEN BENCH_DIR=$PWD/bench BENCH_ORDER_BASE=1000000000
}

bench_start_server() {
    echo "== gunicorn ($GUNICORN_WORKERS workers) on :$PORT"
    .venv/bin/gunicorn -c gunicorn.conf.py rewards_project.wsgi:application > "$OUT/gunicorn.log" 2>&1 &
    GUNICORN=$!
    trap 'kill $GUNICORN 2>/dev/null || true' EXIT
    for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.2; done
    echo "gunicorn did not start; see $OUT/gunicorn.log"; exit 1
}
