#!/usr/bin/env bash
# TimeStamp columns count from the master's sysUpTime, as an NMS computes "how long
# ago" from them: an agent started 4 s after its snmpd logs its start event at a
# siphaEventTime of about 4 s, never above sysUpTime.0.
source "$(dirname "$0")/lib.sh"
t_setup
t_start_snmpd || exit 1
t_instance_conf 1 sip-a primary
sleep 4
t_check "agent registers" t_start_agent 1
P=SIPHA-MIB
up=$(snmpget -v2c -c "$COMMUNITY" -r 0 -t 2 "${MIBOPTS[@]}" -Oqvt "udp:127.0.0.1:$SNMP_PORT" SNMPv2-MIB::sysUpTime.0)
first=$(snmpwalk -v2c -c "$COMMUNITY" -r 0 -t 2 "${MIBOPTS[@]}" -Oqvt "udp:127.0.0.1:$SNMP_PORT" "$P::siphaEventTime" | head -1)
echo "  sysUpTime.0 $up, first siphaEventTime $first (centiseconds)"
t_check "the first event's time is after the 4 s the master ran alone" test "${first:-0}" -ge 350
t_check "and not after sysUpTime.0" test "${first:-0}" -le "${up:-0}"
t_summary
