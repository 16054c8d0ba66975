#!/usr/bin/env bash
# Makes rootful podman usable on these hosts, once: what is missing installed
# (podman, runc, and catatonit for `--init`: Debian only recommends it), and /etc/containers/containers.conf written with the settings
# that work here — runc (crun refuses the hosts' hybrid cgroups), cgroupfs (no
# systemd), file events, and ulimits within this machine's hard limit (the
# default nofile exceeds it). An existing containers.conf is left as it is.
# Exit 0 when `podman info` then works; otherwise 1 with the reason on stderr
# (the container tests print it as their reason to skip).
set -euo pipefail

if ! command -v podman >/dev/null || ! command -v runc >/dev/null || [[ ! -x /usr/libexec/podman/catatonit ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "container-setup: podman, runc or catatonit is not installed and this is not root" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc catatonit >/dev/null ||
    { echo "container-setup: apt-get install podman runc catatonit failed" >&2; exit 1; }
fi

conf=/etc/containers/containers.conf
if [[ ! -e $conf ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "container-setup: $conf is missing and this is not root (rootful podman is what works here)" >&2
    exit 1
  fi
  nofile=$(ulimit -Hn)
  [[ $nofile == unlimited ]] && nofile=1048576
  mkdir -p /etc/containers
  cat >"$conf" <<CONF
# Written by kamado's scripts/container-setup.sh: what rootful podman 4.3
# needs on these hosts (crun refuses their hybrid cgroups; the default
# nofile is above the hard limit, $nofile).
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  echo "container-setup: wrote $conf" >&2
fi

if ! out=$(podman info 2>&1); then
  echo "container-setup: podman cannot run here: $(tail -n 3 <<<"$out" | tr '\n' ' ')" >&2
  exit 1
fi
