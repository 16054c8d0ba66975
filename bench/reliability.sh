#!/usr/bin/env bash
# The figures of docs/RELIABILITY.md, in one run (about 42 minutes with the
# defaults): capacity, a soak at 70% of it, an overload at 3x, and 10,000 idle
# plus 500 slowloris connections while normal traffic runs.
#   bench/reliability.sh OUT_DIR [SOAK_S=1800] [OVERLOAD_S=300]
# SOAK_S=0 skips the quiet run and the soak; NO_FLOOD=1 the connection flood.
# The overload's client holds enough connections (rate × its 10 s timeout, up
# to 4096) never to be the limit: with fewer, it can offer no more requests
# than it has connections, the server's queue never fills, and what waits is
# the client's own backlog.
# Server: MobileNetV2, 1 session x 1 thread, 1 I/O thread, pinned to CPU 0
# (--timeout-ms 1000: the deadline the overload is judged against). Load
# generator and connection flood on CPU 1. Loopback only; everything it
# writes goes to OUT_DIR (load JSON, RSS samples every 5 s, server log).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${1:?OUT_DIR}
SOAK_S=${2:-1800}
OVERLOAD_S=${3:-300}
PORT=${PORT:-18090}
mkdir -p "$OUT"
taskset -c 0 build/kamado serve --model models/mobilenet_v2 --host 127.0.0.1 --port "$PORT" \
  --sessions 1 --threads 1 --io-threads 1 --timeout-ms 1000 --header-timeout-ms 120000 \
  > "$OUT/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null && break
  sleep 0.1
done
( while kill -0 $PID 2>/dev/null; do
    echo "$(date +%s) $(awk '/VmRSS/{print $2}' /proc/$PID/status 2>/dev/null)"
    sleep 5
  done ) > "$OUT/rss.txt" &
LOAD=(taskset -c 1 build/kamado load --url "http://127.0.0.1:$PORT" --model mobilenet_v2
      --images data/images --json --server-pid "$PID")
last() { tail -1 "$1"; }
field() { python3 -c "import json,sys; print(json.loads(open('$1').read().splitlines()[-1])['levels'][0]['$2'])"; }

echo "capacity (closed loop, concurrency 2, 30 s)"
"${LOAD[@]}" --concurrency 2 --warmup 5 --duration 30 > "$OUT/capacity.txt"
CAP=$(field "$OUT/capacity.txt" throughput_rps)
R70=$(python3 -c "print(round($CAP * 0.7, 2))")
R300=$(python3 -c "print(round($CAP * 3, 2))")
echo "capacity $CAP req/s; soak at $R70, overload at $R300"

if (( SOAK_S > 0 )); then
  echo "quiet: $R70 req/s for 60 s"
  "${LOAD[@]}" --rate "$R70" --distribution poisson --warmup 5 --duration 60 > "$OUT/quiet.txt"

  echo "soak: $R70 req/s for $SOAK_S s in 5-minute windows"
  date +%s > "$OUT/soak.start"
  "${LOAD[@]}" --rate "$R70" --distribution poisson --warmup 10 --duration "$SOAK_S" \
    --windows $(( SOAK_S / 300 > 0 ? SOAK_S / 300 : 1 )) > "$OUT/soak.txt"
  date +%s > "$OUT/soak.end"
fi

CONNS=$(python3 -c "print(min(4096, max(64, int($R300 * 10))))")
echo "overload: $R300 req/s for $OVERLOAD_S s, $CONNS client connections"
date +%s > "$OUT/overload.start"
"${LOAD[@]}" --rate "$R300" --distribution poisson --warmup 0 --duration "$OVERLOAD_S" --windows 5 \
  --timeout-ms 10000 --connections "$CONNS" > "$OUT/overload.txt"
date +%s > "$OUT/overload.end"
sleep 10
echo "after overload: RSS $(awk '/VmRSS/{print $2}' /proc/$PID/status) kB"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E "^kamado_requests_total" > "$OUT/overload_metrics.txt" || true
[[ -n "${NO_FLOOD:-}" ]] && { kill -TERM $PID; wait $PID || true; echo "done: $OUT"; exit 0; }

echo "connections: 10,000 idle + 500 slowloris, then $R70 req/s for 60 s"
taskset -c 1 python3 bench/conn_flood.py --port "$PORT" --idle 10000 --slowloris 500 --duration 110 \
  > "$OUT/flood.txt" &
FLOOD=$!
sleep 20
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E "^kamado_(in_flight|requests_total)" > "$OUT/flood_metrics.txt" || true
ls /proc/$PID/fd | wc -l > "$OUT/flood_fds.txt"
"${LOAD[@]}" --rate "$R70" --distribution poisson --warmup 5 --duration 60 > "$OUT/flood_load.txt"
wait $FLOOD
kill -TERM $PID
wait $PID || true
echo "done: $OUT"
