#!/usr/bin/env bash
# Debian roots for the package tests, built once with debootstrap and cached outside the checkout.
# Interim: when scripts/debian-root.sh (issue #14, a generic root builder) lands, ensure_root below becomes a call
# to it; the tests only use ensure_root SUITE -> prints the root's path.
#
#   test/deb/root.sh SUITE      build (or reuse) the cached root of SUITE (bookworm, trixie); prints its path
#
# A root holds what a database host has before our package: mariadb-server and galera-4 from the suite itself,
# and no Node. It is never changed afterwards: tests run on an overlay above it (test/deb/galera-in-root.sh).
set -euo pipefail
CACHE=${SST_TUNNEL_ROOT_CACHE:-/var/cache/sst-tunnel/roots}
MIRROR=${SST_TUNNEL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# rsync is not listed: our package's Depends must bring it in.
PACKAGES=mariadb-server,galera-4,iproute2,ca-certificates

ensure_root() {
  local suite=$1 root="$CACHE/$1"
  if [ -f "$root/.sst-tunnel-root-ok" ]; then echo "$root"; return 0; fi
  mkdir -p "$CACHE"
  local building="$CACHE/.$suite.building.$$"
  echo "root.sh: building the $suite root in $root (debootstrap, several minutes)" >&2
  # policy-rc.d keeps package scripts from starting mariadb inside the root.
  debootstrap --variant=minbase --include="$PACKAGES" "$suite" "$building" "$MIRROR" >&2 ||
    { unmount_below "$building"; echo "root.sh: debootstrap of $suite failed (left in $building)" >&2; return 1; }
  unmount_below "$building"
  rm -rf "$building/var/cache/apt/archives/"*.deb
  touch "$building/.sst-tunnel-root-ok"
  mv -T "$building" "$root"
  echo "$root"
}

# Unmounts whatever is still mounted below DIR (deepest first), so no later rm -rf can reach /proc or /tmp.
unmount_below() {
  local dir
  dir=$(readlink -f "$1")
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" || true
  done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  [ $# -eq 1 ] || { echo "usage: $0 SUITE" >&2; exit 22; }
  ensure_root "$1"
fi
