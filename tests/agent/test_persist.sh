#!/usr/bin/env bash
# Values changed by SET, and the event log, survive an agent restart; the state file
# is private (0600).
source "$(dirname "$0")/lib.sh"
t_setup
t_start_snmpd || exit 1
t_instance_conf 1 sip-a primary
t_check "agent registers" t_start_agent 1
P=SIPHA-MIB
t_check "SET sip-nic-monitoring true" t_set_v3 "$P::siphaInstSipNicMonitoring.1" i 1
t_check "SET sip-pass-check false" t_set_v3 "$P::siphaInstSipPassCheck.1" i 2
t_check "switchover" t_set_v3 "$P::siphaInstAdminCommand.1" i 2
sleep 0.5
events_before=$(snmpwalk -v2c -c "$COMMUNITY" "${MIBOPTS[@]}" -Oqv "udp:127.0.0.1:$SNMP_PORT" $P::siphaEventId | wc -l)
t_check "events were logged" test "$events_before" -ge 3
state=$T/state/instance-1.state
t_check "state file exists" test -f "$state"
t_eq "state file mode 0600" 600 "$(stat -c %a "$state")"
kill "$AGENT_PID_1"; wait "$AGENT_PID_1" 2>/dev/null
t_check "agent restarts" t_start_agent 1
t_eq "sip-nic-monitoring persisted" true "$(t_get_v2 "$P::siphaInstSipNicMonitoring.1")"
t_eq "sip-pass-check persisted" false "$(t_get_v2 "$P::siphaInstSipPassCheck.1")"
events_after=$(snmpwalk -v2c -c "$COMMUNITY" "${MIBOPTS[@]}" -Oqv "udp:127.0.0.1:$SNMP_PORT" $P::siphaEventId | wc -l)
t_check "event log persisted (and grew with the restart)" test "$events_after" -ge "$events_before"
t_check "no temp files left" bash -c "! ls '$T/state' | grep -v '^instance-1.state$'"
# A corrupt state file: the agent refuses to start rather than lose it silently.
kill "$AGENT_PID_1"; wait "$AGENT_PID_1" 2>/dev/null
cp "$state" "$T/good.state"
printf 'garbage\n' > "$state"
"$BUILD/sipha-agent" -f -c "$T/inst-1.xml" > "$T/corrupt.log" 2>&1 & pid=$!; T_PIDS+=("$pid")
t_wait 5 bash -c "! kill -0 $pid"
t_check "corrupt state file: agent exits with an error naming the file" grep -q "instance-1.state" "$T/corrupt.log"
t_summary
