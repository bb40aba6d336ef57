#!/bin/sh
# sst-node: entrypoint of the sst-tunnel Galera image (docker/Dockerfile).
#
#   sst-node [mariadbd [ARGS...]]   render this node's my.cnf from the environment, then exec mariadbd (as mysql)
#   sst-node certs NAME...          one-shot: a cluster CA in $CERTS_DIR unless there is one, and a certificate per
#                                   NAME (CN and DNS SAN = NAME) unless there is one
#   sst-node health                 exit 0 when this node is Synced (the image's HEALTHCHECK)
#   sst-node OTHER...               exec OTHER
#
# Environment of a node:
#   NODE_NAME        required; wsrep_node_name, and the name of its files in $CERTS_DIR (NAME-cert.pem, NAME-key.pem)
#   NODE_ADDRESS     the address peers and donors dial, default $NODE_NAME: a hostname, so that the donor checks the
#                    joiner's certificate against a DNS SAN
#   CLUSTER_MEMBERS  required; comma-separated addresses of every node (gcomm://...)
#   BOOTSTRAP        1 on the node that starts a new cluster: it initialises an empty datadir and starts with
#                    --wsrep-new-cluster, and later only when its grastate.dat says safe_to_bootstrap: 1
#   CLUSTER_NAME     wsrep_cluster_name, default sst-tunnel
#   CERTS_DIR        where ca.pem and the node's certificate and key are (read-only is fine), default /certs
#   SST_RLIMIT       [sst] rlimit: the most bytes per second this node sends as a donor (e.g. 80M), so that an SST
#                    leaves bandwidth to the cluster; unset = no limit
#   SST_TRANSFER     [sst] transfer of this node as a donor: auto (the default: it chooses from the link it
#                    measures), whole or delta
set -eu
CERTS_DIR=${CERTS_DIR:-/certs}
DATADIR=/var/lib/mysql
SST_DIR=/etc/mysql/sst
CNF=/etc/mysql/mariadb.conf.d/99-sst-tunnel.cnf

die() { echo "sst-node: $*" >&2; exit 2; }
# Values land unquoted in an option file and in gcomm://: allow only what a host name or address needs.
check() { printf '%s' "$2" | grep -Eq '^[][A-Za-z0-9._:,-]+$' || die "$1 \"$2\" has characters other than letters, digits and . _ : , [ ] -"; }

make_certs() {
  [ $# -gt 0 ] || die "certs: name at least one node"
  [ -f "$CERTS_DIR/ca.pem" ] || sst-tunnel certs init --dir "$CERTS_DIR" --cn "${CLUSTER_NAME:-sst-tunnel} CA"
  for name in "$@"; do
    [ -f "$CERTS_DIR/$name-cert.pem" ] || sst-tunnel certs node --dir "$CERTS_DIR" --name "$name"
  done
}

# This node's copies, owned by mysql: the shared directory stays root's (and may be mounted read-only).
install_certs() {
  for f in ca.pem "$NODE_NAME-cert.pem" "$NODE_NAME-key.pem"; do
    [ -f "$CERTS_DIR/$f" ] || die "\"$CERTS_DIR/$f\" is missing (run: sst-node certs $NODE_NAME)"
  done
  install -d -o mysql -g mysql -m 0700 "$SST_DIR"
  install -o mysql -g mysql -m 0644 "$CERTS_DIR/ca.pem" "$SST_DIR/ca.pem"
  install -o mysql -g mysql -m 0644 "$CERTS_DIR/$NODE_NAME-cert.pem" "$SST_DIR/cert.pem"
  install -o mysql -g mysql -m 0600 "$CERTS_DIR/$NODE_NAME-key.pem" "$SST_DIR/key.pem"
}

render_cnf() {
  cat > "$CNF" <<EOF
# Written by sst-node at container start from NODE_NAME, NODE_ADDRESS, CLUSTER_MEMBERS and CLUSTER_NAME.
[mysqld]
bind-address             = 0.0.0.0
binlog_format            = ROW
default_storage_engine   = InnoDB
innodb_autoinc_lock_mode = 2
wsrep_on                 = ON
wsrep_provider           = /usr/lib/galera/libgalera_smm.so
wsrep_cluster_name       = $CLUSTER_NAME
wsrep_cluster_address    = gcomm://$CLUSTER_MEMBERS
wsrep_node_name          = $NODE_NAME
wsrep_node_address       = $NODE_ADDRESS
wsrep_sst_method         = rsync_tunnel
# rsync_tunnel uses no database account. A placeholder keeps a MariaDB 11.6+ donor from creating a temporary
# superuser for each SST, an account that would travel in the copy to the joiner (contract-drift.md, MDEV-31809).
wsrep_sst_auth           = rsync_tunnel:none

[sst]
tca   = $SST_DIR/ca.pem
tcert = $SST_DIR/cert.pem
tkey  = $SST_DIR/key.pem
EOF
  if [ -n "${SST_RLIMIT:-}" ]; then echo "rlimit = $SST_RLIMIT" >> "$CNF"; fi
  if [ -n "${SST_TRANSFER:-}" ]; then echo "transfer = $SST_TRANSFER" >> "$CNF"; fi
}

start_node() {
  : "${NODE_NAME:?set NODE_NAME}" "${CLUSTER_MEMBERS:?set CLUSTER_MEMBERS (comma-separated node addresses)}"
  NODE_ADDRESS=${NODE_ADDRESS:-$NODE_NAME}
  CLUSTER_NAME=${CLUSTER_NAME:-sst-tunnel}
  for v in NODE_NAME NODE_ADDRESS CLUSTER_MEMBERS CLUSTER_NAME; do eval "check $v \"\$$v\""; done
  if [ -n "${SST_RLIMIT:-}" ]; then printf '%s' "$SST_RLIMIT" | grep -Eq '^[0-9.]+[KkMmGgTt]?$' || die "SST_RLIMIT \"$SST_RLIMIT\" is not bytes per second (e.g. 80M)"; fi
  case "${SST_TRANSFER:-auto}" in auto | whole | delta) ;; *) die "SST_TRANSFER \"$SST_TRANSFER\" is not auto, whole or delta" ;; esac
  install_certs
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  install -d -o mysql -g mysql -m 0750 "$DATADIR"
  new_cluster=
  if [ "${BOOTSTRAP:-0}" = 1 ]; then
    if [ ! -d "$DATADIR/mysql" ]; then
      # Before the Galera options exist: the system tables are made without wsrep.
      rm -f "$CNF"
      mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db >/dev/null
      new_cluster=--wsrep-new-cluster
    elif grep -Eq '^safe_to_bootstrap:[[:space:]]*1' "$DATADIR/grastate.dat" 2>/dev/null; then
      new_cluster=--wsrep-new-cluster
    fi
  fi
  render_cnf
  # An empty datadir on a non-bootstrap node is filled by an SST through wsrep_sst_rsync_tunnel.
  echo "sst-node: starting $NODE_NAME ($NODE_ADDRESS) in cluster $CLUSTER_NAME [$CLUSTER_MEMBERS]${new_cluster:+ as a new cluster}" >&2
  exec mariadbd --user=mysql $new_cluster "$@"
}

case "${1:-mariadbd}" in
  mariadbd) [ $# -gt 0 ] && shift; start_node "$@" ;;
  certs) shift; make_certs "$@" ;;
  health)
    mariadb -N -B -e "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | grep -q 'Synced' ;;
  *) exec "$@" ;;
esac
