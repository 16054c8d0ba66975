#!/usr/bin/env bash
# The int8 calibration photos (`kamado quantize --images`, issue 16), from
# Debian bookworm packages, WITHOUT installing them (apt-get download +
# dpkg-deb -x into a temp dir), into <repo>/data/calib/ (gitignored):
#   - mate-backgrounds: its wallpapers under 3 MB (nature photographs,
#     abstracts, desktop art; the 4K/5K copies of one image left out);
#   - ukui-wallpapers: its wallpapers (photographs and renders);
#   - with --clipart: openclipart-png's people/ drawings 41-80 (the gate
#     takes the first 40), so drawings are calibrated too (a 131 MB download).
# Disjoint from the gate's photos (scripts/fetch-gate-photos.sh) and from
# data/images. `make test-data` fetches it without --clipart; idempotent.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
DEST="$REPO_ROOT/data/calib"
PKGS=(mate-backgrounds ukui-wallpapers)
CLIPART=no
[[ "${1:-}" == "--clipart" ]] && { CLIPART=yes; PKGS+=(openclipart-png); }

log() { echo "fetch-calibration-photos: $*"; }

if [[ -f "$DEST/.complete" && ( $CLIPART == no || -f "$DEST/.clipart" ) ]]; then
  log "$(ls "$DEST" | wc -l) images already in $DEST; nothing to do"
  exit 0
fi
for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { log "ERROR: $tool not found" >&2; exit 1; }
done
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kamado-calib-photos.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
download() { (cd "$WORK" && apt-get download -q "${PKGS[@]}" >"$WORK/apt.log" 2>&1); }
if ! download; then
  log "apt-get download failed; running apt-get update and retrying"
  if [[ $(id -u) == 0 ]]; then apt-get update -q >/dev/null; else sudo apt-get update -q >/dev/null; fi
  download || { cat "$WORK/apt.log" >&2; log "ERROR: apt-get download ${PKGS[*]} failed" >&2; exit 1; }
fi
for deb in "$WORK"/*.deb; do
  log "downloaded $(basename "$deb")"
  dpkg-deb -x "$deb" "$WORK/x"
done

rm -rf "$DEST"
mkdir -p "$DEST"
find "$WORK/x/usr/share/backgrounds/mate" -type f \( -name '*.jpg' -o -name '*.png' \) -size -3M | LC_ALL=C sort |
  while read -r f; do cp "$f" "$DEST/mate-$(basename "$f")"; done
find "$WORK/x/usr/share/backgrounds" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' \) | LC_ALL=C sort |
  while read -r f; do cp "$f" "$DEST/ukui-$(basename "$f")"; done
if [[ $CLIPART == yes ]]; then
  find "$WORK/x/usr/share/openclipart/png/people" -maxdepth 1 -name '*.png' | LC_ALL=C sort | sed -n 41,80p |
    while read -r f; do cp "$f" "$DEST/clipart-$(basename "$f")"; done
  touch "$DEST/.clipart"
fi
touch "$DEST/.complete"
log "copied $(ls "$DEST" | wc -l) images into $DEST"
