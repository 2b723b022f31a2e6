#!/usr/bin/env bash
# Where one request's time goes inside the server process, per kind of request
# (bench/request_profile.py), on a fresh benchmark database. Usage: bench/profile.sh [requests per kind]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_fresh_database
$PY bench/request_profile.py "${1:-2000}" | tee "$OUT/profile.txt"
