#!/usr/bin/env bash
# The highest open-loop rate each precision of a model serves within a p99
# bound (issue 20's capacity per precision, for `kamado cost --capacity-rps`):
# ROUNDS rounds; in each, for every precision, a fresh `kamado serve` with
# its defaults at that precision (which must have passed its gate here:
# `kamado compare`), then `kamado load --find-max-rate --p99-ms P99` (Poisson
# arrivals, levels of DURATION s) with the JPEG photos of PHOTOS. Client and
# server share the machine's CPUs, as in `kamado tune`. Prints each round and
# the median per precision.
#
#   bench/slo-rate.sh [MODEL_DIR=models/inception_v3] [P99_MS=500] [PRECISIONS="fp32 bf16"] [ROUNDS=5] \
#                     [DURATION_S=12] [PHOTOS=/tmp/jpeg]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODEL_DIR=${1:-models/inception_v3}
P99=${2:-500}
PRECISIONS=${3:-fp32 bf16}
ROUNDS=${4:-5}
DURATION=${5:-12}
PHOTOS=${6:-/tmp/jpeg}
source bench/servers.sh
model=$(sed -n 's/^name: *\([^ ]*\).*/\1/p' "$MODEL_DIR/kamado.yaml" | head -n 1)
rows=()
for ((r = 1; r <= ROUNDS; r++)); do
  for p in $PRECISIONS; do
    start_server "$p$r" --model "$MODEL_DIR" --precision "$p"
    url=$(cat "$work/$p$r.url")
    rate=$("$KAMADO" load --url "$url" --model "$model" --images "$PHOTOS" --find-max-rate --p99-ms "$P99" \
             --duration "$DURATION" --warmup 2 --seed "$r" --json 2>/dev/null | tail -n 1 |
           node -e "console.log(JSON.parse(require('fs').readFileSync(0)).max_rate.toFixed(1))")
    kill -INT "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
    echo "round $r $p: $rate req/s within p99 ≤ $P99 ms" >&2
    rows+=("$p $rate")
  done
done
printf '%s\n' "${rows[@]}" | node -e "
const rows = require('fs').readFileSync(0, 'utf8').trim().split('\n').map(l => l.split(' '));
const by = {};
for (const [p, r] of rows) (by[p] ||= []).push(Number(r));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
console.log('| precision | SLO req/s per round | median |');
console.log('|---|---|---|');
for (const [p, xs] of Object.entries(by)) console.log('| ' + p + ' | ' + xs.join(', ') + ' | **' + med(xs).toFixed(1) + '** |');"
