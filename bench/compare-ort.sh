#!/usr/bin/env bash
# kamado vs ONNX Runtime 1.30 on the default models, in the same run.
#
# Exports each model with `kamado convert` (NHWC input, as the TF.js original),
# then for every configuration alternates `kamado bench` and the ORT harness
# (bench/peers/ort/ort_bench.js: graphOptimizationLevel 'all', intraOpNumThreads
# T), same warm-up and iterations, pinned with taskset (1 thread: CPU 0;
# 2 threads: CPUs 0-1), REPEATS times. Prints medians and the ratio
# kamado/ORT (p50 latency; < 1 means kamado is faster), taken within each run
# and then the median over runs, and, with --append,
# adds the dated table and this command to the ORT section of docs/PERFORMANCE.md.
#
#   bench/compare-ort.sh [--append] [REPEATS=3] [ITERATIONS=100]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
APPEND=0
if [[ ${1:-} == --append ]]; then APPEND=1; shift; fi
REPEATS=${1:-3}
ITERATIONS=${2:-100}
KAMADO=${KAMADO:-build/kamado}

if [[ ! -d bench/peers/ort/node_modules/onnxruntime-node ]]; then
  (cd bench/peers/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund)
fi
for model in mobilenet_v2 inception_v3; do
  "$KAMADO" convert "models/$model" -o "build/onnx/$model" > /dev/null
  # The race only counts if ORT computes the original model's answers.
  node bench/peers/ort/check_export.js "$model" "build/onnx/$model/model.onnx" NHWC >&2
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= REPEATS; r++)); do
  for model in mobilenet_v2 inception_v3; do
    size=224; [[ $model == inception_v3 ]] && size=299
    for threads in 1 2; do
      for batch in 1 8; do
        cpus=0; [[ $threads == 2 ]] && cpus=0,1
        iters=$ITERATIONS; [[ $batch == 8 ]] && iters=$(( (ITERATIONS + 3) / 4 ))
        k=$(taskset -c "$cpus" "$KAMADO" bench --model "models/$model" --threads "$threads" \
              --batch "$batch" --iterations "$iters" --warmup 10 --json | tail -n 1)
        o=$(taskset -c "$cpus" node bench/peers/ort/ort_bench.js --model "build/onnx/$model/model.onnx" \
              --shape "1,$size,$size,3" --threads "$threads" --batch "$batch" \
              --iterations "$iters" --warmup 10 | tail -n 1)
        echo "{\"model\":\"$model\",\"threads\":$threads,\"batch\":$batch,\"kamado\":$k,\"ort\":$o}" >> "$out"
        echo "run $r: $model threads=$threads batch=$batch done" >&2
      done
    done
  done
done

table=$(node - "$out" "$REPEATS" "$ITERATIONS" <<'JS'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map(JSON.parse);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const groups = {};
for (const r of rows) (groups[`${r.model}|${r.threads}|${r.batch}`] ||= []).push(r);
const lines = ['| model | threads | batch | kamado p50 ms | ORT p50 ms | ratio p50 (kamado/ORT) | ratio range | kamado img/s | ORT img/s | runs |',
               '|---|---|---|---|---|---|---|---|---|---|'];
for (const [key, rs] of Object.entries(groups)) {
  const [model, threads, batch] = key.split('|');
  const kp = median(rs.map(r => r.kamado.p50_ms)), op = median(rs.map(r => r.ort.p50_ms));
  const kt = median(rs.map(r => r.kamado.throughput_ips)), ot = median(rs.map(r => r.ort.throughput_ips));
  // The ratio is taken within each run (kamado and ORT back to back), then the
  // median over runs: a neighbour's load that changes between runs cancels.
  const ratios = rs.map(r => r.kamado.p50_ms / r.ort.p50_ms);
  lines.push(`| ${model} | ${threads} | ${batch} | ${kp.toFixed(2)} | ${op.toFixed(2)} | ` +
             `**${median(ratios).toFixed(2)}×** | ${Math.min(...ratios).toFixed(2)}–` +
             `${Math.max(...ratios).toFixed(2)} | ${kt.toFixed(1)} | ${ot.toFixed(1)} | ${rs.length} |`);
}
console.log(lines.join('\n'));
JS
)
echo "$table"
if [[ $APPEND == 1 ]]; then
  {
    echo
    echo "### kamado vs ONNX Runtime 1.30, $(date -u +%Y-%m-%d\ %H:%M) UTC"
    echo
    echo "\`bench/compare-ort.sh --append $REPEATS $ITERATIONS\` on $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs;"
    echo "medians over $REPEATS alternating runs (batch 8: a quarter of the iterations); the ratio is"
    echo "the median of the same-run ratios, with their range."
    echo
    echo "$table"
  } > docs/.ort-table.tmp-$$
  # Into the ORT section: before the first "## " heading that follows it.
  node -e "
    const fs = require('fs');
    const doc = fs.readFileSync('docs/PERFORMANCE.md', 'utf8');
    const add = fs.readFileSync(process.argv[1], 'utf8');
    const start = doc.indexOf('## kamado vs ONNX Runtime');
    const next = start < 0 ? -1 : doc.indexOf('\\n## ', start + 1);
    const out = next < 0 ? doc + add : doc.slice(0, next) + add + doc.slice(next);
    fs.writeFileSync('docs/PERFORMANCE.md', out);" docs/.ort-table.tmp-$$
  rm -f docs/.ort-table.tmp-$$
fi
