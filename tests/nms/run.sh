#!/usr/bin/env bash
# Runs every NMS integration test (tests/nms/test_*.sh): the Prometheus snmp_exporter
# module and alert rules, the SNMPTT configuration and the Zabbix template, each against
# the real tool (Debian packages: scripts/deps.d/nms.list). BUILD names the build
# directory (default build/).
set -u
cd "$(dirname "$0")/../.." || exit 1
pass=0; fail=0
for t in tests/nms/test_*.sh; do
  echo "== $t"
  start=$SECONDS
  if timeout 300 bash "$t"; then
    pass=$((pass + 1)); echo "ok    $t ($((SECONDS - start)) s)"
  else
    fail=$((fail + 1)); echo "FAIL  $t ($((SECONDS - start)) s)"
  fi
done
echo "nms suites: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
