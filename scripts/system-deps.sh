#!/usr/bin/env bash
# Installs the Debian packages sst-tunnel's tests, demo and benchmarks use (run as root):
#   rsync            the transfer itself (required on every node)
#   openssl          test certificates (throwaway CAs), interop checks
#   socat stunnel4   peers in the original's shapes, for interop tests and benchmarks
#   mariadb-server mariadb-client galera-4   real end-to-end SSTs on a loopback Galera cluster
#   iproute2 procps  ss/ps for the fault tests; ip netns for faults-liveness
#   iptables         the dropped-link cases of faults-liveness (DROP on the SST port, in the test's own netns)
set -euo pipefail
packages=(rsync openssl socat stunnel4 mariadb-server mariadb-client galera-4 iproute2 procps iptables)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
  exit 2
fi
apt-get update -qq
# Package scripts must not start a MariaDB service of their own (tests run their own nodes).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system-deps: installed ${missing[*]}"
