#!/usr/bin/env bash
# debian-root.sh: a cached Debian root (debootstrap) for tests that need another Debian release's packages next to
# this machine's, e.g. MariaDB 11.8 from trixie beside bookworm's 10.11 (shared/docs/labs.md). Generic: any
# codename, any package list; nothing here knows about MariaDB.
#
#   debian-root.sh ensure CODENAME [--root DIR] [PACKAGE...]
#       Build the root once (idempotent) and print its path. Default DIR: $SST_TUNNEL_ROOT_CACHE (default
#       /var/cache/sst-tunnel/roots) / CODENAME-<hash of the sorted package list>, so two package lists never
#       share (or change) one root. A root is complete only when its stamp file exists; a failed build is removed
#       (after its mounts are gone) and the next call starts again.
#   debian-root.sh run ROOT [--bind DIR]... [--bind-at DIR TARGET]... [--env NAME=VALUE]... -- COMMAND [ARG...]
#       Run COMMAND chrooted in ROOT inside a private mount namespace with proc, sys, dev, dev/pts and /tmp (and
#       each --bind DIR at the same path, each --bind-at DIR at TARGET) mounted: the mounts vanish with the
#       namespace's last process, so none can be left behind. A TARGET under /tmp is made in the caller's /tmp
#       (bound), so the cached root gets no mount point directory. The network is the caller's (run it inside
#       `unshare -n` for a private loopback).
#   debian-root.sh mount ROOT | umount ROOT
#       The same mounts in the caller's namespace (for a lab by hand), and their removal, deepest first.
#   debian-root.sh remove ROOT
#       umount, then rm -rf only if /proc/mounts shows nothing left below ROOT (never through a bound /tmp).
#
# The mirror is the one apt already uses here (/etc/apt/sources.list and sources.list.d), or
# $SST_TUNNEL_DEBIAN_MIRROR. Needs root and debootstrap; exit 77 (and one line) when either is missing, so a test
# can skip with a clear reason.
set -euo pipefail

CACHE=${SST_TUNNEL_ROOT_CACHE:-/var/cache/sst-tunnel/roots}
STAMP=.debian-root-ok

die() { echo "debian-root.sh: $1" >&2; exit "${2:-1}"; }

# The first Debian archive URI apt is configured with (deb822 URIs: or one-line deb entries), not the security one.
apt_mirror() {
  local kind=$1 files uri
  files=$(ls /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  [ -n "$files" ] || return 0
  # shellcheck disable=SC2086
  uri=$( { grep -h '^URIs:' $files 2>/dev/null | awk '{print $2}'; grep -h '^deb ' $files 2>/dev/null |
    sed -E 's/^deb (\[[^]]*\] )?//' | awk '{print $1}'; } | grep -E '/debian(-security)?/?$' |
    if [ "$kind" = security ]; then grep -E 'debian-security/?$'; else grep -vE 'debian-security/?$'; fi |
    head -n1 || true)
  echo "${uri%/}"
}

unmount_below() {
  local dir
  dir=$(readlink -f "$1")
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
}

mounted_below() {
  local dir
  dir=$(readlink -f "$1")
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { found = 1 } END { exit !found }' /proc/mounts
}

need_root() {
  [ "$(id -u)" = 0 ] || die "needs root privileges (debootstrap, chroot, mount)" 77
}

ensure() {
  local codename=$1 root=''
  shift
  if [ "${1:-}" = --root ]; then root=$2; shift 2; fi
  local packages
  packages=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ' | sed 's/ $//')
  [ -n "$root" ] || root="$CACHE/$codename-$(printf '%s' "$packages" | sha256sum | cut -c1-8)"
  if [ -f "$root/$STAMP" ]; then echo "$root"; return 0; fi
  need_root
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)" 77
  local mirror security
  mirror=${SST_TUNNEL_DEBIAN_MIRROR:-$(apt_mirror main)}
  security=${SST_TUNNEL_DEBIAN_SECURITY:-$(apt_mirror security)}
  [ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list*; set SST_TUNNEL_DEBIAN_MIRROR"
  mkdir -p "$(dirname "$root")"
  local building="$root.building.$$"
  trap 'unmount_below "$building"; mounted_below "$building" || rm -rf "$building"' EXIT
  echo "debian-root.sh: building $codename in $root from $mirror (several minutes): $packages" >&2
  debootstrap --variant=minbase "$codename" "$building" "$mirror" >&2
  unmount_below "$building"
  {
    echo "deb $mirror $codename main"
    echo "deb $mirror $codename-updates main"
    [ -z "$security" ] || echo "deb $security $codename-security main"
  } >"$building/etc/apt/sources.list"
  # No package may start a service inside the root (invoke-rc.d asks policy-rc.d; 101 = action forbidden).
  printf '#!/bin/sh\nexit 101\n' >"$building/usr/sbin/policy-rc.d"
  chmod 755 "$building/usr/sbin/policy-rc.d"
  if [ -n "$packages" ]; then
    # shellcheck disable=SC2086
    run_in "$building" -- sh -c "DEBIAN_FRONTEND=noninteractive apt-get -q update >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends $packages >/dev/null &&
      apt-get clean" >&2
  fi
  printf '%s\n' "$packages" >"$building/$STAMP"
  mounted_below "$building" && die "mounts left below $building"
  mv -T "$building" "$root"
  trap - EXIT
  echo "$root"
}

# The mounts a root needs: proc, sys, dev, dev/pts, /tmp, then each BINDS[i] at TARGETS[i] (after /tmp, so a
# target under /tmp lands in the bound /tmp).
mount_into() {
  local root=$1 i
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  mountpoint -q "$root/sys" || mount -t sysfs sys "$root/sys"
  mountpoint -q "$root/dev" || mount --bind /dev "$root/dev"
  mountpoint -q "$root/dev/pts" || mount --bind /dev/pts "$root/dev/pts"
  mountpoint -q "$root/tmp" || mount --bind /tmp "$root/tmp"
  for i in "${!BINDS[@]}"; do
    mkdir -p "$root${TARGETS[$i]}"
    mountpoint -q "$root${TARGETS[$i]}" || mount --bind "${BINDS[$i]}" "$root${TARGETS[$i]}"
  done
}

BINDS=()
TARGETS=()
run_in() {
  local root=$1
  shift
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    case $1 in
      --bind) BINDS+=("$(readlink -f "$2")"); TARGETS+=("$(readlink -f "$2")"); shift 2 ;;
      --bind-at)
        case ${3:-} in /*) ;; *) die "run: --bind-at needs an absolute TARGET" 22 ;; esac
        BINDS+=("$(readlink -f "$2")"); TARGETS+=("$3"); shift 3 ;;
      --env) envs+=("$2"); shift 2 ;;
      *) die "run: unknown option $1" 22 ;;
    esac
  done
  [ "${1:-}" = -- ] && shift
  [ $# -gt 0 ] || die "run: no command" 22
  need_root
  local inner
  # The mounts are made inside the new namespace (propagation private): they never reach the caller's, and they
  # end with its last process. `run` execs (RUN_EXEC=exec): COMMAND then has this script's pid, so a signal sent
  # to it reaches COMMAND (unshare, env, bash and chroot each exec the next).
  inner=$(declare -f mount_into)
  ${RUN_EXEC:-} unshare --mount --propagation private -- env "${envs[@]}" bash -c "
    set -e
    $inner
    root=\$1; count=\$2; shift 2
    BINDS=(\"\${@:1:\$count}\"); shift \"\$count\"
    TARGETS=(\"\${@:1:\$count}\"); shift \"\$count\"
    mount_into \"\$root\"
    exec chroot \"\$root\" \"\$@\"
  " bash "$root" "${#BINDS[@]}" "${BINDS[@]}" "${TARGETS[@]}" "$@"
}

case ${1:-} in
  ensure) shift; [ $# -ge 1 ] || die "usage: $0 ensure CODENAME [--root DIR] [PACKAGE...]" 22; ensure "$@" ;;
  run) shift; [ $# -ge 1 ] || die "usage: $0 run ROOT [--bind DIR]... [--bind-at DIR TARGET]... -- COMMAND..." 22; RUN_EXEC=exec run_in "$@" ;;
  mount) need_root; mount_into "$(readlink -f "$2")" ;;
  umount) need_root; unmount_below "$2" ;;
  remove)
    need_root
    unmount_below "$2"
    if mounted_below "$2"; then die "$2 still has mounts below it (see /proc/mounts): not removed"; fi
    rm -rf --one-file-system "$2"
    ;;
  *) die "usage: $0 ensure|run|mount|umount|remove ... (see the comment at its top)" 22 ;;
esac
