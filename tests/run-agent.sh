#!/usr/bin/env bash
# Runs every agent-level test (real snmpd, snmptrapd and Net-SNMP tools on loopback).
set -u
cd "$(dirname "$0")/.." || exit 1
pass=0; fail=0
for t in tests/agent/test_*.sh; do
  echo "== $t"
  if timeout 300 bash "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL  $t"; fi
done
echo "agent suites: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
