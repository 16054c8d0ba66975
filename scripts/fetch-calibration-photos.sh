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
source "$SCRIPT_DIR/debs.sh"
debs_extract fetch-calibration-photos "${PKGS[@]}"

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
