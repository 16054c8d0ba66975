#!/usr/bin/env bash
# `make image`: the kamado image to ship, localhost/kamado:latest (deploy/image/Containerfile),
# from Debian packages only — no registry is reachable here. The base is
# `debootstrap --variant=minbase bookworm` imported with `podman import` as
# localhost/kamado-base:bookworm (made once, reused while it exists), with this host's apt
# sources and acquire settings so both stages install the versions the host builds with.
# Builds with --network host: apt and nothing else reaches out, and nothing is published.
# Prints the time each step took and the image size.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

image=${KAMADO_IMAGE:-localhost/kamado:latest}
base=localhost/kamado-base:bookworm
log() { echo "make-image: $*"; }
die() { echo "make-image: FAIL: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (rootful podman and debootstrap)"
bash scripts/container-setup.sh || die "podman cannot run here"
command -v debootstrap >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
for m in inception_v3 mobilenet_v2; do
  [[ -f models/$m/kamado.yaml ]] || die "models/$m is missing (make models)"
done

start=$SECONDS
if podman image exists "$base"; then
  log "base $base exists (podman rmi it to make it again)"
else
  mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    grep -oE 'https?://[^ ]+' | head -n 1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  root=$(mktemp -d /var/tmp/kamado-base.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  log "debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
    { tail -n 20 "$root.log" >&2; die "debootstrap failed (log above)"; }
  rm -f "$root.log"
  # The host's sources and the acquire settings its mirror needs (a snapshot's Release
  # files may be past Valid-Until).
  rm -f "$root/etc/apt/sources.list"
  cp -a /etc/apt/sources.list* "$root/etc/apt/" 2>/dev/null || true
  apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' \
    >"$root/etc/apt/apt.conf.d/90kamado-host" || true
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$root/etc/apt/apt.conf.d/91kamado-no-recommends"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/*
  tar --numeric-owner -C "$root" -c . | podman import --quiet \
    --change 'CMD=["/bin/bash"]' --change 'LABEL org.opencontainers.image.title=kamado-base' \
    - "$base" >/dev/null
  rm -rf "$root"
  trap - EXIT
  log "base $base made in $((SECONDS - start)) s ($(podman image inspect --format '{{.Size}}' "$base" | awk '{printf "%.0f MB", $1 / 1e6}'))"
fi

t=$SECONDS
revision=$(git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
# --format docker: OCI image manifests have no HEALTHCHECK; podman keeps it in this format.
podman build --network host --format docker --file deploy/image/Containerfile \
  --build-arg BASE="$base" --build-arg KAMADO_COMMIT="$revision" \
  --label org.opencontainers.image.title=kamado \
  --label org.opencontainers.image.description="kamado serve: image-classification CNNs on CPUs (Open Inference Protocol v2)" \
  --label org.opencontainers.image.revision="$revision" \
  --label org.opencontainers.image.created="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --label org.opencontainers.image.licenses="see the repository" \
  --tag "$image" . || die "podman build failed"
size=$(podman image inspect --format '{{.Size}}' "$image")
log "$image built in $((SECONDS - t)) s ($((SECONDS - start)) s with the base); $(awk -v s="$size" 'BEGIN {printf "%.0f MB", s / 1e6}')"
# The runtime image has no compiler.
if podman run --rm --entrypoint /bin/sh "$image" -c 'command -v cc gcc g++ c++ cmake' >/dev/null 2>&1; then
  die "the runtime image has a compiler in it"
fi
podman run --rm --entrypoint /usr/local/bin/kamado "$image" info | sed 's/^/make-image:   /'
# It serves: its own config on loopback (any free port), ready, and a clean stop.
c=kamado-make-image-$$
trap 'podman rm -f -t 0 "$c" >/dev/null 2>&1 || true' EXIT
podman run -d --name "$c" --init --no-healthcheck --network host "$image" \
  --config /etc/kamado/serve.yaml --host 127.0.0.1 --port 0 >/dev/null
url=
for _ in $(seq 600); do
  url=$(podman logs "$c" 2>/dev/null | grep -o 'http://127\.0\.0\.1:[0-9]*' | head -n 1 || true)
  [[ -n $url ]] && break
  sleep 0.1
done
[[ -n $url ]] || { podman logs "$c" 2>&1 | tail -n 5 >&2; die "the image's kamado serve did not listen within 60 s"; }
ready=$(curl -s -o /dev/null -w '%{http_code}' "$url/v2/health/ready")
[[ $ready == 200 ]] || die "$url/v2/health/ready answered $ready"
podman stop -t 30 "$c" >/dev/null
rc=$(podman inspect --format '{{.State.ExitCode}}' "$c")
[[ $rc == 0 ]] || die "the image's kamado serve exited $rc after podman stop"
log "served its config at $url (ready 200), stopped with exit 0"
log "run it on loopback: podman run --rm --init --network host --cpus 2 $image --config /etc/kamado/serve.yaml --host 127.0.0.1"
