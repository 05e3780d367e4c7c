#!/usr/bin/env bash
# The contact source (kind kamailio) against a Kamailio stand-in that misbehaves on
# demand (fake_kamailio.py): an RPC endpoint that answers junk, answers too slowly,
# answers far too much, or is down; a hint stream that sends junk. Each is counted
# (siphaInstContactSourceFailures), shown (siphaInstContactSourceState), never blocks
# SNMP and never crashes the agent; down for 5 s raises siphaContactSourceLost, and
# coming back clears it (siphaAlarmCleared). Also: a registration hinted by the
# server shows in siphaContactTable, an unregistration leaves it; a hint that carries
# the AOR's contacts is applied without a lookup, unless the AOR was hinted just before.
source "$(dirname "$0")/lib.sh"
t_setup
t_start_trapd || { echo "snmptrapd did not start"; exit 1; }
t_start_snmpd || exit 1
t_sip_peer 5061 || exit 1
t_sip_peer 5062 || exit 1 # instance 2's SIP port, held by a process that is not its Kamailio

K="$T/kam"
mkdir -p "$K"
RPORT=$(t_free_port tcp)
EPORT=$(t_free_port tcp)
printf 'alice sip:alice@127.0.0.1:5091 3600\nbob sip:bob@127.0.0.1:5092 3600\n' > "$K/contacts"
echo ok > "$K/mode"
: > "$K/hints"
start_rpc() {
  python3 "$ROOT/tests/agent/fake_kamailio.py" rpc "$RPORT" "$K" 2>>"$T/fake-rpc.log" &
  RPC_PID=$!
  T_PIDS+=("$RPC_PID")
  t_wait 5 bash -c "ss -Hltn 'sport = :$RPORT' | grep -q ."
}
start_rpc || { echo "the RPC stand-in did not start"; exit 1; }
python3 "$ROOT/tests/agent/fake_kamailio.py" evapi "$EPORT" "$K" 2>>"$T/fake-evapi.log" &
T_PIDS+=("$!")
t_wait 5 bash -c "ss -Hltn 'sport = :$EPORT' | grep -q ." || { echo "the evapi stand-in did not start"; exit 1; }

T_CONF_CONTACT="" t_instance_conf 1 sip-a primary \
  "<sip-server kind=\"kamailio\" rpc=\"http://127.0.0.1:$RPORT/RPC\" events=\"127.0.0.1:$EPORT\" timeout-ms=\"1500\" reconcile=\"3600\"/>"
t_check "agent registers" t_start_agent 1
# Instance 2: its Kamailio does not run (nothing on its event stream port), while
# another process holds its SIP port: that is no listener (00-04200 after 5 s).
DEAD=$(t_free_port tcp)
T_CONF_CONTACT="" t_instance_conf 2 sip-b primary \
  "<sip-server kind=\"kamailio\" rpc=\"http://127.0.0.1:$DEAD/RPC\" events=\"127.0.0.1:$DEAD\"/>"
t_check "agent 2 registers" t_start_agent 2
P=SIPHA-MIB
state() { t_get_v2 "$P::siphaInstContactSourceState.1"; }
failures() { t_get_v2 "$P::siphaInstContactSourceFailures.1"; }
rows() { snmpwalk -v2c -c "$COMMUNITY" -r 0 -t 2 "${MIBOPTS[@]}" -Oq "udp:127.0.0.1:$SNMP_PORT" \
           "$P::siphaContactOrigin.1" 2>/dev/null | grep -c "^$P::siphaContactOrigin"; }
is() { [ "$("$1")" = "$2" ]; }
more_failures() { [ "$(failures)" -gt "$1" ]; }
hint() { printf '{"event":"aor","aor":"%s"}\n' "$1" >> "$K/hints"; }
alive() { kill -0 "$AGENT_PID_1" 2>/dev/null; }
# snmp_quick — five GETs in a row, each answered within its 1 s timeout
snmp_quick() {
  local i
  for i in 1 2 3 4 5; do
    snmpget -v2c -c "$COMMUNITY" -r 0 -t 1 "${MIBOPTS[@]}" -Oqv "udp:127.0.0.1:$SNMP_PORT" \
      "$P::siphaInstRole.1" >/dev/null 2>&1 || return 1
  done
}
# fault MODE AOR — the RPC answers in MODE from now on; a hint for AOR makes the agent ask
fault() { echo "$1" > "$K/mode"; hint "$2"; }
healed() { echo ok > "$K/mode"; t_wait 10 is state up; }

t_check "source up: RPC and event stream reached" t_wait 10 is state up
t_check "the table's 2 contacts are in siphaContactTable" t_wait 10 is rows 2

# ---- a registration and an unregistration, told by a hint
echo 'carol sip:carol@127.0.0.1:5093 3600' >> "$K/contacts"
t0=$(date +%s%N)
hint carol
if t_wait 5 is rows 3; then
  t_pass "a new registration shows in siphaContactTable ($(( ($(date +%s%N) - t0) / 1000000 )) ms after its hint)"
else t_fail "a new registration shows in siphaContactTable (rows: $(rows))"; fi
sed -i '/^carol /d' "$K/contacts"
hint carol
t_check "an unregistration leaves siphaContactTable" t_wait 5 is rows 2

# ---- hints that carry the AOR's contacts (kamailio/sipha.cfg sends them after save())
lookups() { grep -c '^ul.lookup' "$K/requests"; }
ct() { printf '{"uri":"sip:%s@127.0.0.1:%s","expires":3600,"q":-1,"flags":0,"cflags":0,"methods":4294967295,"path":"","received":"","socket":"udp:127.0.0.1:5060"}' "$1" "$2"; }
n0=$(lookups)
printf '{"event":"aor","aor":"erin","contacts":[%s,%s]}\n' "$(ct erin 5095)" "$(ct erin 5096)" >> "$K/hints"
t_check "a hint with 2 contacts shows both in siphaContactTable" t_wait 5 is rows 4
t_eq "... with no ul.lookup" "$n0" "$(lookups)"
sleep 1.2 # (a second hint of one AOR within a second is read instead: below)
printf '{"event":"aor","aor":"erin","contacts":[]}\n' >> "$K/hints"
t_check "a hint with no contact left removes them" t_wait 5 is rows 2
t_eq "... with no ul.lookup" "$n0" "$(lookups)"
# the same AOR twice in a row: the second is read with ul.lookup (the table has no dave)
printf '{"event":"aor","aor":"dave","contacts":[%s]}\n{"event":"aor","aor":"dave","contacts":[%s]}\n' \
  "$(ct dave 5097)" "$(ct dave 5098)" >> "$K/hints"
one_more_lookup() { [ "$(lookups)" -gt "$n0" ]; }
t_check "a second hint of one AOR within a second is read with ul.lookup" t_wait 5 one_more_lookup
t_check "... whose answer (no such AOR) is what counts" t_wait 5 is rows 2
t_eq "... one lookup only" "$((n0 + 1))" "$(lookups)"
f=$(failures)
printf '{"event":"aor","aor":"alice","contacts":[{"uri":"sip:alice@127.0.0.1:5091","expires":0}]}\n' >> "$K/hints"
t_check "a hint with a contact list that is not usable: counted, the AOR read instead" \
  t_wait 5 more_failures "$f"
t_check "... and the contacts stay" t_wait 5 is rows 2

# an AOR with 10 contacts, one with 300 (more than the agent takes from one AOR)
for i in $(seq 1 10); do echo "multi sip:multi@127.0.0.1:$((6000 + i)) 3600"; done >> "$K/contacts"
for i in $(seq 1 300); do echo "crowd sip:crowd@127.0.0.1:$((7000 + i)) 3600"; done >> "$K/contacts"
hint multi
t_check "an AOR with 10 contacts: all 10 listed" t_wait 5 is rows 12
f=$(failures)
hint crowd
t_check "an AOR with 300 contacts: refused, counted" t_wait 5 more_failures "$f"
# (the refused read is followed by a read of the whole table, which has no such limit)
sed -i '/^multi \|^crowd /d' "$K/contacts"
hint multi
hint crowd
t_check "... both gone when the server drops them" t_wait 5 is rows 2
echo ok > "$K/mode"
t_check "... source up again after the refusal" t_wait 10 is state up

# ---- junk, too slow, too much: each counted, SNMP answered meanwhile, nothing lost
f=$(failures)
fault junk alice
t_check "malformed JSON: counted" t_wait 10 more_failures "$f"
t_eq "malformed JSON: source down" down "$(state)"
t_check "malformed JSON: the contacts stay" is rows 2
t_check "malformed JSON: healed when the server answers well again" healed

f=$(failures)
fault slow alice
sleep 0.3
t_check "slow RPC: SNMP answered while the call waits" snmp_quick
t_check "slow RPC: the timeout is counted" t_wait 10 more_failures "$f"
t_check "slow RPC: healed" healed

f=$(failures)
fault huge alice
t_check "70 MB answer: counted, not swallowed" t_wait 20 more_failures "$f"
rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$AGENT_PID_1/status")
if [ "${rss:-999999}" -lt 131072 ]; then t_pass "70 MB answer: agent peak memory ${rss} kB (< 128 MB)"
else t_fail "70 MB answer: agent peak memory ${rss:-?} kB"; fi
t_check "70 MB answer: healed" healed
t_check "the contacts are still there" t_wait 5 is rows 2

# ---- the RPC endpoint down: the alarm after 5 s, cleared when it is back
f=$(failures)
lost0=$(t_trap_count "$P::siphaContactSourceLost")
clear0=$(t_trap_count "$P::siphaAlarmCleared")
kill "$RPC_PID"
hint alice
t_check "RPC down: counted" t_wait 10 more_failures "$f"
more_traps() { [ "$(t_trap_count "$1")" -gt "$2" ]; }
t_check "RPC down: siphaContactSourceLost arrives" t_wait 15 more_traps "$P::siphaContactSourceLost" "$lost0"
t_check "RPC down: SNMP answered" snmp_quick
start_rpc
t_check "RPC back: source up again" t_wait 10 is state up
t_check "RPC back: siphaAlarmCleared arrives" t_wait 10 more_traps "$P::siphaAlarmCleared" "$clear0"
t_check "RPC back: the 2 contacts" t_wait 5 is rows 2

# ---- junk on the hint stream
f=$(failures)
echo 'this is not JSON' >> "$K/hints"
t_check "junk hint: counted" t_wait 10 more_failures "$f"
t_check "junk hint: source up (the table is read instead)" t_wait 10 is state up
t_check "agent alive through all of it" alive
bind_failure() { grep "$P::siphaListenerBindFailure" "$T/traps.log" | grep -q "siphaInstName.$1 "; }
t_check "instance 2 (SIP port held by another process, its Kamailio not running): siphaListenerBindFailure" \
  t_wait 15 bind_failure 2
t_check "... and the log says why" grep -q "Kamailio taken as not running" "$T/agent-2.log"
no_bind_failure() { ! bind_failure "$1"; }
t_check "instance 1 (its Kamailio up): no siphaListenerBindFailure" no_bind_failure 1
t_check "agent log names the failures" grep -q "Kamailio RPC failed" "$T/agent-1.log"
t_summary
