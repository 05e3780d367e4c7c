#!/usr/bin/env bash
# The HA link transport (agent/halink.c) against a real snmpd + sipha-agent on loopback.
# tests/agent/halink_driver.c (built here with gcc) plays "instance 1": it runs the link
# on the agent's loop towards instance 2 and prints every callback with a timestamp
# and a TICK every 50 ms, so a blocked loop shows as a gap between TICKs. Checked:
#   - engine discovery (the discovered ID is the snmpd's snmpEngineID), then
#     heartbeats carrying instance 2's role, status, priority and epoch;
#   - contact pull: instance 2's 41 contacts (2 GETBULKs), then "done, full copy";
#     a contact added later (SIGHUP reload) arrives in an incremental pass;
#   - a link message ("release") SET is accepted: siphaInstHaLinkMessage.2 reads it;
#   - the peer's snmpd frozen (SIGSTOP) then replaced by a new one with a new engine
#     ID: the link rediscovers and heartbeats resume, the loop never stalls;
#   - kill -9 of the agent: on_lost ("peer agent not registered") within 1 s;
#     the agent back: heartbeats and a new full contact copy;
#   - a peer where nothing listens, and one that never answers: no stall (no TICK gap
#     over 150 ms, HALINK_MAX_GAP_MS), no state;
#   - wrong password: refused by the peer, reported, no state, no stall;
#   - credentials readable by others (0644), a host name as address: refused at open.
source "$(dirname "$0")/lib.sh"
NAME=test_halink
for tool in gcc python3 snmpd snmpget; do
  command -v "$tool" >/dev/null || { echo "FAIL  $NAME: '$tool' is missing (make deps)"; exit 1; }
done
t_setup
t_start_snmpd || exit 1

now_ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }
count() { grep -cE -- "$2" "$1" 2>/dev/null || true; }
# first_after FILE T0 REGEX — time (ms) of the first matching line at or after T0
first_after() { awk -v t="$2" -v re="$3" '$1 >= t && $0 ~ re { print $1; exit }' "$1"; }
# last_match FILE REGEX — the last matching line
last_match() { grep -E -- "$2" "$1" | tail -n 1; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
# wait_after SECONDS FILE T0 REGEX — until a line at or after T0 matches
wait_after() {
  local end=$((SECONDS + $1))
  while [ "$SECONDS" -le "$end" ]; do
    [ -n "$(first_after "$2" "$3" "$4")" ] && return 0
    sleep 0.05
  done
  return 1
}
# max_tick_gap FILE — the largest gap (ms) between consecutive TICK lines
# A blocked loop shows as a gap of a whole request timeout (1 s); 150 ms leaves room
# for scheduling. HALINK_MAX_GAP_MS raises it for sanitizer runs on a busy machine.
MAX_GAP=${HALINK_MAX_GAP_MS:-150}
max_tick_gap() { awk '$2 == "TICK" { if (p) { g = $1 - p; if (g > m) m = g } p = $1 } END { print m + 0 }' "$1"; }
ticks() { count "$1" ' TICK$'; }

# ------------------------------------------------------------------ build the driver
# HALINK_DRIVER_CFLAGS=-fsanitize=address,undefined runs the driver under the sanitizers
CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g ${HALINK_DRIVER_CFLAGS:-}"
INC="-I$ROOT/engine -I$ROOT/agent -I$ROOT/trapgen -I$ROOT/mib"
# shellcheck disable=SC2086
if ! gcc $CFLAGS $INC -o "$T/halink_driver" "$ROOT/tests/agent/halink_driver.c" \
     "$ROOT"/agent/halink.c "$ROOT"/agent/halink_cred.c "$ROOT"/agent/halink_discover.c \
     "$ROOT"/agent/halink_msg.c "$ROOT"/agent/loop.c "$ROOT"/agent/errbuf.c "$ROOT"/agent/mib_oid.c -lnetsnmpagent -lnetsnmp 2>"$T/build.log"; then
  cat "$T/build.log"
  echo "FAIL  $NAME: halink_driver does not build"
  exit 1
fi
DRIVER=$T/halink_driver

# cred FILE MODE AUTH-PASS — the admin user of lib.sh's snmpd
cred() {
  umask 077
  printf '# HA link user\nuser %s\nauth-protocol SHA-256\nauth-password %s\npriv-protocol AES\npriv-password %s\n' \
    "$ADMIN_USER" "$3" "$ADMIN_PRIV" > "$1"
  chmod "$2" "$1"
}
cred "$T/link.cred" 600 "$ADMIN_AUTH"
cred "$T/agent2.cred" 600 "$ADMIN_AUTH"
PEER="udp:127.0.0.1:$SNMP_PORT"

# Instance 2 has a peer (instance 1, i.e. the driver's side) so it accepts link messages,
# and 40 contacts besides lib.sh's one: more than one GETBULK (32 rows) to pull.
extra="<peer name=\"sip-a\" index=\"1\" address=\"$PEER\" credentials=\"$T/agent2.cred\"/>"
for i in $(seq 1 40); do
  extra+="<contact aor=\"sip:u$i@example.com\" uri=\"sip:u$i@192.0.2.$i:5060\" expires=\"$((600 + i))\"/>"
done
t_instance_conf 2 sip-b primary "$extra"
t_check "agent 2 registers" t_start_agent 2 || { tail "$T/agent-2.log"; exit 1; }

EV=$T/events
"$DRIVER" --peer "$PEER" --index 2 --cred "$T/link.cred" --tick 50 --send release --pull \
  >"$EV" 2>"$T/driver.err" &
DRV=$!
T_PIDS+=("$DRV")

# ------------------------------------------------------------------ discovery, heartbeat
t_check "driver opens the link" wait_after 5 "$EV" 0 ' READY$'
t_check "peer engine discovered" wait_after 5 "$EV" 0 ' LOG .*: engine [0-9a-f]+ '
engine_id() { sed -n "s/^oldEngineID 0x//p" "$SNMP_PERSISTENT_DIR/snmpd.conf" | tr "A-F" "a-f"; }
want_id=$(engine_id)
got_id=$(last_match "$EV" ' LOG .*: engine ' | sed -n 's/.*engine \([0-9a-f]*\) .*/\1/p')
t_eq "discovered engine ID is the snmpd's snmpEngineID" "$want_id" "$got_id"
t_check "heartbeats arrive" wait_after 5 "$EV" 0 ' STATE '
sleep 0.6
st=$(last_match "$EV" ' STATE ')
V2() { t_get_v2 -Oe "SIPHA-MIB::$1.2"; }
t_eq "heartbeat: index" 2 "$(field "$st" index)"
t_eq "heartbeat: role = siphaInstRole.2" "$(V2 siphaInstRole)" "$(field "$st" role)"
t_eq "heartbeat: status = siphaInstStatus.2" "$(V2 siphaInstStatus)" "$(field "$st" status)"
t_eq "heartbeat: epoch = siphaInstEpoch.2" "$(V2 siphaInstEpoch)" "$(field "$st" epoch)"
t_eq "heartbeat: priority = siphaInstPriority.2" "$(V2 siphaInstPriority)" "$(field "$st" priority)"
t_eq "heartbeat: sip-pass-check option seen" 1 "$(( $(field "$st" options) & 1 ))"
n1=$(count "$EV" ' STATE '); sleep 1; n2=$(count "$EV" ' STATE ')
if [ $((n2 - n1)) -ge 8 ] && [ $((n2 - n1)) -le 12 ]; then t_pass "about 10 heartbeats a second, the default interval ($((n2 - n1)))"
else t_fail "about 10 heartbeats a second (got $((n2 - n1)))"; fi

# ------------------------------------------------------------------ contacts
t_check "contact pull: instance 2's contact arrives" \
  grep -qE ' CONTACT row=[0-9]+ aor=sip:1002@example.com uri=sip:1002@127.0.0.1:5082 expiry=[0-9]+$' "$EV"
t_check "contact pull: a contact with its expiry" \
  grep -qE ' CONTACT row=[0-9]+ aor=sip:u40@example.com uri=sip:u40@192.0.2.40:5060 expiry=(640|639|638)$' "$EV"
t_check "contact pull: full copy reported" grep -q ' CONTACTS_DONE full=1$' "$EV"
first_done=$(grep -n ' CONTACTS_DONE full=1$' "$EV" | head -n 1 | cut -d: -f1)
t_eq "contact pull: all 41 contacts before the first full copy ends" 41 \
  "$(head -n "$first_done" "$EV" | grep -c ' CONTACT ')"
t_eq "contact pull: rows in increasing order, none twice" "" \
  "$(head -n "$first_done" "$EV" | sed -n 's/.* CONTACT row=\([0-9]*\) .*/\1/p' | awk 'p != "" && $1 <= p { print "bad" } { p = $1 }')"
t_eq "contact pull: incremental passes stay quiet" 1 "$(count "$EV" ' CONTACTS_DONE ')"

# Incremental: the agent reloads its file with one contact more; the new row comes
# without a full copy (every new or changed contact gets a higher row index).
t0=$(now_ms)
t_instance_conf 2 sip-b primary "$extra<contact aor=\"sip:late@example.com\" uri=\"sip:late@192.0.2.99:5060\" expires=\"900\"/>"
kill -HUP "$AGENT_PID_2"
t_check "contact pull: a contact added later arrives" \
  wait_after 5 "$EV" "$t0" ' CONTACT row=[0-9]+ aor=sip:late@example.com uri=sip:late@192.0.2.99:5060 expiry=(900|899|898)$'
t_check "contact pull: ... in an incremental pass" wait_after 3 "$EV" "$t0" ' CONTACTS_DONE full=0$'
t_eq "contact pull: ... not a full copy" "" "$(first_after "$EV" "$t0" ' CONTACTS_DONE full=1$')"

# ------------------------------------------------------------------ link message
t0=$(now_ms)
kill -USR2 "$DRV"
t_check "link message queued" wait_after 3 "$EV" "$t0" ' SEND msg=release queued=1$'
t_check "link message acknowledged" wait_after 3 "$EV" "$t0" ' SENT ok=1 msg=release$'
t_eq "siphaInstHaLinkMessage.2 reads back release" '"release"' "$(t_get_v2 SIPHA-MIB::siphaInstHaLinkMessage.2)"

# ------------------------------------------------------------------ peer snmpd frozen
t0=$(now_ms)
kill -STOP "$SNMPD_PID"
sleep 1.5
kill -CONT "$SNMPD_PID"
t_check "snmpd frozen 1.5 s: heartbeats resume" wait_after 10 "$EV" "$((t0 + 1500))" ' STATE '

# ------------------------------------------------------------------ peer snmpd replaced
# A new snmpd on the same port with fresh persistent state: a new engine ID. The agent
# reconnects to it (ping interval 1 s); the link must notice and rediscover.
t0=$(now_ms)
kill "$SNMPD_PID"; wait "$SNMPD_PID" 2>/dev/null
rm -rf "$SNMP_PERSISTENT_DIR"; mkdir -p "$SNMP_PERSISTENT_DIR"
rm -f "$AGENTX"
t_start_snmpd || exit 1
t_check "snmpd replaced: link rediscovers" wait_after 15 "$EV" "$t0" ' LOG .*(reconnecting|discovering the peer)'
t_check "snmpd replaced: new engine found" wait_after 15 "$EV" "$t0" ' LOG .*: engine [0-9a-f]+ '
new_id=$(engine_id)
got_id=$(last_match "$EV" ' LOG .*: engine ' | sed -n 's/.*engine \([0-9a-f]*\) .*/\1/p')
t_eq "snmpd replaced: engine ID is the new snmpd's" "$new_id" "$got_id"
if [ "$new_id" != "$want_id" ]; then t_pass "snmpd replaced: engine ID changed"; else t_fail "snmpd replaced: engine ID changed"; fi
t_check "snmpd replaced: heartbeats resume" wait_after 15 "$EV" "$t0" ' STATE '

# ------------------------------------------------------------------ kill -9 of the agent
sleep 0.5
t0=$(now_ms)
{ kill -9 "$AGENT_PID_2"; wait "$AGENT_PID_2"; } 2>/dev/null
wait_after 3 "$EV" "$t0" ' LOST why=peer agent not registered$'
tl=$(first_after "$EV" "$t0" ' LOST ')
if [ -n "$tl" ] && [ $((tl - t0)) -le 1000 ]; then t_pass "kill -9: on_lost within 1 s ($((tl - t0)) ms)"
else t_fail "kill -9: on_lost within 1 s (t0=$t0 lost=${tl:-never})"; fi
sleep 0.6
t_eq "kill -9: on_lost reported once" 1 "$(count <(awk -v t="$t0" '$1 >= t' "$EV") ' LOST ')"

t0=$(now_ms)
t_check "agent 2 back" t_start_agent 2
t_check "agent back: heartbeats resume" wait_after 5 "$EV" "$t0" ' STATE '
t_check "agent back: a new full contact copy" wait_after 5 "$EV" "$t0" ' CONTACTS_DONE full=1$'

# ------------------------------------------------------------------ the driver's loop
kill -USR1 "$DRV"; sleep 0.3
stats=$(last_match "$EV" ' STATS ')
t_check "stats: some heartbeats timed out while snmpd was frozen" test "$(field "$stats" hb_timeouts)" -ge 1
t_check "stats: two discoveries" test "$(field "$stats" discoveries)" -ge 2
t_check "stats: message counted" test "$(field "$stats" msgs_ok)" -eq 1
gap=$(max_tick_gap "$EV")
if [ "$gap" -le "$MAX_GAP" ]; then t_pass "loop never stalled over the whole run (max TICK gap $gap ms)"
else t_fail "loop never stalled over the whole run (max TICK gap $gap ms)"; fi
kill "$DRV"; wait "$DRV"; rc=$?
t_eq "driver exits cleanly on SIGTERM" 0 "$rc"

# ------------------------------------------------------------------ nobody there
# run_driver NAME SECONDS ARGS... — runs a driver for SECONDS, output in $T/NAME
run_driver() {
  local name=$1 secs=$2; shift 2
  "$DRIVER" --tick 50 "$@" >"$T/$name" 2>"$T/$name.err" &
  local pid=$!
  T_PIDS+=("$pid")
  sleep "$secs"
  kill -USR1 "$pid"; sleep 0.2
  kill "$pid"; wait "$pid"
}
check_quiet_run() {
  local name=$1 what=$2 gap n
  gap=$(max_tick_gap "$T/$name"); n=$(ticks "$T/$name")
  if [ "$gap" -le "$MAX_GAP" ] && [ "$n" -ge 30 ]; then t_pass "$what: no stall ($n ticks, max gap $gap ms)"
  else t_fail "$what: no stall ($n ticks, max gap $gap ms)"; fi
  t_eq "$what: no state, no loss reported" 0 "$(count "$T/$name" ' (STATE|LOST) ')"
}
closed_port=$(t_free_port udp)
run_driver closed 2 --peer "udp:127.0.0.1:$closed_port" --index 2 --cred "$T/link.cred" --send release
check_quiet_run closed "nothing listens"
st=$(last_match "$T/closed" ' STATS ')
t_check "nothing listens: discovery keeps trying" test "$(field "$st" disc_sent)" -ge 5
t_eq "nothing listens: not connected" 0 "$(field "$st" connected)"

# A socket that takes datagrams and never answers (no ICMP either).
python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0))
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$T/silent.port" &
T_PIDS+=("$!")
t_wait 5 test -s "$T/silent.port"
run_driver silent 2 --peer "udp:127.0.0.1:$(cat "$T/silent.port")" --index 2 --cred "$T/link.cred"
check_quiet_run silent "peer never answers"

# ------------------------------------------------------------------ wrong password
# agent 2 is up again: a wrong password is refused by snmpd (wrongDigest report).
cred "$T/wrong.cred" 600 "not-the-admin-password"
run_driver wrong 2 --peer "$PEER" --index 2 --cred "$T/wrong.cred"
check_quiet_run wrong "wrong password"
t_check "wrong password: reported" grep -q 'wrongDigest\|security checks\|authentication' "$T/wrong"
st=$(last_match "$T/wrong" ' STATS ')
t_check "wrong password: counted as authentication errors" test "$(field "$st" auth_errors)" -ge 1

# ------------------------------------------------------------------ refused at open
cred "$T/open.cred" 644 "$ADMIN_AUTH"
out=$("$DRIVER" --peer "$PEER" --index 2 --cred "$T/open.cred" 2>&1); rc=$?
t_eq "credentials mode 0644: refused (exit 2)" 2 "$rc"
t_check "credentials mode 0644: says why" grep -q 'OPEN_FAILED .*mode 0644 .*group or others' <<<"$out"
out=$("$DRIVER" --peer "udp:localhost:$SNMP_PORT" --index 2 --cred "$T/link.cred" 2>&1); rc=$?
t_eq "host name as peer address: refused (exit 2)" 2 "$rc"
t_check "host name as peer address: says why" grep -q 'OPEN_FAILED .*names are not resolved' <<<"$out"

if [ "$T_FAIL" -ne 0 ]; then
  echo "--- driver events (last 40)"; tail -n 40 "$EV"; cat "$T/driver.err"
fi
t_summary
