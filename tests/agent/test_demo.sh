#!/usr/bin/env bash
# make run's demo (scripts/demo.sh) does what the README says: a pair comes up, the
# printed snmpset switches it over, the notifications are shown, and Ctrl-C leaves no
# process and no file behind.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok    $*"; }
ko() { fail=$((fail + 1)); echo "FAIL  $*"; }
out=$(mktemp)
trap 'kill -INT -- -$pid 2>/dev/null; sleep 1; kill -9 -- -$pid 2>/dev/null; rm -f "$out"' EXIT
setsid bash "$ROOT/scripts/demo.sh" > "$out" 2>&1 &
pid=$!
for _ in $(seq 150); do grep -q "sipha demo running" "$out" && break; sleep 0.2; done
grep -q "sipha demo running" "$out" && ok "demo starts" || { ko "demo starts"; cat "$out"; }
tmpdir=$(grep -o '/tmp/sipha-test\.[A-Za-z0-9]*' "$out" | head -n1)
set_cmd=$(grep -m1 "snmpset .*siphaInstAdminCommand.1 i switchover" "$out" | sed 's/^ *//')
get_cmd=$(grep -m1 "snmpget .*siphaInstRole.1 SIPHA-MIB::siphaInstRole.2" "$out" | sed 's/^ *//')
walk_cmd=$(grep -m1 "snmpwalk .*siphaInstanceTable" "$out" | sed 's/^ *//')
[ -n "$set_cmd" ] && [ -n "$get_cmd" ] && ok "demo prints the commands" || ko "demo prints the commands"
roles() { eval "$get_cmd -Oqv" 2>/dev/null | tr '\n' '/'; }
for _ in $(seq 50); do [ "$(roles)" = "primary/backup/" ] && break; sleep 0.2; done
[ "$(roles)" = "primary/backup/" ] && ok "instance 1 primary, 2 backup" || ko "roles: $(roles)"
eval "$walk_cmd" 2>/dev/null | grep -Eq 'siphaInstName.2 = STRING: "?sip-b' && ok "printed walk shows both instances" || ko "printed walk"
sleep 0.5
eval "$set_cmd" >/dev/null 2>&1 && ok "printed snmpset accepted" || ko "printed snmpset accepted"
for _ in $(seq 20); do [ "$(roles)" = "backup/primary/" ] && break; sleep 0.1; done
[ "$(roles)" = "backup/primary/" ] && ok "the other instance is primary within 2 s" || ko "after switchover: $(roles)"
# The same command on the other instance (now primary) switches back.
sleep 0.5
eval "${set_cmd/AdminCommand.1/AdminCommand.2}" >/dev/null 2>&1 && ok "snmpset on instance 2 accepted" || ko "snmpset on instance 2"
for _ in $(seq 20); do [ "$(roles)" = "primary/backup/" ] && break; sleep 0.1; done
[ "$(roles)" = "primary/backup/" ] && ok "switched back from instance 2 within 2 s" || ko "after switchover on 2: $(roles)"
for _ in $(seq 30); do grep -q "siphaSwitchover" "$out" && break; sleep 0.2; done
grep -q "^TRAP.*SIPHA-MIB::siphaSwitchover" "$out" && ok "notifications shown as they arrive" || ko "notifications shown"
kill -INT -- -"$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$pid" 2>/dev/null && ko "demo stops on Ctrl-C" || ok "demo stops on Ctrl-C"
sleep 0.5
left=$(pgrep -f "$tmpdir" | wc -l)
[ -n "$tmpdir" ] && [ "$left" -eq 0 ] && ok "no process left" || ko "$left processes left"
[ -n "$tmpdir" ] && [ ! -e "$tmpdir" ] && ok "no file left" || ko "files left in $tmpdir"
echo "test_demo: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
