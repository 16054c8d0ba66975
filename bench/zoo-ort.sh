#!/usr/bin/env bash
# kamado vs ONNX Runtime 1.30 on the torchvision zoo (issue 17), same run.
#
# The models are tests/zoo/export_zoo.py's opset-17 exports (random weights,
# dynamic batch; scripts/prepare-test-data.sh writes them to build/zoo). For
# every model and configuration it alternates `kamado bench` and the ORT
# harness (bench/peers/ort/ort_bench.js: graphOptimizationLevel 'all',
# intraOpNumThreads T), same warm-up and iterations, pinned with taskset
# (1 thread: CPU 0; 2 threads: CPUs 0-1), REPEATS times. Prints per model the
# median over runs of the same-run ratio kamado/ORT (p50 at batch 1, images/s
# at batch 8; < 1 at batch 1 means kamado is faster) and the geometric mean.
#
#   bench/zoo-ort.sh [REPEATS=5] [ITERATIONS=30]
#   CONFIGS="2:1 1:1 2:8" MODELS="resnet18 regnet_y_400mf" bench/zoo-ort.sh 5 30
# CONFIGS: threads:batch pairs (default 2:1, the bar's configuration).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPEATS=${1:-5}
ITERATIONS=${2:-30}
KAMADO=${KAMADO:-build/kamado}
CONFIGS=${CONFIGS:-2:1}
MODELS=${MODELS:-resnet18 resnet50 resnext50_32x4d mobilenet_v3_small mobilenet_v3_large
  efficientnet_b0 densenet121 squeezenet1_1 shufflenet_v2_x1_0 googlenet regnet_y_400mf mnasnet1_0
  alexnet vgg11_bn inception_v3 convnext_tiny}

if [[ ! -d bench/peers/ort/node_modules/onnxruntime-node ]]; then
  (cd bench/peers/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund)
fi
/usr/bin/python3 tests/zoo/export_zoo.py build/zoo >&2

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= REPEATS; r++)); do
  for model in $MODELS; do
    dir=build/zoo/$model/op17
    size=$(sed -n 's/.*height: \([0-9]*\).*/\1/p' "$dir/kamado.yaml")
    for config in $CONFIGS; do
      threads=${config%%:*} batch=${config##*:}
      cpus=0; [[ $threads == 2 ]] && cpus=0,1
      iters=$ITERATIONS; [[ $batch -gt 1 ]] && iters=$(( (ITERATIONS + 3) / 4 ))
      k=$(taskset -c "$cpus" "$KAMADO" bench --model "$dir" --threads "$threads" \
            --batch "$batch" --iterations "$iters" --warmup 5 --json 2>/dev/null | tail -n 1)
      o=$(taskset -c "$cpus" node bench/peers/ort/ort_bench.js --model "$dir/model.onnx" \
            --shape "1,3,$size,$size" --threads "$threads" --batch "$batch" \
            --iterations "$iters" --warmup 5 | tail -n 1)
      echo "{\"model\":\"$model\",\"threads\":$threads,\"batch\":$batch,\"kamado\":$k,\"ort\":$o}" >> "$out"
      echo "run $r: $model threads=$threads batch=$batch done" >&2
    done
  done
done

node - "$out" <<'JS'
const fs = require('fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map(JSON.parse);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const groups = {};
for (const r of rows) (groups[`${r.threads}|${r.batch}`] ||= {})[r.model] ||= [];
for (const r of rows) groups[`${r.threads}|${r.batch}`][r.model].push(r);
for (const [key, models] of Object.entries(groups)) {
  const [threads, batch] = key.split('|').map(Number);
  const latency = batch === 1;
  console.log(`\n${threads} thread(s), batch ${batch}: ` +
              (latency ? 'p50 ratio kamado/ORT (< 1: kamado faster)'
                       : 'throughput ratio ORT/kamado (< 1: kamado faster)'));
  console.log('| model | kamado p50 ms | ORT p50 ms | ratio | range | runs |');
  console.log('|---|---|---|---|---|---|');
  const ratios = [];
  for (const [model, rs] of Object.entries(models)) {
    const rr = rs.map(r => latency ? r.kamado.p50_ms / r.ort.p50_ms
                                   : r.ort.throughput_ips / r.kamado.throughput_ips);
    const m = median(rr);
    ratios.push(m);
    console.log(`| ${model} | ${median(rs.map(r => r.kamado.p50_ms)).toFixed(2)} | ` +
                `${median(rs.map(r => r.ort.p50_ms)).toFixed(2)} | **${m.toFixed(2)}×** | ` +
                `${Math.min(...rr).toFixed(2)}–${Math.max(...rr).toFixed(2)} | ${rs.length} |`);
  }
  const geo = Math.exp(ratios.reduce((a, x) => a + Math.log(x), 0) / ratios.length);
  console.log(`| **geometric mean** (${ratios.length} models) | | | **${geo.toFixed(2)}×** | ` +
              `max ${Math.max(...ratios).toFixed(2)}× | |`);
}
JS
