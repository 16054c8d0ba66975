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
for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null || { log "ERROR: $tool not found" >&2; exit 1; }
done
WORK="$(mktemp -d "${TMPDIR:-/tmp}/kamado-gate-photos.XXXXXX")"
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
