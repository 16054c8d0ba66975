#!/usr/bin/env bash
# Installs every Debian package kamado builds, tests and fetches models with.
# Idempotent: installs only what is missing; runs `apt-get update` once, only when needed.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ninja-build
  libdnnl-dev libomp-dev
  libboost-dev libboost-system-dev
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libturbojpeg0-dev libjpeg62-turbo-dev libspng-dev libwebp-dev zlib1g-dev
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libexif-dev libboost-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev wrk
  python3-torchvision
  nodejs npm prometheus
  podman runc catatonit debootstrap haproxy
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  # nodejs may come from another repo with npm bundled; accept any installed node + npm.
  if [[ $p == npm ]] && command -v npm >/dev/null; then continue; fi
  if [[ $p == nodejs ]] && command -v node >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Update the package lists once if they are absent or older than a day.
if [[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n1) ]]; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
