#!/usr/bin/env bash
# The example cut-over page of docs/SHADOW.md: MobileNetV2 in fp32 (A, "the
# server in production") against the same model in bf16 (B, the candidate;
# int8 where the CPU has no BF16), with a second fp32 instance as the noise
# floor, on the photos of data/images; then the same against InceptionV3 (a
# different network: photos that disagree, shown as thumbnails); each page
# with a screenshot taken by headless Chromium (Debian's `chromium`). Writes
# OUT_DIR/shadow-example{,-inception}.{html,png}.
#
#   bench/shadow-example.sh [OUT_DIR=docs/img]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${1:-docs/img}
KAMADO=${KAMADO:-build/kamado}
MODEL=models/mobilenet_v2
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$OUT"

candidate=bf16
"$KAMADO" info | grep -q 'bf16: *not available' && candidate=int8
if [[ $candidate == int8 ]]; then
  "$KAMADO" quantize --model "$MODEL" --images data/images -o "$work/int8" >&2
  b_args=(--model "$work/int8")
else
  # Eleven photos are too few for the gate (kamado compare needs 50): the page
  # is an example of the report, not a gate.
  b_args=(--model "$MODEL" --precision bf16 --allow-ungated)
fi
start() {  # start NAME ARGS...
  local name=$1; shift
  "$KAMADO" serve --port 0 --drain-delay-s 0 --sessions 1 --threads 1 "$@" > "$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/$name.log" | head -n 1)
    [[ -n $url ]] && { echo "$url" > "$work/$name.url"; return; }
    sleep 0.1
  done
  cat "$work/$name.log" >&2; exit 1
}
start a --model "$MODEL"
start b "${b_args[@]}"
start noise --model "$MODEL" --max-batch 1
start inception --model models/inception_v3
path=/v2/models/mobilenet_v2/classify
shoot() {  # shoot NAME HEIGHT
  chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size="1100,$2" \
    --screenshot="$OUT/$1.png" "file://$PWD/$OUT/$1.html" 2>/dev/null
  echo "screenshot: $OUT/$1.png"
}
"$KAMADO" shadow --a "$(cat "$work/a.url")$path" --b "$(cat "$work/b.url")$path" \
  --noise "$(cat "$work/noise.url")$path" --images data/images --report "$OUT/shadow-example.html"
shoot shadow-example 1900
echo "($candidate candidate)"
"$KAMADO" shadow --a "$(cat "$work/a.url")$path" --b "$(cat "$work/inception.url")/v2/models/inception_v3/classify" \
  --noise "$(cat "$work/noise.url")$path" --images data/images --report "$OUT/shadow-example-inception.html"
shoot shadow-example-inception 2100
