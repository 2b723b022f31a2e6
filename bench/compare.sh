#!/usr/bin/env bash
# Side by side, in one session: this checkout against another commit, alternating runs of
# bench/run.sh (the machine is noisy, so only figures measured together mean anything).
# Usage: bench/compare.sh REF [rounds, default 3] [seconds per endpoint, default 8]
#   BENCH_ONLY="earn-points redeem-coupon orders-post" (the default) picks the endpoints.
# Prints each endpoint's req/s per round for both trees, and the ratio of the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${1:?"usage: bench/compare.sh REF [rounds] [seconds]"}
ROUNDS=${2:-3}
SECONDS_EACH=${3:-8}
export BENCH_ONLY=${BENCH_ONLY:-"earn-points redeem-coupon orders-post"}

BASE=$(mktemp -d /tmp/bench-base.XXXXXX)
trap 'git worktree remove --force "$BASE" >/dev/null 2>&1 || rm -rf "$BASE"' EXIT
git worktree add -q --detach "$BASE" "$REF"
ln -s "$PWD/.venv" "$BASE/.venv"   # the same packages: only the code differs
touch -d 2000-01-01 "$BASE"/requirements*.txt   # so its `make venv` installs nothing into them

OUT=bench/out/compare
mkdir -p "$OUT"
: > "$OUT/runs.tsv"
for round in $(seq 1 "$ROUNDS"); do
    for tree in base new; do
        dir=$PWD; [ "$tree" = base ] && dir=$BASE
        echo "== round $round: $tree ($(git -C "$dir" rev-parse --short HEAD))"
        (cd "$dir" && bench/run.sh "$SECONDS_EACH" > /dev/null 2>&1)
        awk -F'\t' -v t="$tree" -v r="$round" 'NR > 1 {print t "\t" r "\t" $1 "\t" $2 "\t" $4}' \
            "$dir/bench/out/results.tsv" | tee -a "$OUT/runs.tsv"
    done
done

echo
echo "== medians of $ROUNDS rounds (req/s), new / base"
awk -F'\t' '
    { v[$3, $1] = v[$3, $1] " " $4; names[$3] = 1 }
    function median(s,   a, n, i, j, t) {
        n = split(s, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
        printf "%-22s %10s %10s %7s\n", "endpoint", "base", "new", "ratio"
        for (name in names) {
            b = median(v[name, "base"]); n = median(v[name, "new"])
            printf "%-22s %10.0f %10.0f %7.3f\n", name, b, n, (b > 0 ? n / b : 0)
        }
    }' "$OUT/runs.tsv" | tee "$OUT/summary.txt"
