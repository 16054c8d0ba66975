#!/usr/bin/env bash
# Closed-loop capacity of `kamado serve` at each precision (issue 16): for
# ROUNDS rounds, each default model at fp32, bf16 and int8 is served
# (defaults, CPUs 0-1; int8 from build/int8/<model>, which bench/precision.sh
# writes; every reduced precision with --allow-ungated: this measures speed,
# and a fresh checkout has no gate results) and driven by `kamado load --concurrency 4` with the photos of
# data/images for 15 s after 3 s of warm-up. One JSON line per run on
# stdout, then the medians.
#
#   bench/capacity.sh [ROUNDS=3] > /tmp/capacity.jsonl
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROUNDS=${1:-3}
KAMADO=${KAMADO:-build/kamado}
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
for ((round = 1; round <= ROUNDS; round++)); do
  for m in inception_v3 mobilenet_v2; do
    for p in fp32 bf16 int8; do
      port=$((18000 + RANDOM % 1000))
      extra=()
      dir="models/$m"
      [[ $p != fp32 ]] && extra=(--allow-ungated)
      [[ $p == int8 ]] && dir="build/int8/$m"
      taskset -c 0,1 "$KAMADO" serve --model "$dir" --port "$port" --precision "$p" "${extra[@]}" \
        > /dev/null 2>&1 &
      pid=$!
      for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/v2/health/ready" > /dev/null && break; sleep 0.2; done
      r=$(taskset -c 0,1 "$KAMADO" load --url "http://127.0.0.1:$port" --model "$m" --images data/images \
            --concurrency 4 --duration 15 --warmup 3 --json 2> /dev/null | tail -n 1)
      echo "{\"round\":$round,\"model\":\"$m\",\"precision\":\"$p\",\"load\":$r}" | tee -a "$rows"
      kill -TERM "$pid"
      wait "$pid" 2> /dev/null || true
    done
  done
done
python3 - "$rows" <<'PY'
import json, statistics, sys
by = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    by.setdefault((r["model"], r["precision"]), []).append(r["load"]["levels"][0])
for (m, p), levels in by.items():
    print(f"{m} {p}: {statistics.median(l['throughput_rps'] for l in levels):.1f} req/s, "
          f"p50 {statistics.median(l['p50_ms'] for l in levels):.1f} ms, errors {[l.get('errors') for l in levels]}",
          file=sys.stderr)
PY
