#!/usr/bin/env bash
# Puts the IETF base MIBs (SNMPv2-SMI, SNMPv2-TC, SNMPv2-CONF, INET-ADDRESS-MIB, ...)
# into DIR. Debian ships them only in non-free snmp-mibs-downloader; the erlang-snmp
# package carries them as text, so its .deb is downloaded and unpacked (Erlang itself
# is not installed). Names get the .txt suffix Net-SNMP and smilint look for.
set -euo pipefail
dir=${1:-build/ietf-mibs}
[ -f "$dir/SNMPv2-SMI.txt" ] && [ -f "$dir/INET-ADDRESS-MIB.txt" ] && exit 0
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
deb=$(compgen -G '/var/cache/apt/archives/erlang-snmp_*.deb' | head -n1 || true)
if [ -z "$deb" ]; then
  (cd "$work" && apt-get download erlang-snmp >/dev/null 2>&1) || {
    [ "$(id -u)" -eq 0 ] && apt-get update -qq && (cd "$work" && apt-get download erlang-snmp >/dev/null)
  }
  deb=$(compgen -G "$work/erlang-snmp_*.deb" | head -n1)
fi
dpkg-deb -x "$deb" "$work/x"
n=0
for f in "$work"/x/usr/lib/erlang/lib/snmp-*/mibs/*.mib; do
  b=$(basename "$f" .mib)
  case "$b" in OTP-*) continue ;; esac
  cp "$f" "$dir/$b.txt"; n=$((n + 1))
done
echo "ietf-mibs: $n base MIBs in $dir"
