#!/usr/bin/env bash
# A Service rehearsed on one machine (issue 18): N kamado replicas (server processes, or
# containers of an image with --container) behind HAProxy from Debian, configured as a
# Kubernetes Service with readiness probes would route — health checks on
# /v2/health/ready, a replica out of rotation after `fall` failed checks — and driven by
# `kamado load` open loop. Everything listens on 127.0.0.1 only.
#
#   scripts/scale-out.sh [--replicas N] [--model DIR] [--images DIR] [--rate R]
#       [--duration S] [--roll [--roll-duration S]] [--direct] [--find-max-rate P99_MS]
#       [--sessions S] [--threads T] [--drain-delay-s D] [--container IMAGE [--cpus C]]
#       [--json FILE]
#
# Phases, each one `kamado load` run:
#   before  R req/s Poisson through HAProxy for S seconds (or, with --find-max-rate, the
#           highest rate whose p99 stays within P99_MS without errors);
#   direct  (--direct) the same against replica 0's own port: what the proxy costs;
#   roll    (--roll) R req/s through HAProxy while each replica in turn gets SIGTERM
#           (podman stop with --container): HAProxy must mark it DOWN while it still runs
#           (readiness false for --drain-delay-s), it must exit 0, and a new replica on its
#           port must start and be marked UP before the next one goes. No warm-up: every
#           request of the roll counts.
# Exit 0 when every phase had 0 failed requests and every replacement went as above;
# 1 otherwise (the reason printed). The last line of --json FILE is the whole result.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

replicas=2 model=models/mobilenet_v2 images= rate=10 duration=10 roll=0 direct=0 max_rate_p99=
roll_s= sessions=1 threads=1 drain_delay=3 image= cpus= json_out= bin=${KAMADO_BINARY:-build/kamado}
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --replicas) replicas=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --roll) roll=1; shift ;;
    --roll-duration) roll_s=$2; shift 2 ;;
    --direct) direct=1; shift ;;
    --find-max-rate) max_rate_p99=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --drain-delay-s) drain_delay=$2; shift 2 ;;
    --container) image=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    --binary) bin=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "scale-out: unknown argument '$1'" >&2; usage 2 ;;
  esac
done

log() { echo "scale-out: $*"; }
die() { echo "scale-out: FAIL: $*" >&2; exit 1; }
[[ $replicas =~ ^[1-9][0-9]?$ ]] || die "--replicas must be 1..99, not '$replicas'"
# One replica cannot roll without a gap: while it drains and its replacement starts, no
# replica is up, and the roll's requests fail (as a Deployment of 1 with maxSurge 0).
((roll == 0 || replicas >= 2)) || die "--roll needs --replicas 2 or more: with 1 the replacement leaves no replica up"
[[ -x $bin ]] || die "no kamado binary at $bin (make build, or --binary)"
[[ -f $model/kamado.yaml ]] || die "no model at $model (scripts/fetch-models.sh)"
command -v haproxy >/dev/null || die "haproxy is not installed (apt-get install haproxy; scripts/install-deps.sh does)"
name=$(basename "$model")
# HAProxy takes a replica out after fall × inter of failed checks; that must end well
# within the drain delay, or requests would still be sent to a closing listener.
inter_ms=500 fall=2
(( inter_ms * fall < drain_delay * 1000 )) ||
  die "--drain-delay-s $drain_delay is not longer than HAProxy's fall × inter ($fall × ${inter_ms} ms)"

tmp=$(mktemp -d /tmp/kamado-scale-out.XXXXXX)
declare -a pids=() ports=() cnames=()
haproxy_pid=
cleanup() {
  for i in "${!pids[@]}"; do
    if [[ -n $image ]]; then podman rm -f -t 0 "${cnames[$i]}" >/dev/null 2>&1 || true
    elif kill -0 "${pids[$i]}" 2>/dev/null; then kill -KILL "${pids[$i]}" 2>/dev/null || true; fi
  done
  [[ -n $haproxy_pid ]] && kill "$haproxy_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

if [[ -z $images ]]; then  # the JPEG photos of data/images: what a photo service receives
  images=$tmp/photos
  mkdir -p "$images"
  cp data/images/*.jpg "$images"/ 2>/dev/null || die "no data/images/*.jpg (scripts/fetch-test-images.sh), or give --images"
fi
if [[ -n $image ]]; then
  bash scripts/container-setup.sh >/dev/null || die "podman cannot run here (scripts/container-setup.sh)"
  podman image exists "$image" || die "no image $image (make image, or scripts/test-image.sh)"
fi

# start_replica I PORT GEN: starts replica I on PORT (0: any) and waits for 'listening on';
# sets pids[I] (or cnames[I]) and ports[I].
start_replica() {
  local i=$1 port=$2 gen=$3 out=$tmp/r$1.$3.out err=$tmp/r$1.$3.err
  local args=(--host 127.0.0.1 --port "$port" --sessions "$sessions" --threads "$threads"
              --drain-delay-s "$drain_delay")
  if [[ -n $image ]]; then
    cnames[$i]=kamado-scale-out-$$-r$i-$gen
    # `make image`'s entrypoint is `kamado serve`; the test image's is `kamado`.
    local serve=(serve)
    [[ $(podman image inspect --format '{{json .Config.Entrypoint}}' "$image") == *'"serve"]' ]] && serve=()
    podman run -d --name "${cnames[$i]}" --init --no-healthcheck --network host ${cpus:+--cpus "$cpus"} \
      -v "$(cd "$model/.." && pwd):/models:ro" "$image" "${serve[@]}" --model "/models/$name" "${args[@]}" >/dev/null
    pids[$i]=container
  else
    "$bin" serve --model "$model" "${args[@]}" --compile-cache "$tmp/cache" >"$out" 2>"$err" &
    pids[$i]=$!
  fi
  local url=
  for _ in $(seq 1200); do  # 120 s
    [[ -n $image ]] && { podman logs "${cnames[$i]}" >"$out" 2>"$err" || true; }
    url=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$out" 2>/dev/null || true)
    [[ -n $url ]] && break
    replica_alive "$i" || { tail -n 5 "$err" >&2; die "replica $i exited before listening"; }
    sleep 0.1
  done
  [[ -n $url ]] || die "replica $i did not listen within 120 s"
  ports[$i]=${url##*:}
}
# replica_alive I: its process still runs (for a container, its main process: podman's
# .State.Running turns false as soon as `podman stop` begins, while kamado still drains).
replica_alive() {
  local pid=${pids[$1]}
  [[ -n $image ]] && pid=$(podman inspect --format '{{.State.Pid}}' "${cnames[$1]}" 2>/dev/null || echo 0)
  [[ $pid != 0 ]] && kill -0 "$pid" 2>/dev/null
}
# stop_replica I: SIGTERM (podman stop sends it through --init), in the background.
stop_replica() {
  if [[ -n $image ]]; then podman stop -t 120 "${cnames[$1]}" >/dev/null 2>&1 &
  else kill -TERM "${pids[$1]}"; fi
}
# reap_replica I: waits for replica I to end and sets rc to its exit status (not in a
# subshell: `wait` needs the shell that started it).
reap_replica() {
  rc=0
  if [[ -n $image ]]; then
    while replica_alive "$1"; do sleep 0.1; done
    rc=$(podman inspect --format '{{.State.ExitCode}}' "${cnames[$1]}")
    podman rm "${cnames[$1]}" >/dev/null 2>&1 || true
  else
    wait "${pids[$1]}" || rc=$?
  fi
}

for ((i = 0; i < replicas; i++)); do start_replica "$i" 0 0; done
log "$replicas replicas of $name (S$sessions × T$threads, drain delay ${drain_delay} s${image:+, containers of $image${cpus:+ --cpus $cpus}}) on ports ${ports[*]}"

# HAProxy, as a Service would route: round robin over the ready replicas.
fe_port=
stats=$tmp/haproxy-stats.sock
for _ in 1 2 3 4 5; do
  fe_port=$((20000 + RANDOM % 30000))
  {
    echo "global"
    echo "  maxconn 4096"
    echo "defaults"
    echo "  mode http"
    echo "  timeout connect 2s"
    echo "  timeout client 60s"
    echo "  timeout server 60s"
    echo "  option http-keep-alive"
    # No retries: a request sent to a replica that is closing must show up as a failure.
    echo "  retries 0"
    echo "frontend kamado"
    echo "  bind 127.0.0.1:$fe_port"
    echo "  default_backend replicas"
    echo "listen stats"
    echo "  bind unix@$stats"
    echo "  stats enable"
    echo "  stats uri /stats"
    echo "backend replicas"
    echo "  balance roundrobin"
    echo "  option httpchk GET /v2/health/ready"
    echo "  http-check expect status 200"
    echo "  default-server inter ${inter_ms}ms fastinter ${inter_ms}ms downinter ${inter_ms}ms fall $fall rise 1"
    for ((i = 0; i < replicas; i++)); do echo "  server r$i 127.0.0.1:${ports[$i]} check"; done
  } >"$tmp/haproxy.cfg"
  haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
  haproxy_pid=$!
  sleep 0.5
  kill -0 "$haproxy_pid" 2>/dev/null && break
  haproxy_pid=
done
[[ -n $haproxy_pid ]] || { cat "$tmp/haproxy.log" >&2; die "haproxy did not start"; }
# server_status I: HAProxy's view of replica I (UP, DOWN, "UP 1/2", ...).
server_status() {
  curl -s --unix-socket "$stats" "http://x/stats;csv" |
    awk -F, -v s="r$1" '$1 == "replicas" && $2 == s { print $18 }'
}
wait_up() {  # wait_up I: until HAProxy routes to replica I
  for _ in $(seq 600); do [[ $(server_status "$1") == UP ]] && return 0; sleep 0.1; done
  return 1
}
for ((i = 0; i < replicas; i++)); do wait_up "$i" || die "HAProxy never marked replica $i UP"; done
log "haproxy on http://127.0.0.1:$fe_port: every replica UP"

# load LABEL URL DURATION WARMUP: one `kamado load` run; its JSON result in $tmp/LABEL.json.
load() {
  local label=$1 url=$2 d=$3 w=$4
  local what=(--rate "$rate")
  [[ -n $max_rate_p99 && $label != roll ]] && what=(--find-max-rate --p99-ms "$max_rate_p99")
  "$bin" load --url "$url" --model "$name" --images "$images" "${what[@]}" --distribution poisson \
    --duration "$d" --warmup "$w" --windows 3 --json >"$tmp/$label.out" 2>"$tmp/$label.err" ||
    { tail -n 5 "$tmp/$label.err" >&2; die "kamado load ($label) failed"; }
  tail -n 1 "$tmp/$label.out" >"$tmp/$label.json"
}
# The level a phase is judged by: a fixed rate's only level, or the search's best passing
# probe (its failing probes are the search, not failures). "errors" counts the phase's
# failed requests: every level of a fixed-rate run.
phase_js='
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const passing = (r.search || []).filter(p => p.pass);
  const l = r.search ? passing[passing.length - 1] : r.levels[r.levels.length - 1];
  const errors = r.search ? (l ? l.errors : 0) : r.levels.reduce((n, x) => n + x.errors, 0);'
summary() {  # summary LABEL: throughput, p50, p99, requests and errors
  node -e "$phase_js"'
    if (!l) { console.log(`${process.argv[2]}: no rate met the p99 bound`); process.exit(0); }
    console.log(`${process.argv[2].padEnd(7)} ${l.throughput_rps.toFixed(1).padStart(7)} req/s  ` +
                `p50 ${l.p50_ms.toFixed(1).padStart(7)} ms  p99 ${l.p99_ms.toFixed(1).padStart(7)} ms  ` +
                `${l.requests} requests, ${errors} failed` + (r.search ? ` (max rate ${r.max_rate.toFixed(1)})` : ""));
  ' "$tmp/$1.json" "$1"
}
errors_of() { node -e "$phase_js"' console.log(errors)' "$tmp/$1.json"; }

phases=(before)
load before "http://127.0.0.1:$fe_port" "$duration" 2
log "$(summary before)"
if ((direct)); then
  phases+=(direct)
  load direct "http://127.0.0.1:${ports[0]}" "$duration" 2
  log "$(summary direct)"
fi

declare -a events=()
if ((roll)); then
  phases+=(roll)
  # Long enough for every replacement: the drain delay, the drain, a start and a check each
  # (MobileNetV2 from the compile cache starts in about a second), and 2 s before the first.
  [[ -n $roll_s ]] || roll_s=$((replicas * (drain_delay + 5) + 3))
  t_start=$(date +%s.%N)
  load roll "http://127.0.0.1:$fe_port" "$roll_s" 0 &
  load_pid=$!
  sleep 2
  for ((i = 0; i < replicas; i++)); do
    t0=$(date +%s.%N)
    old_pid="pid ${pids[$i]}"; [[ -n $image ]] && old_pid=${cnames[$i]}
    stop_replica "$i"
    down_alive= t_down=
    while true; do
      st=$(server_status "$i")
      if [[ $st == DOWN* || $st == MAINT* ]]; then
        replica_alive "$i" && down_alive=yes || down_alive=no
        t_down=$(date +%s.%N)
        break
      fi
      replica_alive "$i" || { down_alive=no; t_down=$(date +%s.%N); break; }
      sleep 0.05
    done
    reap_replica "$i"
    t_exit=$(date +%s.%N)
    start_replica "$i" "${ports[$i]}" 1
    wait_up "$i" || die "HAProxy never marked the new replica $i UP"
    t_up=$(date +%s.%N)
    ev=$(awk -v i="$i" -v t0="$t0" -v td="$t_down" -v te="$t_exit" -v tu="$t_up" -v rc="$rc" -v alive="$down_alive" \
      'BEGIN { printf "{\"replica\": %d, \"down_after_s\": %.2f, \"alive_when_down\": %s, \"exit_code\": %d, \"exited_after_s\": %.2f, \"replaced_up_after_s\": %.2f}",
               i, td - t0, alive == "yes" ? "true" : "false", rc, te - t0, tu - t0 }')
    events+=("$ev")
    log "replica $i ($old_pid): SIGTERM; HAProxy DOWN after $(awk -v a="$t0" -v b="$t_down" 'BEGIN{printf "%.2f", b-a}') s (still running: $down_alive); exit $rc after $(awk -v a="$t0" -v b="$t_exit" 'BEGIN{printf "%.2f", b-a}') s; the new one UP after $(awk -v a="$t0" -v b="$t_up" 'BEGIN{printf "%.2f", b-a}') s"
  done
  kill -0 "$load_pid" 2>/dev/null || die "the roll's load ended before the roll did (it took longer than ${roll_s} s)"
  wait "$load_pid" || die "kamado load (roll) failed"
  log "$(summary roll)"
fi

# The replicas that are left stop as a rollout's end would, and HAProxy after them.
for i in "${!pids[@]}"; do
  if [[ -n $image ]]; then podman stop -t 60 "${cnames[$i]}" >/dev/null 2>&1 || true; podman rm "${cnames[$i]}" >/dev/null 2>&1 || true
  else kill -INT "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; fi
done
pids=()
kill "$haproxy_pid" 2>/dev/null || true
wait "$haproxy_pid" 2>/dev/null || true
haproxy_pid=

# Verdict.
status=0
for p in "${phases[@]}"; do
  n=$(errors_of "$p")
  [[ $n == 0 ]] || { echo "scale-out: FAIL: $n failed requests in the $p phase ($(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(JSON.stringify(r.levels.map(l=>l.errors_by_status)))' "$tmp/$p.json"))" >&2; status=1; }
done
for ev in "${events[@]}"; do
  node -e '
    const e = JSON.parse(process.argv[1]);
    if (e.exit_code !== 0) { console.error(`scale-out: FAIL: replica ${e.replica} exited ${e.exit_code} after SIGTERM`); process.exit(1); }
    if (!e.alive_when_down) { console.error(`scale-out: FAIL: replica ${e.replica} had stopped before HAProxy took it out (the drain delay did not hold)`); process.exit(1); }
  ' "$ev" || status=1
done
if [[ -n $json_out ]]; then
  {
    echo -n "{\"replicas\": $replicas, \"model\": \"$name\", \"sessions\": $sessions, \"threads\": $threads,"
    echo -n " \"drain_delay_s\": $drain_delay, \"haproxy\": {\"inter_ms\": $inter_ms, \"fall\": $fall},"
    echo -n " \"container\": \"$image\", \"rate\": $rate, \"phases\": {"
    sep=
    for p in "${phases[@]}"; do echo -n "$sep\"$p\": $(cat "$tmp/$p.json")"; sep=", "; done
    echo -n "}, \"roll\": [$(IFS=,; echo "${events[*]}")], \"ok\": $([[ $status == 0 ]] && echo true || echo false)}"
    echo
  } >"$json_out"
fi
[[ $status == 0 ]] && log "OK: 0 failed requests${events:+; every replica drained, exited 0 and was replaced}"
exit "$status"
