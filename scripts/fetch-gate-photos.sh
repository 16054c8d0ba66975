#!/usr/bin/env bash
# The photo set for the reduced-precision gate (`kamado compare`, issue 16),
# from Debian bookworm packages, WITHOUT installing them (apt-get download +
# dpkg-deb -x into a temp dir) into <repo>/data/gate/ (gitignored):
#   - plasma-workspace-wallpapers: the largest image of each wallpaper (and
#     of its dark variant): photographs and renders, 0.8-15 MP;
#   - gnome-backgrounds: its WebP wallpapers (photographs and abstracts);
#   - openclipart-png: the first 40 drawings of people/, so the set also
#     exercises the drawn classes of the default (NSFW) models.
# With data/images (scikit-image's photos) that is 120 images whose fp32
# top-1 covers four classes. Not the int8 calibration set. Not in
# `make test` (which gates on data/images alone); idempotent.
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
DEST="$REPO_ROOT/data/gate"
PKGS=(plasma-workspace-wallpapers gnome-backgrounds openclipart-png)
CLIPART=40

log() { echo "fetch-gate-photos: $*"; }

if [[ -f "$DEST/.complete" ]]; then
  log "$(ls "$DEST" | wc -l) images already in $DEST; nothing to do"
  exit 0
fi
source "$SCRIPT_DIR/debs.sh"
debs_extract fetch-gate-photos "${PKGS[@]}"

rm -rf "$DEST"
mkdir -p "$DEST"
for d in "$WORK"/x/usr/share/wallpapers/*/contents/images "$WORK"/x/usr/share/wallpapers/*/contents/images_dark; do
  [[ -d "$d" ]] || continue
  f="$(ls -S "$d" | head -1)"
  name="$(basename "$(dirname "$(dirname "$d")")")"
  suffix="$(basename "$d" | sed 's/^images//')"
  cp "$d/$f" "$DEST/plasma-$name$suffix.${f##*.}"
done
for f in "$WORK"/x/usr/share/backgrounds/gnome/*.webp; do
  cp "$f" "$DEST/gnome-$(basename "$f")"
done
find "$WORK/x/usr/share/openclipart/png/people" -maxdepth 1 -name '*.png' | LC_ALL=C sort | head -n "$CLIPART" |
  while read -r f; do cp "$f" "$DEST/clipart-$(basename "$f")"; done
touch "$DEST/.complete"
log "copied $(ls "$DEST" | wc -l) images into $DEST"
