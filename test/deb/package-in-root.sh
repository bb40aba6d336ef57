#!/usr/bin/env bash
# The Debian package on a clean database host: a cached debootstrap root of SUITE (mariadb-server and galera-4 of
# that release, no Node), used through an overlay so the cached root is never changed. In its own mount, network
# and PID namespaces (nothing it starts outlives it; its mounts vanish with it; 127.0.0.90-91 are its own):
#   1. an original /usr/bin/wsrep_sst_rsync_tunnel is put in place (as a hand or RHEL-style install leaves one);
#   2. apt-get install ./sst-tunnel_*.deb: the original is diverted, ours is in /usr/bin;
#   3. two mariadbd nodes from the root, certificates made by the installed sst-tunnel, node2 joins node1 by a real
#      Galera SST through the installed /usr/bin/wsrep_sst_rsync_tunnel (both roles), and has node1's rows;
#   4. the same package installed again (the upgrade path of preinst/postrm keeps the diversion);
#   5. apt-get remove: the original is back, byte for byte; purge leaves no diversion and none of our files.
#
#   test/deb/package-in-root.sh SUITE DEB        (as root; prints "package-in-root SUITE: ok" at the end)
set -euo pipefail
suite=${1:?usage: package-in-root.sh SUITE DEB}
deb=$(readlink -f "${2:?usage: package-in-root.sh SUITE DEB}")
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)

if [ "${SST_TUNNEL_IN_NS:-}" != 1 ]; then
  # shellcheck source=root.sh
  . "$here/root.sh"
  lower=$(ensure_root "$suite")
  work=$(mktemp -d /var/tmp/sst-tunnel-pkg-"$suite".XXXXXX)
  status=0
  SST_TUNNEL_IN_NS=1 SST_TUNNEL_LOWER=$lower SST_TUNNEL_WORK=$work \
    unshare --mount --net --pid --fork --kill-child --mount-proc "$0" "$suite" "$deb" || status=$?
  # The namespace is gone, and its mounts with it; never rm -rf across a mount that is still there.
  if awk -v d="$work" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    echo "package-in-root: something is still mounted under $work; leaving it" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
fi

# ---- inside the namespaces
lower=$SST_TUNNEL_LOWER
work=$SST_TUNNEL_WORK
root=$work/merged
mount --make-rprivate /
mkdir -p "$work/upper" "$work/ovl" "$root"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$work/upper,workdir=$work/ovl" "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount -t tmpfs tmpfs "$root/run"
ip link set lo up
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
say() { echo "[$suite] $*"; }
fail() {
  echo "[$suite] FAILED: $*" >&2
  for log in "$root"/srv/node*/error.log "$work"/mariadbd*.out; do
    if [ -s "$log" ]; then echo "--- $log" >&2; tail -n 60 "$log" >&2; fi
  done
  exit 1
}

say "root: $(in_root cat /etc/debian_version), $(in_root mariadbd --version)"
if in_root sh -c 'command -v node || command -v nodejs' >/dev/null; then fail "the root has Node; it must not"; fi

# 1. An original script, with bytes a rewrite would not keep (no final newline, a tab, a high byte).
original=$work/original
printf '#!/bin/sh\n# original wsrep_sst_rsync_tunnel (socat)\t%s\n\377exit 1' "$suite-$$" > "$original"
install -m 0755 "$original" "$root/usr/bin/wsrep_sst_rsync_tunnel"

# 2. Install. rsync is already in these roots (mariadb-server needs it), so apt needs no network here.
cp "$deb" "$root/tmp/"
in_root apt-get install -y -o Dpkg::Use-Pty=0 "/tmp/$(basename "$deb")" > "$work/apt-install.log" 2>&1 ||
  { cat "$work/apt-install.log" >&2; fail "apt-get install"; }
# (Whole outputs captured, then searched: grep -q in a pipe would end dpkg-divert early, a failure under pipefail.)
diversions=$(in_root dpkg-divert --list)
grep -q 'diversion of /usr/bin/wsrep_sst_rsync_tunnel to /usr/bin/wsrep_sst_rsync_tunnel.distrib by sst-tunnel' <<< "$diversions" ||
  fail "no diversion after install: $diversions"
cmp "$original" "$root/usr/bin/wsrep_sst_rsync_tunnel.distrib" || fail "the diverted original differs"
grep -q '^INSTALLED_BIN=/usr/libexec/sst-tunnel/sst-tunnel$' "$root/usr/bin/wsrep_sst_rsync_tunnel" ||
  fail "/usr/bin/wsrep_sst_rsync_tunnel is not the package's wrapper"
say "installed: $(in_root sst-tunnel --version 2>&1), original diverted to wsrep_sst_rsync_tunnel.distrib"

# 3. A real Galera SST through the installed method, as user mysql (mariadb.service's user).
in_root sst-tunnel certs init --dir /srv/pki > /dev/null 2>&1 || fail "sst-tunnel certs init"
for n in 1 2; do
  in_root sst-tunnel certs node --dir /srv/pki --name "127.0.0.9$((n - 1))" > /dev/null 2>&1 || fail "certs node $n"
done
in_root chown -R mysql:mysql /srv/pki
node_cnf() { # n address peers
  cat <<CNF
[mysqld]
user=mysql
datadir=/srv/node$1/data
socket=/srv/node$1/mysqld.sock
pid-file=/srv/node$1/mysqld.pid
log-error=/srv/node$1/error.log
bind-address=$2
port=3306
skip-name-resolve
performance_schema=OFF
binlog_format=ROW
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=128M
innodb_log_file_size=48M
wsrep_on=ON
wsrep_provider=/usr/lib/galera/libgalera_smm.so
wsrep_cluster_name=sst-tunnel-deb
wsrep_cluster_address=gcomm://$3
wsrep_node_name=node$1
wsrep_node_address=$2
wsrep_provider_options="gmcast.listen_addr=tcp://$2:4567;ist.recv_addr=$2:4568;gcache.size=32M"
wsrep_sst_receive_address=$2:4444
wsrep_sst_method=rsync_tunnel
wsrep_sst_donor=node1
[sst]
tca=/srv/pki/ca.pem
tcert=/srv/pki/$2-cert.pem
tkey=/srv/pki/$2-key.pem
[client]
socket=/srv/node$1/mysqld.sock
user=root
CNF
}
for n in 1 2; do
  mkdir -p "$root/srv/node$n/data"
  node_cnf "$n" "127.0.0.9$((n - 1))" "$([ "$n" = 1 ] && echo '' || echo '127.0.0.90:4567')" > "$root/srv/node$n/my.cnf"
  in_root chown -R mysql:mysql "/srv/node$n"
done
in_root mariadb-install-db --defaults-file=/srv/node1/my.cnf --user=mysql --auth-root-authentication-method=normal --skip-name-resolve --force \
  > "$work/install-db.log" 2>&1 || { cat "$work/install-db.log" >&2; fail "mariadb-install-db"; }

start_node() { # n [extra args]
  local n=$1
  shift
  # setsid: mariadbd in its own session; the PID namespace still ends it with this script.
  in_root setsid mariadbd --defaults-file="/srv/node$n/my.cnf" "$@" < /dev/null > "$work/mariadbd$n.out" 2>&1 &
}
wait_synced() { # n seconds
  local n=$1 end=$((SECONDS + $2)) state=''
  while [ $SECONDS -lt "$end" ]; do
    state=$(in_root mariadb --defaults-file="/srv/node$n/my.cnf" -N -B \
      -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2) || true
    [ "$state" = Synced ] && return 0
    sleep 1
  done
  fail "node$n is not Synced after $2 s (state: ${state:-none})"
}
start_node 1 --wsrep-new-cluster
wait_synced 1 120
in_root mariadb --defaults-file=/srv/node1/my.cnf -e \
  "CREATE DATABASE deb; CREATE TABLE deb.t (id INT PRIMARY KEY, v VARCHAR(64)); INSERT INTO deb.t VALUES (1, '$suite'), (2, REPEAT('x', 64));" ||
  fail "writing to node1"
t0=$SECONDS
start_node 2
wait_synced 2 300
say "node2 joined by SST in $((SECONDS - t0)) s"
rows=$(in_root mariadb --defaults-file=/srv/node2/my.cnf -N -B -e "SELECT COUNT(*), MIN(v) FROM deb.t") ||
  fail "reading node2"
[ "$rows" = "2	$suite" ] || fail "node2 has \"$rows\", not node1's rows"
grep -q "WSREP: Running: 'wsrep_sst_rsync_tunnel --role 'joiner'" "$root/srv/node2/error.log" ||
  fail "node2 did not run wsrep_sst_rsync_tunnel as joiner"
grep -q 'SST joiner finished' "$root/srv/node2/error.log" || fail "no joiner summary in node2's log"
grep -q 'SST donor finished' "$root/srv/node1/error.log" || fail "no donor summary in node1's log"
say "$(grep -h 'SST joiner finished' "$root/srv/node2/error.log" | tail -n 1 | sed 's/.*SST joiner finished/SST joiner finished/')"
for n in 2 1; do
  in_root mariadb-admin --defaults-file="/srv/node$n/my.cnf" shutdown > /dev/null 2>&1 || true
done
for _ in $(seq 60); do pgrep -x mariadbd > /dev/null || break; sleep 1; done
pgrep -x mariadbd > /dev/null && fail "mariadbd did not stop"

# 4. The same version again: preinst upgrade and postrm upgrade; the diversion and the original stay.
in_root dpkg -i "/tmp/$(basename "$deb")" > "$work/reinstall.log" 2>&1 || { cat "$work/reinstall.log" >&2; fail "reinstall"; }
cmp "$original" "$root/usr/bin/wsrep_sst_rsync_tunnel.distrib" || fail "the original changed on upgrade"

# 5. Remove: the original comes back byte for byte; purge: nothing of ours, no diversion.
in_root apt-get remove -y -o Dpkg::Use-Pty=0 sst-tunnel > "$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; fail "remove"; }
cmp "$original" "$root/usr/bin/wsrep_sst_rsync_tunnel" || fail "remove did not restore the original byte for byte"
[ ! -e "$root/usr/bin/wsrep_sst_rsync_tunnel.distrib" ] || fail ".distrib left after remove"
diversions=$(in_root dpkg-divert --list)
grep -q sst-tunnel <<< "$diversions" && fail "a diversion is left after remove: $diversions"
in_root apt-get purge -y -o Dpkg::Use-Pty=0 sst-tunnel > "$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "purge"; }
cmp "$original" "$root/usr/bin/wsrep_sst_rsync_tunnel" || fail "purge changed the original"
for f in /usr/bin/sst-tunnel /usr/libexec/sst-tunnel /usr/share/doc/sst-tunnel; do
  [ ! -e "$root$f" ] || fail "$f is left after purge"
done
say "removed: the original wsrep_sst_rsync_tunnel is back byte for byte; purged: nothing left"
echo "package-in-root $suite: ok"
