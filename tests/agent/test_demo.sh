#!/usr/bin/env bash
# make run's demo (scripts/demo.sh) does what the README says: a pair comes up, the
# printed commands work in an operator's shell without a warning, the printed snmpset
# switches it over, the notifications are shown, and Ctrl-C ends it with status 0,
# leaving no process and no file behind. When it cannot start, it shows the end of
# its logs and keeps them.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok    $*"; }
ko() { fail=$((fail + 1)); echo "FAIL  $*"; }
out=$(mktemp)
trap 'kill -INT -- -$pid 2>/dev/null; sleep 1; kill -9 -- -$pid 2>/dev/null; rm -f "$out"' EXIT
# The demo runs in a process group of its own (setsid; its pid is the group's id), as
# a terminal runs it: with SIGINT not ignored (a background job of this script would
# start with it ignored, and a shell cannot trap a signal ignored at its start).
# Ctrl-C = SIGINT to the group.
DEMO=(setsid python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp("bash", ["bash"] + sys.argv[1:])' "$ROOT/scripts/demo.sh")
# ended SECONDS: the demo ($pid) has ended within SECONDS; its status in $rc.
ended() {
  local i
  for ((i = 0; i < $1 * 5; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 -- -"$pid" 2>/dev/null; wait "$pid"; rc=-1; return 1; fi
  wait "$pid"; rc=$?
}
"${DEMO[@]}" > "$out" 2>&1 &
pid=$!
for _ in $(seq 150); do grep -q "sipha demo running" "$out" && break; sleep 0.2; done
if grep -q "sipha demo running" "$out"; then ok "demo starts"; else ko "demo starts"; cat "$out"; fi
tmpdir=$(grep -o '/tmp/sipha-test\.[A-Za-z0-9]*' "$out" | head -n1)
set_cmd=$(grep -m1 "snmpset .*siphaInstAdminCommand.1 i switchover" "$out" | sed 's/^ *//')
get_cmd=$(grep -m1 "snmpget .*siphaInstRole.1 SIPHA-MIB::siphaInstRole.2" "$out" | sed 's/^ *//')
walk_cmd=$(grep -m1 "snmpwalk .*siphaInstanceTable" "$out" | sed 's/^ *//')
if [ -n "$set_cmd" ] && [ -n "$get_cmd" ]; then ok "demo prints the commands"; else ko "demo prints the commands"; fi
roles() { eval "$get_cmd -Oqv" 2>/dev/null | tr '\n' '/'; }
for _ in $(seq 50); do [ "$(roles)" = "primary/backup/" ] && break; sleep 0.2; done
if [ "$(roles)" = "primary/backup/" ]; then ok "instance 1 primary, 2 backup"; else ko "roles: $(roles)"; fi
if eval "$walk_cmd" 2>/dev/null | grep -Eq 'siphaInstName.2 = STRING: "?sip-b'; then ok "printed walk shows both instances"
else ko "printed walk"; fi
# In an operator's shell on a stock Debian (no MIBS/MIBDIRS, /etc/snmp/snmp.conf
# read): the printed commands answer without a warning line.
stock() { { env -u MIBS -u MIBDIRS -u MIBFILES -u SNMPCONFPATH bash -c "$1" >/dev/null; } 2>&1; } # stderr only
for c in "$walk_cmd" "$get_cmd"; do
  err=$(stock "$c")
  if [ -z "$err" ]; then ok "no warning from: ${c%% 127.0.0.1*} ..."; else ko "warnings from '$c': $(head -n 3 <<<"$err")"; fi
done
sleep 0.5
if eval "$set_cmd" >/dev/null 2>&1; then ok "printed snmpset accepted"; else ko "printed snmpset accepted"; fi
for _ in $(seq 20); do [ "$(roles)" = "backup/primary/" ] && break; sleep 0.1; done
if [ "$(roles)" = "backup/primary/" ]; then ok "the other instance is primary within 2 s"
else ko "after switchover: $(roles)"; fi
# The same command on the other instance (now primary) switches back.
sleep 0.5
if eval "${set_cmd/AdminCommand.1/AdminCommand.2}" >/dev/null 2>&1; then ok "snmpset on instance 2 accepted"
else ko "snmpset on instance 2"; fi
for _ in $(seq 20); do [ "$(roles)" = "primary/backup/" ] && break; sleep 0.1; done
if [ "$(roles)" = "primary/backup/" ]; then ok "switched back from instance 2 within 2 s"
else ko "after switchover on 2: $(roles)"; fi
for _ in $(seq 30); do grep -q "siphaSwitchover" "$out" && break; sleep 0.2; done
if grep -q "^TRAP.*SIPHA-MIB::siphaSwitchover" "$out"; then ok "notifications shown as they arrive"
else ko "notifications shown"; fi
kill -INT -- -"$pid"
if ended 10; then ok "demo stops on Ctrl-C"; else ko "demo stops on Ctrl-C"; fi
if [ "$rc" -eq 0 ] && grep -q "sipha demo stopped" "$out"; then ok "Ctrl-C ends the demo with status 0"
else ko "Ctrl-C: exit status $rc, $(tail -n 3 "$out")"; fi
sleep 0.5
left=$(pgrep -f "$tmpdir" | wc -l)
if [ -n "$tmpdir" ] && [ "$left" -eq 0 ]; then ok "no process left"; else ko "$left processes left"; fi
if [ -n "$tmpdir" ] && [ ! -e "$tmpdir" ]; then ok "no file left"; else ko "files left in $tmpdir"; fi

# A demo that cannot start (here an agent that exits at once): the end of every log
# it started on the terminal, the logs kept where it says, nothing left running.
stub=$(mktemp -d)
printf '#!/bin/sh\necho "stub agent: cannot start" >&2\nexit 1\n' > "$stub/sipha-agent"
chmod 755 "$stub/sipha-agent"
BUILD=$stub "${DEMO[@]}" > "$out" 2>&1 &
pid=$!
ended 60 || ko "failed start: the demo does not end"
kept=$(sed -n 's/^demo: logs kept in \([^ ]*\) .*/\1/p' "$out")
if [ "$rc" -ne 0 ] && grep -q "^demo: instance 1 did not register" "$out"; then ok "failed start: says what failed, non-zero exit"
else ko "failed start: exit $rc, $(head -n 3 "$out")"; fi
if grep -q "^--- last lines of .*/agent-1.log" "$out" && grep -q "stub agent: cannot start" "$out" \
  && grep -q "^--- last lines of .*/snmpd.log" "$out"; then ok "failed start: the end of each log shown"
else ko "failed start: logs not shown"; fi
if [ -n "$kept" ] && [ -s "$kept/agent-1.log" ] && [ -s "$kept/snmpd.log" ]; then ok "failed start: logs kept in $kept"
else ko "failed start: logs not kept ($kept)"; fi
sleep 0.5
if [ -n "$kept" ] && [ "$(pgrep -f "$kept" | wc -l)" -eq 0 ]; then ok "failed start: no process left"
else ko "failed start: processes left"; fi
[ -n "$kept" ] && rm -rf "$kept"
rm -rf "$stub"
echo "test_demo: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
