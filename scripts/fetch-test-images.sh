#!/usr/bin/env bash
# Fetch real test photos from Debian's scikit-image data (python3-skimage,
# bookworm) WITHOUT installing it: apt-get download + dpkg-deb -x into a temp
# dir, then copy the selected images into <repo>/data/images/ (gitignored).
# Works from any cwd; idempotent (does nothing if all images are present).
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
DEST="$REPO_ROOT/data/images"
PKG=python3-skimage
SRC_SUBDIR=usr/lib/python3/dist-packages/skimage/data

# name  sha256 (python3-skimage 0.19.3-8, Debian bookworm)
IMAGES=(
  "astronaut.png          88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"
  "chelsea.png            596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb"
  "coffee.png             cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7"
  "motorcycle_left.png    db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179"
  "motorcycle_right.png   5fc913ae870e42a4b662314bc904d1786bcad8e2f0b9b67dba5a229406357797"
  "camera.png             b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a"
  "ihc.png                f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef"
  "logo.png               f2c57fe8af089f08b5ba523d95573c26e62904ac5967f4c8851b27d033690168"
  "rocket.jpg             c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c"
  "hubble_deep_field.jpg  3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4"
  "retina.jpg             38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6"
)

log() { echo "fetch-test-images: $*"; }

missing=0
for e in "${IMAGES[@]}"; do
  read -r name _ <<<"$e"
  [[ -s "$DEST/$name" ]] || missing=1
done
if [[ $missing == 0 ]]; then
  log "all ${#IMAGES[@]} images already present in $DEST; nothing to do"
  exit 0
fi

for tool in apt-get dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null || { log "ERROR: $tool not found" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/kamado-test-images.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"   # lets apt's _apt sandbox user write there when run as root

download() { (cd "$WORK" && apt-get download -q "$PKG" >"$WORK/apt.log" 2>&1); }
if ! download; then
  log "apt-get download $PKG failed; running apt-get update and retrying"
  if [[ $(id -u) == 0 ]]; then apt-get update -q >/dev/null; else sudo apt-get update -q >/dev/null; fi
  download || { cat "$WORK/apt.log" >&2; log "ERROR: apt-get download $PKG failed" >&2; exit 1; }
fi
deb="$(ls "$WORK"/"$PKG"_*.deb)"
log "downloaded $(basename "$deb")"
dpkg-deb -x "$deb" "$WORK/x"

mkdir -p "$DEST"
tmpdest="$(mktemp -d "$DEST/.tmp.XXXXXX")"
for e in "${IMAGES[@]}"; do
  read -r name sum <<<"$e"
  src="$WORK/x/$SRC_SUBDIR/$name"
  [[ -f "$src" ]] || { log "ERROR: $name not found in $(basename "$deb")" >&2; rm -rf "$tmpdest"; exit 1; }
  got="$(sha256sum "$src" | cut -d' ' -f1)"
  if [[ "$got" != "$sum" ]]; then
    log "WARNING: $name sha256 $got differs from pinned $sum (package updated?); reference cache will get new entries"
  fi
  cp "$src" "$tmpdest/$name"
done
for e in "${IMAGES[@]}"; do
  read -r name _ <<<"$e"
  mv -f "$tmpdest/$name" "$DEST/$name"
done
rmdir "$tmpdest"
log "copied ${#IMAGES[@]} images into $DEST"
