# Sourced by the benchmarks that start their own `kamado serve` processes
# (bench/mirror.sh, bench/shadow-example.sh): a work directory removed on
# exit, the servers stopped with SIGINT on exit, and `start_server NAME ARGS...`,
# which starts `$KAMADO serve --port 0 --drain-delay-s 0 ARGS...` and leaves
# its URL in $work/NAME.url (its log in $work/NAME.log; exits on failure).
KAMADO=${KAMADO:-build/kamado}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_server() {
  local name=$1 url; shift
  "$KAMADO" serve --port 0 --drain-delay-s 0 "$@" > "$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$work/$name.log" | head -n 1)
    [[ -n $url ]] && { echo "$url" > "$work/$name.url"; return; }
    sleep 0.1
  done
  cat "$work/$name.log" >&2
  exit 1
}
