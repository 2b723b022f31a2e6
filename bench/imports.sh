#!/usr/bin/env bash
# Time and peak memory of the imports: the rewards system's SQLite file with CUSTOMERS customers
# and ROWS ledger rows each (default 100,000 x 10 = 1,000,000 rows), then the CLP's database with
# as many users (half of them also in the first) and 5 orders each, then both again (nothing to
# import), then check_ledger. Usage: bench/imports.sh [CUSTOMERS] [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOMERS=${1:-100000}
ROWS=${2:-10}
DB=${BENCH_DB:-rewards_bench_import}
CLP_DB=${DB}_clp_source
PY=.venv/bin/python
OUT=bench/out
mkdir -p "$OUT"
make -s venv
pg_isready -h 127.0.0.1 -q || pg_ctlcluster 15 main start
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"

echo "== sources: $CUSTOMERS customers x $ROWS rows; CLP: $CUSTOMERS users, $((CUSTOMERS * 5)) orders"
$PY bench/import_sources.py "$OUT/cps714.sqlite3" "$CLP_DB" "$CUSTOMERS" "$ROWS"
ls -la "$OUT/cps714.sqlite3" | awk '{print "   sqlite file: " $5 " bytes"}'
psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
$PY manage.py migrate --no-input -v 0

timed() {  # label command...
    local label=$1; shift
    /usr/bin/time -f "   $label: %e s wall, %U s user, peak memory %M KB" "$@" > "$OUT/import-$label.txt" 2> "$OUT/import-$label.time" \
        || { cat "$OUT/import-$label.time"; exit 1; }
    tail -1 "$OUT/import-$label.time"
    grep -E "^  [a-z]" "$OUT/import-$label.txt" | sed 's/^/   /' | head -20
}

timed cps714 $PY manage.py import_cps714 "$OUT/cps714.sqlite3"
timed clp $PY manage.py import_clp "postgresql://postgres@127.0.0.1:5432/$CLP_DB"
timed cps714-again $PY manage.py import_cps714 "$OUT/cps714.sqlite3"
timed clp-again $PY manage.py import_clp "postgresql://postgres@127.0.0.1:5432/$CLP_DB"
timed check_ledger $PY manage.py check_ledger
psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT 'ledger rows ' || count(*) FROM rewards_reward; SELECT 'accounts ' || count(*) FROM rewards_account; SELECT 'orders ' || count(*) FROM loyalty_order"
psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $CLP_DB WITH (FORCE)"
