#!/usr/bin/env bash
# Runs the host-level tests: network namespaces joined by veth pairs (both ends inside
# test namespaces), one snmpd + sipha-agent per "host", real faults. Needs root.
set -u
cd "$(dirname "$0")/.." || exit 1
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: host tests need root (network namespaces)"
  echo "host suites: 0 passed, 0 failed, 1 skipped"
  exit 0
fi
pass=0; fail=0
for t in tests/hosts/test_*.sh; do
  [ -f "$t" ] || continue
  echo "== $t"
  if timeout 600 bash "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL  $t"; fi
done
echo "host suites: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
