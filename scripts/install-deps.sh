#!/usr/bin/env bash
# Installs, from Debian's packages, what `make run` and `make test` need and
# is missing; a second run installs and prints nothing. The test databases
# are installed by scripts/testdb.sh, which also runs them.
# Usage: install-deps.sh run|test
set -euo pipefail
what=${1:-test}
case "$what" in run|test) ;; *) echo "usage: $0 run|test" >&2; exit 2 ;; esac

need=()
have() { command -v "$1" >/dev/null 2>&1; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# The cell: the rep's executor runs containers on containerd with runc, wires
# them with the CNI plugins and iptables, and builds the preloaded test stack
# from a static busybox. The tests start their own containerd; the system
# service, if the package starts one, is never used.
have containerd || installed containerd || need+=(containerd)
have runc || installed runc || need+=(runc)
installed containernetworking-plugins || need+=(containernetworking-plugins)
have iptables || installed iptables || need+=(iptables)
installed busybox-static || need+=(busybox-static)

# The protobuf compiler `make proto` is pinned to (the test run checks the
# generated code against it).
[ "$what" = test ] && { have protoc || need+=(protobuf-compiler); }

# The registry the docker:// image tests push to and pull from; each test
# runs its own on a free loopback port, never the system service.
[ "$what" = test ] && { [ -x /usr/bin/docker-registry ] || installed docker-registry || need+=(docker-registry); }

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install: ${need[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  }
fi
exit 0
