#!/usr/bin/env bash
# What `kamado serve --mirror` costs the live side (issue 19): two servers of
# the same model, one mirroring every request (--mirror-share 1) to a target
# that does no model work (a Node stub answering TorchServe's format at
# once), one not; open-loop Poisson load alternating between them, ROUNDS
# times each; per round the live p50/p99 of each, and the mirror's sent and
# dropped counts from its /metrics. Prints the medians and the per-round
# ratio p99(on)/p99(off). Client, servers and stub share the machine's CPUs,
# as any loopback benchmark here does.
#
#   bench/mirror.sh [MODEL_DIR=models/mobilenet_v2] [RATE=20] [DURATION_S=20] [ROUNDS=5]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODEL_DIR=${1:-models/mobilenet_v2}
RATE=${2:-20}
DURATION=${3:-20}
ROUNDS=${4:-5}
source bench/servers.sh
model=$(sed -n 's/^name: *\([^ ]*\).*/\1/p' "$MODEL_DIR/kamado.yaml" | head -n 1)
label=$(node -e "const y=require('fs').readFileSync('$MODEL_DIR/kamado.yaml','utf8');
  const m=y.match(/labels:\s*\[([^\]]*)\]/) || y.match(/labels:\s*\n\s*-\s*(\S+)/);
  console.log(m ? m[1].split(',')[0].trim().replace(/['\"]/g,'') : '');")

# The target: answers every request at once, its body read and ignored.
node -e "
const http = require('http');
const s = http.createServer((q, r) => { q.resume(); q.on('end', () => {
  r.setHeader('content-type', 'application/json'); r.end(JSON.stringify({'$label': 1.0})); }); });
s.listen(0, '127.0.0.1', () => console.log('stub on ' + s.address().port));" > "$work/stub.log" &
pids+=($!)
for _ in $(seq 50); do grep -q 'stub on' "$work/stub.log" && break; sleep 0.1; done
stub_port=$(sed -n 's/stub on //p' "$work/stub.log")

start_server off --model "$MODEL_DIR"
start_server on --model "$MODEL_DIR" --mirror "http://127.0.0.1:$stub_port/predictions/$model" --mirror-share 1
off=$(cat "$work/off.url"); on=$(cat "$work/on.url")
echo "model $model at $RATE req/s for ${DURATION} s, $ROUNDS rounds; off $off, on $on (mirror to the stub on $stub_port)" >&2

metric() { curl -s "$1/metrics" | sed -n "s/^$2 //p"; }
rows=()
for ((r = 1; r <= ROUNDS; r++)); do
  for side in off on; do
    url=$(cat "$work/$side.url")
    line=$("$KAMADO" load --url "$url" --model "$model" --images data/images --rate "$RATE" \
             --distribution poisson --duration "$DURATION" --warmup 2 --seed "$r" --json 2>/dev/null | tail -n 1)
    p=$(echo "$line" | node -e "const j=JSON.parse(require('fs').readFileSync(0)).levels[0];
      console.log(j.p50_ms + ' ' + j.p99_ms + ' ' + j.errors)")
    echo "round $r $side: p50 p99 errors = $p" >&2
    eval "${side}_$r=\"$p\""
  done
  sent=$(metric "$on" 'kamado_mirror_requests_total{outcome="sent"}')
  dropped=$(metric "$on" 'kamado_mirror_requests_total{outcome="dropped"}')
  rows+=("$r $(eval echo \$off_$r) $(eval echo \$on_$r) $sent $dropped")
done

printf '%s\n' "${rows[@]}" | node -e "
const rows = require('fs').readFileSync(0, 'utf8').trim().split('\n').map(l => l.split(' ').map(Number));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
console.log('| round | off p50 | off p99 | on p50 | on p99 | p99 on/off | mirror sent (cumulative) | dropped |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [r, p50a, p99a, ea, p50b, p99b, eb, sent, dropped] of rows)
  console.log('| ' + [r, p50a.toFixed(1), p99a.toFixed(1), p50b.toFixed(1), p99b.toFixed(1),
    (p99b / p99a).toFixed(2) + '×', sent, dropped].join(' | ') + ' |');
console.log('| **median** | ' + [med(rows.map(r => r[1])).toFixed(1), med(rows.map(r => r[2])).toFixed(1),
  med(rows.map(r => r[4])).toFixed(1), med(rows.map(r => r[5])).toFixed(1),
  '**' + med(rows.map(r => r[5] / r[2])).toFixed(2) + '×**', '', ''].join(' | ') + ' |');
console.log('errors: off ' + rows.reduce((a, r) => a + r[3], 0) + ', on ' + rows.reduce((a, r) => a + r[6], 0));"
