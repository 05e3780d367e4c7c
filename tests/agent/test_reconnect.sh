#!/usr/bin/env bash
# The master is killed and restarted on the same socket: the agents re-register their
# rows without being restarted (three rounds), and the notifications raised while the
# master was away arrive afterwards, in the order they were raised.
source "$(dirname "$0")/lib.sh"
t_setup
t_start_trapd || exit 1
t_start_snmpd || exit 1
P=SIPHA-MIB
t_peer_key
t_sip_peer 5061 && t_sip_peer 5062 || exit 1  # each instance's own SIP listener
t_pair_conf 1 sip-a primary 2 sip-b ""
t_pair_conf 2 sip-b backup 1 sip-a ""
t_check "agent 1 registers" t_start_agent 1
t_check "agent 2 registers" t_start_agent 2
t_check "pair formed" t_wait 10 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaInstRole.2)\" = backup ]"

for round in 1 2 3; do
  kill -9 "$SNMPD_PID"; wait "$SNMPD_PID" 2>/dev/null
  rm -f "$AGENTX"
  traps_before=$(grep -c '^TRAP' "$T/traps.log")
  # The HA link does not go through the master, so its loss alone loses no peer.
  # Agent 2 (the backup) frozen for 2 s while the master is away: agent 1 loses its
  # peer (after 3 of the backup's 500 ms heartbeat periods) and says so — into its
  # queue. A reload must not disturb it.
  kill -HUP "$AGENT_PID_1"
  sleep 1
  kill -STOP "$AGENT_PID_2"; sleep 2; kill -CONT "$AGENT_PID_2"
  sleep 1.5
  t_check "round $round: agents alive without master" kill -0 "$AGENT_PID_1" "$AGENT_PID_2"
  start=$(date +%s.%N)
  t_start_snmpd || exit 1
  if t_wait 10 t_has "$P::siphaInstName.1" && t_wait 10 t_has "$P::siphaInstName.2"; then
    t_pass "round $round: rows re-registered after $(python3 -c "print(round($(date +%s.%N)-$start,2))") s"
  else
    t_fail "round $round: rows re-registered"
  fi
  t_check "round $round: queued siphaPeerLost delivered after reconnect" \
    t_wait 10 bash -c "tail -n +$((traps_before + 1)) '$T/traps.log' | grep -q '$P::siphaPeerLost'"
  t_check "round $round: queue empty again" \
    t_wait 5 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaInstNotifsQueued.1)\" = 0 ]"
  # shellcheck disable=SC2016 # the single-quoted parts are for the inner bash
  t_check "round $round: pair has one primary again" t_wait 10 bash -c '
    r=$(snmpget -v2c -c '"$COMMUNITY ${MIBOPTS[*]}"' -Oqv udp:127.0.0.1:'"$SNMP_PORT"' '"$P"'::siphaInstRole.1 '"$P"'::siphaInstRole.2 | tr "\n" /)
    [ "$r" = "primary/backup/" ] || [ "$r" = "backup/primary/" ]'
done
# In arrival order, each instance's notifications carry increasing event indexes:
# nothing was reordered by the queue.
in_order() {
  python3 - "$T/traps.log" <<'PY'
import re, sys
last = {}
for line in open(sys.argv[1]):
    m = re.search(r'siphaEventId\.(\d+)\.(\d+) ', line)
    if not m or 'siphaAlarmCleared' in line:
        continue
    inst, ev = int(m.group(1)), int(m.group(2))
    if ev <= last.get(inst, 0):
        sys.exit(1)
    last[inst] = ev
sys.exit(0 if len(last) == 2 else 1)
PY
}
t_check "every notification of each instance arrived, in order" in_order
t_eq "agent 1 never restarted" 1 "$(pgrep -c -f "sipha-agent -f -c $T/inst-1.xml")"
t_eq "agent 2 never restarted" 1 "$(pgrep -c -f "sipha-agent -f -c $T/inst-2.xml")"
t_summary
