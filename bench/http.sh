#!/usr/bin/env bash
# HTTP vs in-process throughput for a model with JPEG inputs (issue 5's
# benchmark), and latency at 50% and 90% of the HTTP saturation rate.
#
#   1. in process: `kamado bench --images` (decode → preprocess → infer),
#      2 threads, batch 1 and batch 8; the better throughput is the target.
#   2. `kamado serve` with its defaults (sessions and threads from the CPU
#      quota, dynamic batching), then saturation through HTTP, closed loop:
#      `kamado load --concurrency 4,8,16` and `wrk -c8`.
#   3. open loop at 50% and 90% of the best HTTP throughput (Poisson
#      arrivals, latency from the intended send time): p50 / p99.
# Client and server share this machine's cores, as any loopback test does.
# Prints a Markdown table; the raw JSON lines go to $OUT (default a temp file).
#
#   bench/http.sh [MODEL_DIR=models/mobilenet_v2] [DURATION_S=10]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODEL_DIR=${1:-models/mobilenet_v2}
DURATION=${2:-10}
KAMADO=${KAMADO:-build/kamado}
work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/jpeg"
for f in data/images/*.jpg; do ln -s "$PWD/$f" "$work/jpeg/"; done
jpegs=$(ls "$work"/jpeg/*.jpg | tr '\n' ':')
json() { node -e "const j=JSON.parse(require('fs').readFileSync(0));console.log($1)"; }

# 1. In process.
best_inproc=0; best_inproc_desc=
for batch in 1 8; do
  line=$(taskset -c 0,1 "$KAMADO" bench --model "$MODEL_DIR" --images "$work/jpeg" --threads 2 \
           --batch "$batch" --iterations $((batch == 1 ? 200 : 30)) --warmup 5 --json 2>/dev/null | tail -n 1)
  ips=$(echo "$line" | json 'j.throughput_ips.toFixed(1)')
  echo "in process, batch $batch: $ips images/s" >&2
  if node -e "process.exit(+process.argv[1] > +process.argv[2] ? 0 : 1)" "$ips" "$best_inproc"; then
    best_inproc=$ips; best_inproc_desc="batch $batch"
  fi
done

# 2. The server.
"$KAMADO" serve --model "$MODEL_DIR" --port 0 > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/serve.log" | head -n 1)
  [[ -n $url ]] && break
  sleep 0.1
done
[[ -n $url ]] || { cat "$work/serve.log" >&2; exit 1; }
model=$(sed -n 's/^name: *\([^ #]*\).*/\1/p' "$MODEL_DIR/kamado.yaml" | head -n 1)
echo "server $url, model $model; its log:" >&2
sed 's/^/  /' "$work/serve.log" >&2

closed=$("$KAMADO" load --url "$url" --model "$model" --images "$work/jpeg" --concurrency 4,8,16 \
           --duration "$DURATION" --warmup 2 --server-pid "$server_pid" --json 2>/dev/null | tail -n 1)
echo "$closed" > "$work/closed.json"
best_http=$(echo "$closed" | json 'Math.max(...j.levels.map(l => l.throughput_rps)).toFixed(1)')
wrk_out=$(WRK_IMAGES=$jpegs wrk -t2 -c8 -d"${DURATION}s" --latency -s bench/http/post_images.lua "$url" \
            -- "/v2/models/$model/classify")
wrk_rps=$(echo "$wrk_out" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
wrk_p50=$(echo "$wrk_out" | awk '$1 == "50%" {print $2}')
wrk_p99=$(echo "$wrk_out" | awk '$1 == "99%" {print $2}')
wrk_bad=$(echo "$wrk_out" | sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p')
echo "HTTP saturation: kamado load $best_http/s, wrk $wrk_rps/s" >&2

# 3. Open loop at 50% and 90% of the best HTTP throughput.
r50=$(node -e "console.log((Math.max($best_http, $wrk_rps) * 0.5).toFixed(1))")
r90=$(node -e "console.log((Math.max($best_http, $wrk_rps) * 0.9).toFixed(1))")
open=$("$KAMADO" load --url "$url" --model "$model" --images "$work/jpeg" --rate "$r50,$r90" \
         --distribution poisson --duration "$((DURATION * 3 / 2))" --warmup 2 \
         --server-pid "$server_pid" --json 2>/dev/null | tail -n 1)
[[ -n ${OUT:-} ]] && { echo "$closed"; echo "$open"; } > "$OUT"

echo "| measurement | throughput /s | p50 ms | p99 ms | errors | vs in process |"
echo "|---|---|---|---|---|---|"
echo "| in process, \`kamado bench --images\` (2 threads, $best_inproc_desc) | $best_inproc | | | | 100% |"
echo "$closed" | node -e "
const j = JSON.parse(require('fs').readFileSync(0));
for (const l of j.levels) console.log('| HTTP closed loop, kamado load, concurrency ' + l.concurrency + ' | ' +
  l.throughput_rps.toFixed(1) + ' | ' + l.p50_ms.toFixed(1) + ' | ' + l.p99_ms.toFixed(1) + ' | ' + l.errors +
  ' | ' + (100 * l.throughput_rps / $best_inproc).toFixed(0) + '% |');"
echo "| HTTP closed loop, wrk -t2 -c8 | $wrk_rps | $wrk_p50 | $wrk_p99 | ${wrk_bad:-0} | $(node -e "console.log((100 * $wrk_rps / $best_inproc).toFixed(0))")% |"
echo "$open" | node -e "
const j = JSON.parse(require('fs').readFileSync(0));
const pct = ['50%', '90%'];
j.levels.forEach((l, i) => console.log('| HTTP open loop (Poisson), kamado load, ' + pct[i] + ' of saturation = ' +
  l.rate + '/s | ' + l.throughput_rps.toFixed(1) + ' | ' + l.p50_ms.toFixed(1) + ' | ' + l.p99_ms.toFixed(1) +
  ' | ' + l.errors + (l.stable ? '' : ' (not stable)') + ' | |'));"
