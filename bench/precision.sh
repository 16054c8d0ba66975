#!/usr/bin/env bash
# Reduced precision on this machine (issue 16; Debian's /usr/bin/python3 runs the
# PyTorch peer, whatever python3 is first on PATH): kamado fp32, bf16 and int8
# (the model quantized by `kamado quantize --method percentile` on data/calib
# into build/int8/<model>, once), ONNX
# Runtime 1.30 fp32 and PyTorch 1.13 bf16 (Debian's, torchvision's model
# definitions with random weights, jit-frozen, channels-last: see
# bench/peers/torch/torch_bench.py), both default models, batch 1 and 8,
# 2 threads on CPUs 0-1, REPEATS rounds whose order alternates (forward,
# then backward). Ratios are taken within a round, then the median over
# rounds. Then one profiled run per model and precision (time by op,
# reorders counted). Writes OUT/rows.jsonl, OUT/table.md, OUT/profile-*.txt.
#
#   bench/precision.sh OUT [REPEATS=5] [ITERATIONS=200]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${1:?usage: bench/precision.sh OUT [REPEATS] [ITERATIONS]}
REPEATS=${2:-5}
ITERATIONS=${3:-200}
KAMADO=${KAMADO:-build/kamado}
mkdir -p "$OUT"
: > "$OUT/rows.jsonl"

if [[ ! -d bench/peers/ort/node_modules/onnxruntime-node ]]; then
  (cd bench/peers/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund)
fi
/usr/bin/python3 -c "import torch, torchvision" 2>/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch python3-torchvision > /dev/null
for model in mobilenet_v2 inception_v3; do
  [[ -f build/onnx/$model/model.onnx ]] || "$KAMADO" convert "models/$model" -o "build/onnx/$model" > /dev/null
done
for model in mobilenet_v2 inception_v3; do
  [[ -f build/int8/$model/quantization.json ]] ||
    "$KAMADO" quantize --model "models/$model" --images data/calib -o "build/int8/$model" --method percentile > "$OUT/quantize-$model.txt"
done
"$KAMADO" info > "$OUT/info.txt"

run() {  # peer model batch → one JSON line
  local peer=$1 model=$2 batch=$3 size=224 iters=$ITERATIONS
  [[ $model == inception_v3 ]] && size=299
  [[ $batch == 8 ]] && iters=$(( (ITERATIONS + 3) / 4 ))
  case $peer in
    kamado-int8)
      taskset -c 0,1 "$KAMADO" bench --model "build/int8/$model" --threads 2 --batch "$batch" \
        --precision int8 --iterations "$iters" --warmup 20 --json 2>/dev/null | tail -n 1 ;;
    kamado-fp32|kamado-bf16)
      taskset -c 0,1 "$KAMADO" bench --model "models/$model" --threads 2 --batch "$batch" \
        --precision "${peer#kamado-}" --iterations "$iters" --warmup 20 --json 2>/dev/null | tail -n 1 ;;
    ort-fp32)
      taskset -c 0,1 node bench/peers/ort/ort_bench.js --model "build/onnx/$model/model.onnx" \
        --shape "1,$size,$size,3" --threads 2 --batch "$batch" --iterations "$iters" --warmup 20 | tail -n 1 ;;
    torch-bf16)
      taskset -c 0,1 /usr/bin/python3 bench/peers/torch/torch_bench.py --model "$model" --precision bf16 \
        --threads 2 --batch "$batch" --iterations "$iters" --warmup 20 2>/dev/null | tail -n 1 ;;
  esac
}

PEERS=(kamado-fp32 kamado-bf16 kamado-int8 ort-fp32 torch-bf16)
for ((r = 1; r <= REPEATS; r++)); do
  order=("${PEERS[@]}")
  if (( r % 2 == 0 )); then order=(torch-bf16 ort-fp32 kamado-int8 kamado-bf16 kamado-fp32); fi
  for model in mobilenet_v2 inception_v3; do
    for batch in 1 8; do
      for peer in "${order[@]}"; do
        j=$(run "$peer" "$model" "$batch")
        echo "{\"round\":$r,\"peer\":\"$peer\",\"model\":\"$model\",\"batch\":$batch,\"r\":$j}" >> "$OUT/rows.jsonl"
      done
      echo "round $r: $model batch $batch done" >&2
    done
  done
done
for model in mobilenet_v2 inception_v3; do
  for p in fp32 bf16 int8; do
    dir="models/$model"
    [[ $p == int8 ]] && dir="build/int8/$model"
    taskset -c 0,1 "$KAMADO" bench --model "$dir" --threads 2 --precision "$p" \
      --iterations "$ITERATIONS" --warmup 20 --profile 2>/dev/null > "$OUT/profile-$model-$p.txt"
  done
done

python3 - "$OUT" "$REPEATS" <<'PY'
import json, statistics, sys
out, repeats = sys.argv[1], int(sys.argv[2])
rows = [json.loads(l) for l in open(f"{out}/rows.jsonl")]
by = {}
for r in rows:
    by.setdefault((r["model"], r["batch"], r["round"]), {})[r["peer"]] = r["r"]
med = statistics.median
lines = []
for low in ["bf16", "int8"]:
    lines += [f"| model | batch | kamado fp32 p50 ms | kamado {low} p50 ms | ORT fp32 p50 ms | PyTorch bf16 p50 ms | "
              f"{low} / kamado fp32 | {low} / ORT fp32 | {low} / PyTorch bf16 | {low} img/s | rounds |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for model in ["inception_v3", "mobilenet_v2"]:
        for batch in [1, 8]:
            rs = [by[(model, batch, k)] for k in range(1, repeats + 1) if (model, batch, k) in by]
            p = lambda peer: med([x[peer]["p50_ms"] for x in rs])
            ratio = lambda peer: [x[f"kamado-{low}"]["p50_ms"] / x[peer]["p50_ms"] for x in rs]
            def cell(peer):
                v = ratio(peer)
                return f"**{med(v):.3f}×** ({min(v):.3f}–{max(v):.3f})"
            ips = med([x[f"kamado-{low}"]["throughput_ips"] for x in rs])
            lines.append(f"| {model} | {batch} | {p('kamado-fp32'):.2f} | {p('kamado-' + low):.2f} | {p('ort-fp32'):.2f} | "
                         f"{p('torch-bf16'):.2f} | {cell('kamado-fp32')} | {cell('ort-fp32')} | {cell('torch-bf16')} | "
                         f"{ips:.0f} | {len(rs)} |")
    lines.append("")
open(f"{out}/table.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
