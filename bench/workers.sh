#!/usr/bin/env bash
# Issue 15's benchmarks, one after another (never two at once on 2 cores):
# memory of P workers, start-up, tail vs the queueing bound for three
# configurations, closed-loop throughput of P × S × T. Markdown to OUT_DIR.
#   bench/workers.sh OUT_DIR [TAIL_S=120] [RUNS=5]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${1:?usage: bench/workers.sh OUT_DIR [TAIL_S] [RUNS]}
TAIL_S=${2:-120}
RUNS=${3:-5}
mkdir -p "$OUT"
python3 bench/workers_memory.py --model models/inception_v3 --workers 0,1,2,4 > "$OUT/memory_b1.md"
python3 bench/workers_memory.py --model models/inception_v3 --workers 0,1,2,4 --max-batch 8 > "$OUT/memory_b8.md"
python3 bench/startup.py --runs 3 -- --sessions 1 --threads 2 > "$OUT/startup.md"
python3 bench/startup.py --runs 3 --workers 2 -- --sessions 1 --threads 1 | tail -n 2 >> "$OUT/startup.md"
python3 bench/tail.py --duration "$TAIL_S" --label "default (1 session × 2 threads)" > "$OUT/tail.md"
python3 bench/tail.py --duration "$TAIL_S" --servers 2 --label "2 sessions × 1 thread" -- --sessions 2 --threads 1 >> "$OUT/tail.md"
python3 bench/tail.py --duration "$TAIL_S" --servers 2 --label "2 workers × 1 session × 1 thread" -- --workers 2 --sessions 1 --threads 1 >> "$OUT/tail.md"
python3 bench/throughput.py --runs "$RUNS" > "$OUT/throughput.md"
