#!/usr/bin/env bash
# Checks the manifests against a live kamado on loopback: the base ConfigMap's serve.yaml
# (host, port, model paths and compile cache made local; every other setting as the pods
# run it) is served by KAMADO_BINARY (default build/kamado); one /classify request gives
# the series values; then the probe paths must answer 200, every series and label the
# prometheus-adapter rules query must be in the /metrics scrape (tests/deploy/live_support.mjs),
# and `promtool check metrics` must pass on that scrape. SIGINT stops the server, which
# must exit 0.
#
# Exit 0 on success, 1 on any failure, 77 (skipped) when node_modules, promtool, the models
# or the photo are missing — a failure instead under KAMADO_REQUIRE_TEST_DATA=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bin=${KAMADO_BINARY:-build/kamado}
die() { echo "live_metrics_check: FAIL: $*" >&2; exit 1; }
missing() {
  if [[ ${KAMADO_REQUIRE_TEST_DATA:-} == 1 ]]; then die "$* (KAMADO_REQUIRE_TEST_DATA=1)"; fi
  echo "live_metrics_check: SKIP: $*"
  exit 77
}

[[ -x $bin ]] || die "no kamado binary at $bin"
command -v node >/dev/null || missing "node is not installed (scripts/install-deps.sh)"
[[ -d tests/deploy/node_modules/yaml && -d tests/deploy/node_modules/kubernetes-models ]] ||
  missing "tests/deploy/node_modules is missing (scripts/prepare-test-data.sh runs npm ci there)"
command -v promtool >/dev/null || missing "promtool is not installed (Debian package prometheus; scripts/install-deps.sh)"
for m in inception_v3 mobilenet_v2; do
  [[ -f models/$m/kamado.yaml ]] || missing "models/$m is missing (scripts/fetch-models.sh)"
done
[[ -f data/images/chelsea.png ]] || missing "data/images/chelsea.png is missing (scripts/fetch-test-images.sh)"

tmp=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

node tests/deploy/live_support.mjs serve-yaml "$tmp/serve.yaml" "$tmp/cache" || die "could not write serve.yaml"
"$bin" serve --config "$tmp/serve.yaml" --drain-delay-s 0 >"$tmp/out" 2>"$tmp/err" &
pid=$!

url=
for _ in $(seq 600); do  # 60 s
  url=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$tmp/out" 2>/dev/null | grep -o 'http://.*' || true)
  [[ -n $url ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/err" >&2; pid=; die "kamado serve exited before listening (serve.yaml from base/configmap.yaml)"; }
  sleep 0.1
done
[[ -n $url ]] || { tail -n 20 "$tmp/err" >&2; die "kamado serve did not print 'listening on' within 60 s"; }
echo "live_metrics_check: kamado serve --config (base/configmap.yaml's serve.yaml) at $url"

status=0
node tests/deploy/live_support.mjs check "$url" "$tmp/metrics.txt" || status=1
if promtool check metrics <"$tmp/metrics.txt" >"$tmp/promtool" 2>&1; then
  echo "live_metrics_check: promtool check metrics: OK"
else
  echo "FAIL promtool check metrics on the /metrics scrape:"
  cat "$tmp/promtool"
  status=1
fi

kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[[ $rc -eq 0 ]] || { tail -n 20 "$tmp/err" >&2; die "kamado serve exited $rc after SIGINT, expected 0"; }
[[ $status -eq 0 ]] || die "see the FAIL lines above"
echo "live_metrics_check: OK"
