#!/usr/bin/env bash
# The original study's measurement, redone with `kamado bench --images`:
# InceptionV3 (and MobileNetV2), model compiled once, then for each of 100
# photos decode → preprocess → infer, timed; mean seconds per image. Also
# the untuned case of the study (model loaded per request): load + compile
# plus one image. Runs REPEATS times per configuration, pinned with taskset
# (1 thread on CPU 0, 2 threads on CPUs 0-1), interleaved; prints a Markdown
# table of the medians.
#
#   scripts/bench-study.sh [REPEATS=3] [ITERATIONS=100]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPEATS=${1:-3}
ITERATIONS=${2:-100}
KAMADO=${KAMADO:-build/kamado}
IMAGES=${IMAGES:-data/images}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= REPEATS; r++)); do
  for model in inception_v3 mobilenet_v2; do
    for threads in 1 2; do
      cpus=0; [[ $threads == 2 ]] && cpus=0,1
      # The text line "load+compile N ms" is on the first line of the output.
      text=$(taskset -c "$cpus" "$KAMADO" bench --model "models/$model" --images "$IMAGES" \
               --threads "$threads" --iterations "$ITERATIONS" --warmup 10 --json 2>/dev/null)
      load_ms=$(echo "$text" | sed -n 's/.*load+compile \([0-9]*\) ms.*/\1/p' | head -n 1)
      echo "$text" | tail -n 1 | node -e "const j=JSON.parse(require('fs').readFileSync(0));
        j.load_ms=$load_ms; console.log(JSON.stringify(j))" >> "$out"
      echo "run $r: $model, $threads thread(s): mean $(tail -n 1 "$out" | node -e \
        'const j=JSON.parse(require("fs").readFileSync(0));console.log((j.mean_ms/1000).toFixed(4)+" s/image")')" >&2
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
const f = (x, d = 4) => x.toFixed(d);
console.log('| model | threads | mean s/image (compiled once) | p50 ms | p99 ms | decode / preprocess / infer ms | ' +
            'cpu avg % | rss peak MiB | load+compile+1 image s (untuned) | runs |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const [key, rs] of Object.entries(groups)) {
  const [model, threads] = key.split('|');
  const m = (g) => median(rs.map(g));
  console.log(`| ${model} | ${threads} | ${f(m(r => r.mean_ms) / 1000)} | ${f(m(r => r.p50_ms), 2)} | ` +
    `${f(m(r => r.p99_ms), 2)} | ${f(m(r => r.stages.decode.mean_ms), 2)} / ` +
    `${f(m(r => r.stages.preprocess.mean_ms), 2)} / ${f(m(r => r.stages.infer.mean_ms), 2)} | ` +
    `${f(m(r => r.cpu.avg_pct), 0)} | ${f(m(r => r.rss_mb.peak), 0)} | ` +
    `${f((m(r => r.load_ms) + m(r => r.mean_ms)) / 1000, 3)} | ${rs.length} |`);
}
JS
