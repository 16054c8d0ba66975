# Sourced by the fetch-*-photos.sh scripts: downloads Debian packages
# WITHOUT installing them and unpacks them under a temp dir.
#   debs_extract LOG_NAME PKG...   sets WORK (removed on exit); files under $WORK/x
debs_extract() {
  local name=$1
  shift
  local tool
  for tool in apt-get dpkg-deb; do
    command -v "$tool" >/dev/null || { echo "$name: ERROR: $tool not found" >&2; exit 1; }
  done
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/kamado-$name.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  chmod 755 "$WORK"
  if ! (cd "$WORK" && apt-get download -q "$@" >"$WORK/apt.log" 2>&1); then
    echo "$name: apt-get download failed; running apt-get update and retrying"
    if [[ $(id -u) == 0 ]]; then apt-get update -q >/dev/null; else sudo apt-get update -q >/dev/null; fi
    (cd "$WORK" && apt-get download -q "$@" >"$WORK/apt.log" 2>&1) ||
      { cat "$WORK/apt.log" >&2; echo "$name: ERROR: apt-get download $* failed" >&2; exit 1; }
  fi
  local deb
  for deb in "$WORK"/*.deb; do
    echo "$name: downloaded $(basename "$deb")"
    dpkg-deb -x "$deb" "$WORK/x"
  done
}
