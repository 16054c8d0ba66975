#!/usr/bin/env bash
# The container image the tests run: the already-built binary ($1, default
# build/kamado) and the shared libraries it loads, as `ldd` lists them, on an
# empty root with a non-root user — seconds, not a rebuild (`make image` is the
# image to ship). Models are mounted at run time (-v). Tagged by the hash of
# what goes in, so an unchanged binary reuses its image. Prints the image name.
set -euo pipefail

bin=${1:-build/kamado}
[[ -x $bin ]] || { echo "test-image: $bin is not built" >&2; exit 1; }
bash "$(dirname "$0")/container-setup.sh"

libs=$(ldd "$bin" | grep -o '/[^ ]*' | sort -u)
tag=$(cat "$bin" $libs | sha256sum | cut -c1-16)
image=localhost/kamado-test:$tag
if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$root/models"
chmod 1777 "$root/tmp"
cp "$bin" "$root/usr/local/bin/kamado"
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
echo 'kamado:x:1000:1000:kamado:/tmp:/nonexistent' >"$root/etc/passwd"
echo 'kamado:x:1000:' >"$root/etc/group"
tar -C "$root" -c . | podman import --quiet \
  --change 'USER=1000' --change 'WORKDIR=/tmp' \
  --change 'ENTRYPOINT=["/usr/local/bin/kamado"]' --change 'CMD=["info"]' \
  --change "LABEL org.opencontainers.image.title=kamado-test" - "$image" >/dev/null
echo "$image"
