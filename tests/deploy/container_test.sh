#!/usr/bin/env bash
# The server in a container (issue 18), on the test image scripts/test-image.sh assembles
# from the built binary and its libraries in seconds (`make image` is the image to ship):
#  - `kamado info --json` inside `--cpus 1`, `--cpus 2` and `--cpuset-cpus 0` reports the
#    usable CPUs and the no-flag serve split that limit gives (1 × 1 × 1 for one CPU, the
#    host's own split for two), read from the container's cgroup;
#  - `kamado serve` under `--cpus 1 --init --network host` (loopback only) logs that split
#    (and under `--cpus 2` the two-CPU one), and a photo sent through its port gets the same answer as the host binary serving the
#    same model with the same sessions and threads;
#  - `podman stop` (SIGTERM through --init) turns readiness false, drains and exits 0;
#  - `--memory 128m` with InceptionV3 is refused at start with the numbers (exit 2), not
#    OOM-killed while loading.
#
# Exit 0 on success, 1 on any failure, 77 (skipped, with the reason) only when podman cannot
# run on this machine (scripts/container-setup.sh says why).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bin=${KAMADO_BINARY:-build/kamado}
photo=data/images/chelsea.png
die() { echo "container_test: FAIL: $*" >&2; exit 1; }
[[ -x $bin ]] || die "no kamado binary at $bin"
for m in inception_v3 mobilenet_v2; do
  [[ -f models/$m/kamado.yaml ]] || die "models/$m is missing (scripts/fetch-models.sh)"
done
[[ -f $photo ]] || die "$photo is missing (scripts/fetch-test-images.sh)"

if ! setup_err=$(bash scripts/container-setup.sh 2>&1 >/dev/null); then
  echo "container_test: SKIP: podman cannot run here: $setup_err"
  exit 77
fi
image=$(bash scripts/test-image.sh "$bin") || die "scripts/test-image.sh failed"
echo "container_test: image $image"

tmp=$(mktemp -d)
name=kamado-test-$$
host_pid=
cleanup() {
  podman rm -f -t 0 "$name" "$name-2" >/dev/null 2>&1 || true
  if [[ -n $host_pid ]] && kill -0 "$host_pid" 2>/dev/null; then kill -KILL "$host_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# field FILE EXPR: one value out of a JSON file, by a JavaScript expression on `j`.
field() { node -e "const j = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); console.log($2)" "$1"; }

# 1. Sizes from the limit, as `kamado info` sees them inside.
"$bin" info --json >"$tmp/host-info.json"
host_split=$(field "$tmp/host-info.json" '[j.serve_default.sessions, j.serve_default.threads].join("x")')
host_cpus=$(field "$tmp/host-info.json" 'j.cpus.usable')
check_info() {  # check_info LABEL WANT_CPUS WANT_SPLIT PODMAN_ARGS...
  local label=$1 want_cpus=$2 want_split=$3
  shift 3
  podman run --rm "$@" "$image" info --json >"$tmp/info.json" 2>"$tmp/info.err" ||
    { cat "$tmp/info.err" >&2; die "kamado info in a container with $label failed"; }
  local cpus split source
  cpus=$(field "$tmp/info.json" 'j.cpus.usable')
  split=$(field "$tmp/info.json" '[j.serve_default.sessions, j.serve_default.threads].join("x")')
  source=$(field "$tmp/info.json" 'j.cpus.source')
  echo "container_test: $label: $cpus usable CPUs ($source), serve default 1 worker × ${split/x/ sessions × } threads"
  [[ $cpus == "$want_cpus" ]] || die "$label: kamado info says $cpus usable CPUs, want $want_cpus"
  [[ $split == "$want_split" ]] || die "$label: the no-flag serve split is $split (sessions x threads), want $want_split"
}
check_info "--cpus 1" 1 1x1 --cpus 1
check_info "--cpuset-cpus 0" 1 1x1 --cpuset-cpus 0
if [[ $host_cpus == 2 ]]; then
  check_info "--cpus 2" 2 "$host_split" --cpus 2
else
  # On a bigger host --cpus 2 is a quota below the machine: the split is 2 CPUs' own.
  check_info "--cpus 2" 2 "$(cd "$tmp" && taskset -c 0,1 "$OLDPWD/$bin" info --json |
    node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log([j.serve_default.sessions, j.serve_default.threads].join("x"))')" --cpus 2
fi

# 2. Serving: the container's answer against the host binary's, same model, sessions and threads.
wait_listening() {  # wait_listening LOGFILE WHAT → prints the URL
  local url=
  for _ in $(seq 600); do  # 60 s
    url=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$1" 2>/dev/null | grep -o 'http://.*' || true)
    [[ -n $url ]] && { echo "$url"; return 0; }
    sleep 0.1
  done
  return 1
}
classify() {  # classify URL OUT
  curl -sS --max-time 30 -o "$2" -w '%{http_code}' --data-binary @"$photo" -H 'Content-Type: image/png' \
    "$1/v2/models/mobilenet_v2/classify?top_k=5"
}

# serve_container NAME PREFIX PODMAN_ARGS... -- SERVE_ARGS...: `kamado serve` (MobileNetV2, loopback,
# any port) in a detached container; waits for 'listening on', its logs in $tmp/PREFIX.{out,err}.
serve_container() {
  local cname=$1 prefix=$2
  shift 2
  local podman_args=()
  while [[ $1 != -- ]]; do podman_args+=("$1"); shift; done
  shift
  podman run -d --name "$cname" --init --network host "${podman_args[@]}" -v "$PWD/models:/models:ro" "$image" \
    serve --model /models/mobilenet_v2 --host 127.0.0.1 --port 0 "$@" >/dev/null ||
    die "podman run ${podman_args[*]} … kamado serve failed"
  for _ in $(seq 600); do
    podman logs "$cname" >"$tmp/$prefix.out" 2>"$tmp/$prefix.err" || true
    grep -q 'listening on' "$tmp/$prefix.out" && return 0
    [[ $(podman inspect --format '{{.State.Running}}' "$cname") == true ]] ||
      { cat "$tmp/$prefix.err" >&2; die "kamado serve in the container ${podman_args[*]} exited before listening"; }
    sleep 0.1
  done
  cat "$tmp/$prefix.err" >&2
  die "kamado serve in the container ${podman_args[*]} did not listen within 60 s"
}

serve_container "$name" c --cpus 1 -- --drain-delay-s 1
c_url=$(wait_listening "$tmp/c.out") || { cat "$tmp/c.err" >&2; die "kamado serve in the container did not listen within 60 s"; }
grep -q ' 1.00 CPUs ([^)]*) → 1 sessions × 1 threads per model' "$tmp/c.err" ||
  { grep 'CPUs' "$tmp/c.err" >&2; die "the container's serve log does not say 1.00 CPUs → 1 sessions × 1 threads"; }
echo "container_test: in the container: $(grep -o '[0-9.]* CPUs ([^)]*) → .*per model' "$tmp/c.err" | head -n 1), at $c_url"

"$bin" serve --model models/mobilenet_v2 --host 127.0.0.1 --port 0 --sessions 1 --threads 1 \
  --drain-delay-s 0 >"$tmp/h.out" 2>"$tmp/h.err" &
host_pid=$!
h_url=$(wait_listening "$tmp/h.out") || { cat "$tmp/h.err" >&2; die "the host kamado serve did not listen within 60 s"; }

code=$(classify "$c_url" "$tmp/c.json") || die "no answer through the container's port $c_url"
[[ $code == 200 ]] || die "the container answered $code: $(cat "$tmp/c.json")"
code=$(classify "$h_url" "$tmp/h.json") || die "no answer from the host binary at $h_url"
[[ $code == 200 ]] || die "the host binary answered $code: $(cat "$tmp/h.json")"
node -e '
  const fs = require("fs");
  const [c, h] = [process.argv[1], process.argv[2]].map(f => JSON.parse(fs.readFileSync(f, "utf8")));
  const fail = m => { console.error("container_test: FAIL: " + m); process.exit(1); };
  if (c.label !== h.label) fail(`label ${c.label} in the container, ${h.label} on the host`);
  if (c.probabilities.length !== h.probabilities.length) fail("the probability vectors differ in length");
  let worst = 0;
  c.probabilities.forEach((p, i) => { worst = Math.max(worst, Math.abs(p - h.probabilities[i])); });
  // The same binary, libraries, CPU and thread count: the same numbers, up to JSON printing.
  if (worst > 1e-6) fail(`probabilities differ by up to ${worst}`);
  console.log(`container_test: the same answer in the container and on the host: ${c.label} ` +
              `(${c.score.toFixed(4)}), max |Δp| ${worst} over ${c.probabilities.length} classes`);
' "$tmp/c.json" "$tmp/h.json"
kill -INT "$host_pid"
wait "$host_pid" || die "the host kamado serve exited $? after SIGINT"
host_pid=

# The server under --cpus 2 reports the two-CPU split at start too.
serve_container "$name-2" c2 --cpus 2 -- --drain-delay-s 0
podman rm -f -t 10 "$name-2" >/dev/null 2>&1 || true
want2=$(field "$tmp/host-info.json" '`→ ${j.serve_default.sessions} sessions × ${j.serve_default.threads} threads per model`')
[[ $host_cpus != 2 ]] || grep -qF -- "$want2" "$tmp/c2.err" ||
  { grep 'CPUs' "$tmp/c2.err" >&2; die "under --cpus 2 the serve log does not say '$want2'"; }
echo "container_test: --cpus 2: $(grep -o '[0-9.]* CPUs ([^)]*) → .*per model' "$tmp/c2.err" | head -n 1)"

# 3. podman stop: SIGTERM through --init, the drain delay, exit 0.
podman stop -t 30 "$name" >/dev/null || die "podman stop failed"
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
podman logs "$name" >"$tmp/c.out" 2>"$tmp/c.err" || true
[[ $exit_code == 0 ]] || { tail -n 5 "$tmp/c.err" >&2; die "kamado serve exited $exit_code after podman stop"; }
grep -q 'SIGTERM: readiness false; still serving for 1 s' "$tmp/c.err" ||
  { tail -n 5 "$tmp/c.err" >&2; die "the log does not show the drain delay after podman stop (is --init working?)"; }
grep -q 'kamado serve: stopped' "$tmp/c.out" || die "the container's serve did not print 'stopped'"
echo "container_test: podman stop: readiness false, drained, exit 0"
podman rm "$name" >/dev/null

# 4. A memory limit below what the models need: refused with the numbers.
set +e
podman run --rm --memory 128m -v "$PWD/models:/models:ro" "$image" \
  serve --model /models/inception_v3 --host 127.0.0.1 --port 0 >"$tmp/m.out" 2>"$tmp/m.err"
rc=$?
set -e
[[ $rc == 2 ]] || { tail -n 5 "$tmp/m.err" >&2; die "serve under --memory 128m with InceptionV3 exited $rc, want 2 (137 is the OOM kill)"; }
grep -q 'needs more than' "$tmp/m.err" || { cat "$tmp/m.err" >&2; die "the refusal under --memory 128m does not give the numbers"; }
echo "container_test: --memory 128m refused: $(grep -o 'the memory limit is [^;]*' "$tmp/m.err" | head -n 1)"
echo "container_test: OK"
