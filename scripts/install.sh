#!/bin/sh
# Installs sst-tunnel for mysqld: puts wsrep_sst_rsync_tunnel where mysqld finds SST scripts (its own bin
# directory, /usr/bin on Debian; mysqld runs it through PATH, see sst-contract.md 1.1). The installed script is a
# copy of scripts/wsrep_sst_rsync_tunnel with this checkout's location and the Node binary written into it, so it
# keeps working whatever PATH mysqld runs with (systemd's PATH has no nvm or /opt Node).
#
#   scripts/install.sh [--bindir DIR]               install (builds dist/ first when neither build is there)
#   scripts/install.sh [--bindir DIR] --uninstall   remove our script; an original moved aside comes back
#
# An existing wsrep_sst_rsync_tunnel that is not ours (the original socat script) is moved to
# wsrep_sst_rsync_tunnel.orig on install and restored on uninstall. --uninstall refuses (exit 1) to remove a
# file that is not ours. Our copy is recognised by its INSTALLED_HOME= line and the word sst-tunnel.
set -eu
bindir=/usr/bin
action=install
while [ $# -gt 0 ]; do
  case "$1" in
    --bindir) [ $# -ge 2 ] || { echo "install.sh: --bindir needs a directory" >&2; exit 22; }; bindir=$2; shift 2 ;;
    --bindir=*) bindir=${1#--bindir=}; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument \"$1\"" >&2; exit 22 ;;
  esac
done
target="$bindir/wsrep_sst_rsync_tunnel"
ours() { grep -q '^INSTALLED_HOME=' "$1" 2>/dev/null && grep -q 'sst-tunnel' "$1" 2>/dev/null; }
# The Debian package's wrapper is our script too, but dpkg owns it (and diverted the original): replacing or
# removing it here would leave dpkg's records wrong and `apt-get remove` would restore nothing. Its mark is a
# filled-in INSTALLED_BIN= line (scripts/deb.mjs).
packaged() { grep -q '^INSTALLED_BIN=.' "$1" 2>/dev/null; }
if packaged "$target"; then
  echo "install.sh: $target belongs to the sst-tunnel Debian package; remove the package first (apt-get remove sst-tunnel), or install this checkout elsewhere with --bindir" >&2
  exit 1
fi

if [ "$action" = uninstall ]; then
  if [ ! -e "$target" ] && [ ! -L "$target" ]; then
    echo "Nothing to remove: $target does not exist"
  elif ours "$target"; then
    rm -f "$target"
    echo "Removed $target"
  else
    echo "install.sh: $target is not sst-tunnel's script; not removing it" >&2
    exit 1
  fi
  if [ -e "$target.orig" ] && [ ! -e "$target" ]; then
    mv "$target.orig" "$target"
    echo "Restored the original $target from $target.orig"
  fi
  exit 0
fi

[ -d "$bindir" ] || { echo "install.sh: --bindir \"$bindir\" is not a directory" >&2; exit 2; }
home=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
node=$(command -v node) || { echo "install.sh: node is not on PATH" >&2; exit 2; }
# Both paths end up inside single quotes in a sed replacement.
case "$home$node" in
  *"'"*|*'|'*|*'\'*) echo "install.sh: cannot install from \"$home\" with node \"$node\": a quote, | or \\ in the path" >&2; exit 22 ;;
esac
if [ ! -f "$home/dist/cli.js" ] && [ ! -f "$home/dist/bundle/sst-tunnel.mjs" ]; then
  (cd "$home" && npm run build >&2)
fi
# mariadb.service runs mysqld with ProtectHome=true and User=mysql: files under a home directory are invisible
# to it, and every directory on the way must be searchable by mysql.
for path in "$home" "$node"; do
  case "$path" in
    /home/*|/root/*|/run/user/*)
      echo "install.sh: warning: \"$path\" is under a home directory, which mariadb.service hides (ProtectHome=true); install sst-tunnel and Node elsewhere, e.g. /opt" >&2 ;;
  esac
done
if [ "$(id -u)" -eq 0 ] && id mysql >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then
  program=$home/dist/cli.js
  [ -f "$home/dist/bundle/sst-tunnel.mjs" ] && program=$home/dist/bundle/sst-tunnel.mjs
  runuser -u mysql -- sh -c 'test -r "$1" && test -x "$2"' sh "$program" "$node" ||
    echo "install.sh: warning: the mysql user cannot read \"$program\" or run \"$node\": mysqld's SST will fail" >&2
fi

if [ -e "$target" ] && ! ours "$target"; then
  echo "install.sh: $target exists and is not sst-tunnel's (the original socat script?); moving it to $target.orig" >&2
  mv "$target" "$target.orig"
fi
tmp="$target.tmp.$$"
sed -e "s|^INSTALLED_HOME=\$|INSTALLED_HOME='$home'|" -e "s|^INSTALLED_NODE=\$|INSTALLED_NODE='$node'|" \
  "$home/scripts/wsrep_sst_rsync_tunnel" > "$tmp"
chmod 0755 "$tmp"
mv -f "$tmp" "$target"
echo "Installed $target -> $home (node: $node)"
