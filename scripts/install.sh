#!/bin/sh
# Installs sst-tunnel for mysqld: builds it if needed and puts wsrep_sst_rsync_tunnel where mysqld finds SST
# scripts (its own bin directory, /usr/bin on Debian). The installed script is a copy of
# scripts/wsrep_sst_rsync_tunnel with this checkout's location and the Node binary written into it, so it keeps
# working whatever PATH mysqld runs with (systemd's PATH may not contain an nvm or /opt Node).
#
#   scripts/install.sh [--bindir DIR] [--uninstall]
set -eu
bindir=/usr/bin
action=install
while [ $# -gt 0 ]; do
  case "$1" in
    --bindir) bindir=$2; shift 2 ;;
    --bindir=*) bindir=${1#--bindir=}; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument \"$1\"" >&2; exit 22 ;;
  esac
done
target="$bindir/wsrep_sst_rsync_tunnel"
if [ "$action" = uninstall ]; then
  if [ -f "$target" ] && grep -q 'sst-tunnel' "$target"; then
    rm -f "$target"; echo "Removed $target"
  else
    echo "Nothing to remove: $target is absent or not ours" >&2
  fi
  exit 0
fi
home=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
node=$(command -v node) || { echo "install.sh: node is not on PATH" >&2; exit 2; }
if [ ! -f "$home/dist/cli.js" ]; then
  (cd "$home" && npm run build >&2)
fi
if [ -e "$target" ] && ! grep -q 'sst-tunnel' "$target"; then
  echo "install.sh: $target exists and is not sst-tunnel's (the original socat script?); moving it to $target.orig" >&2
  mv "$target" "$target.orig"
fi
tmp="$target.tmp.$$"
sed -e "s|^INSTALLED_HOME=\$|INSTALLED_HOME='$home'|" -e "s|^INSTALLED_NODE=\$|INSTALLED_NODE='$node'|" \
  "$home/scripts/wsrep_sst_rsync_tunnel" > "$tmp"
chmod 0755 "$tmp"
mv "$tmp" "$target"
echo "Installed $target -> $home (node: $node)"
