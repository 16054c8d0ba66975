#!/usr/bin/env bash
# Two kamado binaries raced in the same run: is a change "no slower"?
#
# For each pair, for each model (MobileNetV2, InceptionV3) and batch size
# (1, 8), runs `kamado bench` (inference on a random tensor) with OLD then
# NEW, swapping the order every other pair so drift hits both alike, pinned
# with taskset to one CPU and one thread. Prints per configuration the
# median over pairs of the ratio NEW p50 / OLD p50 (< 1: NEW is faster) and
# its range, and the medians of both.
#
#   bench/compare-builds.sh OLD_KAMADO NEW_KAMADO [PAIRS=5] [CPU=1]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OLD=${1:?old kamado binary}
NEW=${2:?new kamado binary}
PAIRS=${3:-5}
CPU=${4:-1}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() {  # binary model batch iterations -> p50 ms
  taskset -c "$CPU" "$1" bench --model "models/$2" --batch "$3" --threads 1 \
    --iterations "$4" --warmup 5 --json 2>/dev/null | tail -n 1 |
    node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).p50_ms)'
}
for ((p = 1; p <= PAIRS; p++)); do
  for model in mobilenet_v2 inception_v3; do
    for batch in 1 8; do
      iters=60
      [[ $model == inception_v3 ]] && iters=30
      [[ $batch == 8 ]] && iters=$((iters / 3))
      if ((p % 2)); then
        old=$(run "$OLD" "$model" "$batch" "$iters"); new=$(run "$NEW" "$model" "$batch" "$iters")
      else
        new=$(run "$NEW" "$model" "$batch" "$iters"); old=$(run "$OLD" "$model" "$batch" "$iters")
      fi
      echo "$model $batch $old $new" >> "$out"
      echo "pair $p: $model batch $batch: old $old ms, new $new ms" >&2
    done
  done
done
node - "$out" <<'JS'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map(l => l.split(' '));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const groups = {};
for (const [model, batch, old, nw] of rows) (groups[`${model}|${batch}`] ||= []).push([+old, +nw]);
console.log('| model | batch | old p50 ms | new p50 ms | new/old (median of pairs) | range | pairs |');
console.log('|---|---|---|---|---|---|---|');
for (const [key, ps] of Object.entries(groups)) {
  const [model, batch] = key.split('|');
  const r = ps.map(([o, n]) => n / o);
  console.log(`| ${model} | ${batch} | ${median(ps.map(p => p[0])).toFixed(2)} | ` +
    `${median(ps.map(p => p[1])).toFixed(2)} | ${median(r).toFixed(3)} | ` +
    `${Math.min(...r).toFixed(3)}–${Math.max(...r).toFixed(3)} | ${ps.length} |`);
}
JS
