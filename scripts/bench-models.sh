#!/usr/bin/env bash
# Latency of the default models, batch 1, 1 and 2 threads: `kamado bench` run
# REPEATS times per configuration, pinned with taskset (1 thread on CPU 0,
# 2 threads on CPUs 0-1), configurations interleaved so drift hits all alike.
# Prints a Markdown table of the median (over repeats) of each run's p50 and mean.
#
#   scripts/bench-models.sh [REPEATS=3] [ITERATIONS=100]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPEATS=${1:-3}
ITERATIONS=${2:-100}
KAMADO=${KAMADO:-build/kamado}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= REPEATS; r++)); do
  for model in mobilenet_v2 inception_v3; do
    for threads in 1 2; do
      cpus=0; [[ $threads == 2 ]] && cpus=0,1
      line=$(taskset -c "$cpus" "$KAMADO" bench --model "models/$model" --threads "$threads" \
               --iterations "$ITERATIONS" --warmup 10 --json | tail -n 1)
      echo "$line" >> "$out"
      echo "run $r: $model, $threads thread(s): $(echo "$line" | node -e 'const j=JSON.parse(require("fs").readFileSync(0));console.log(`p50 ${j.p50_ms.toFixed(2)} ms`)')" >&2
    done
  done
done
node - "$out" <<'JS'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map(JSON.parse);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const groups = {};
for (const r of rows) (groups[`${r.model}|${r.threads}`] ||= []).push(r);
console.log('| model | threads | p50 ms (median of runs) | mean ms | p99 ms | images/s | runs |');
console.log('|---|---|---|---|---|---|---|');
for (const [key, rs] of Object.entries(groups)) {
  const [model, threads] = key.split('|');
  console.log(`| ${model} | ${threads} | ${median(rs.map(r => r.p50_ms)).toFixed(2)} | ` +
    `${median(rs.map(r => r.mean_ms)).toFixed(2)} | ${median(rs.map(r => r.p99_ms)).toFixed(2)} | ` +
    `${median(rs.map(r => r.throughput_ips)).toFixed(1)} | ${rs.length} |`);
}
JS
