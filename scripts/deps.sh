#!/usr/bin/env bash
# Installs the Debian packages sipha needs to build, test and run its demo.
# As root, missing ones are installed with apt-get; otherwise they are listed.
set -euo pipefail
pkgs=(build-essential pkg-config libsnmp-dev snmpd snmp snmptrapd libxml2-dev libxml2-utils
      libcurl4-openssl-dev libcmocka-dev libmnl-dev libyajl-dev smitools sip-tester iproute2 valgrind
      procps psmisc curl python3 nftables keepalived shellcheck)
# Parts list their own packages in scripts/deps.d/<part>.list (one name a line).
here=$(dirname "$0")
for f in "$here"/deps.d/*.list; do
  [ -e "$f" ] || continue
  while read -r p; do [ -n "$p" ] && [ "${p#\#}" = "$p" ] && pkgs+=("$p"); done < "$f"
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: run 'make deps' as root, or: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The snmpd/snmptrapd packages may start system daemons; sipha's tests and demo run
# their own on private ports, so the system ones are left as the package made them.
