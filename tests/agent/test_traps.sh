#!/usr/bin/env bash
# Notifications reach a real snmptrapd through the master, translated with SIPHA-MIB,
# with the row indexes of what they speak of; each is also in the event table.
source "$(dirname "$0")/lib.sh"
t_setup
t_start_trapd || { echo "snmptrapd did not start"; exit 1; }
t_start_snmpd || exit 1
t_peer_key
t_sip_peer 5061 && t_sip_peer 5062 || exit 1  # each instance's own SIP listener
t_pair_conf 1 sip-a primary 2 sip-b
t_pair_conf 2 sip-b backup 1 sip-a
t_check "agent 1 registers" t_start_agent 1
t_check "agent 2 registers" t_start_agent 2
P=SIPHA-MIB

t_check "startup role change arrives" t_wait 10 grep -q "$P::siphaRoleChange" "$T/traps.log"
t_check "pair formed" t_wait 10 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaInstRole.2)\" = backup ]"
sleep 0.5
before=$(t_trap_count "$P::siphaSwitchover.*siphaInstRole.1")
t_check "switchover SET accepted" t_set_v3 "$P::siphaInstAdminCommand.1" i 2
t_check "siphaSwitchover arrives" t_wait 10 bash -c "[ \$(grep -c '$P::siphaSwitchover.*siphaInstRole.1' '$T/traps.log') -gt $before ]"
line=$(grep "$P::siphaSwitchover.*siphaInstRole.1" "$T/traps.log" | tail -n1)
t_check "switchover carries siphaInstRole.1 (instance index)" grep -q "$P::siphaInstRole.1 = INTEGER: backup" <<<"$line"
t_check "switchover carries the reason" grep -q "siphaInstLastSwitchoverReason.1 = INTEGER: adminCommand" <<<"$line"
t_check "switchover carries its event log row" grep -Eq "$P::siphaEventId.1.[0-9]+ = STRING: \"?00-52102" <<<"$line"
ev=$(grep -Eo "$P::siphaEventId.1.[0-9]+" <<<"$line" | head -n1)
ev=${ev##*.}
t_eq "event row of the trap names its notification" "$P::siphaSwitchover" \
  "$(t_get_v2 "$P::siphaEventNotification.1.$ev")"
t_eq "event row has the event id" '00-52102' "$(t_get_v2 "$P::siphaEventId.1.$ev")"
t_check "log line carries the event id" grep -q "00-52102" "$T/agent-1.log"
t_check "the peer's switchover arrives too (instance 2 now primary)" \
  t_wait 5 grep -q "$P::siphaSwitchover.*siphaInstRole.2 = INTEGER: primary" "$T/traps.log"
t_summary
