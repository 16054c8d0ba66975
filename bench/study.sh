#!/usr/bin/env bash
# The original study's measurement, redone with `kamado bench`: for each
# default model, 1 and 2 threads, the model compiled once, then ITERATIONS
# timed runs. Two modes:
#   --images DIR (default data/images): each run takes the next photo through
#     decode → preprocess → infer; also the untuned case of the study (model
#     loaded per request: load + compile plus one image).
#   --no-images: inference alone on a random tensor (the engine's latency).
# Runs REPEATS times per configuration, pinned with taskset (1 thread on CPU
# 0, 2 threads on CPUs 0-1), configurations interleaved so drift hits all
# alike; prints a Markdown table of the medians over repeats.
#
#   bench/study.sh [--images DIR | --no-images] [REPEATS=3] [ITERATIONS=100]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
IMAGES=data/images
if [[ ${1:-} == --images ]]; then IMAGES=$2; shift 2; fi
if [[ ${1:-} == --no-images ]]; then IMAGES=""; shift; fi
REPEATS=${1:-3}
ITERATIONS=${2:-100}
KAMADO=${KAMADO:-build/kamado}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= REPEATS; r++)); do
  for model in inception_v3 mobilenet_v2; do
    for threads in 1 2; do
      cpus=0; [[ $threads == 2 ]] && cpus=0,1
      args=(bench --model "models/$model" --threads "$threads" --iterations "$ITERATIONS"
            --warmup 10 --json)
      [[ -n $IMAGES ]] && args+=(--images "$IMAGES")
      # The text line "load+compile N ms" comes first; the JSON line last.
      text=$(taskset -c "$cpus" "$KAMADO" "${args[@]}" 2>/dev/null)
      load_ms=$(echo "$text" | sed -n 's/.*load+compile \([0-9]*\) ms.*/\1/p' | head -n 1)
      echo "$text" | tail -n 1 | node -e "const j=JSON.parse(require('fs').readFileSync(0));
        j.load_ms=${load_ms:-0}; console.log(JSON.stringify(j))" >> "$out"
      echo "run $r: $model, $threads thread(s): $(tail -n 1 "$out" | node -e \
        'const j=JSON.parse(require("fs").readFileSync(0));console.log(`p50 ${j.p50_ms.toFixed(2)} ms, mean ${(j.mean_ms/1000).toFixed(4)} s/image`)')" >&2
    done
  done
done
node - "$out" "$IMAGES" <<'JS'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map(JSON.parse);
const images = process.argv[3] !== '';
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const groups = {};
for (const r of rows) (groups[`${r.model}|${r.threads}`] ||= []).push(r);
const f = (x, d = 4) => x.toFixed(d);
if (images) {
  console.log('| model | threads | mean s/image (compiled once) | p50 ms | p99 ms | decode / preprocess / infer ms | ' +
              'cpu avg % | rss peak MiB | load+compile+1 image s (untuned) | runs |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
} else {
  console.log('| model | threads | p50 ms (median of runs) | mean ms | p99 ms | images/s | runs |');
  console.log('|---|---|---|---|---|---|---|');
}
for (const [key, rs] of Object.entries(groups)) {
  const [model, threads] = key.split('|');
  const m = (g) => median(rs.map(g));
  if (images) {
    console.log(`| ${model} | ${threads} | ${f(m(r => r.mean_ms) / 1000)} | ${f(m(r => r.p50_ms), 2)} | ` +
      `${f(m(r => r.p99_ms), 2)} | ${f(m(r => r.stages.decode.mean_ms), 2)} / ` +
      `${f(m(r => r.stages.preprocess.mean_ms), 2)} / ${f(m(r => r.stages.infer.mean_ms), 2)} | ` +
      `${f(m(r => r.cpu.avg_pct), 0)} | ${f(m(r => r.rss_mb.peak), 0)} | ` +
      `${f((m(r => r.load_ms) + m(r => r.mean_ms)) / 1000, 3)} | ${rs.length} |`);
  } else {
    console.log(`| ${model} | ${threads} | ${f(m(r => r.p50_ms), 2)} | ${f(m(r => r.mean_ms), 2)} | ` +
      `${f(m(r => r.p99_ms), 2)} | ${f(m(r => r.throughput_ips), 1)} | ${rs.length} |`);
  }
}
JS
