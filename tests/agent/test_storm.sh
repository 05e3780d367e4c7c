#!/usr/bin/env bash
# A notification storm: 2,000 probed service DNs that nobody answers all go out of
# service at once. The agent keeps answering SNMP meanwhile (notifications leave at a
# bounded rate, the rest wait in the bounded queue, oldest dropped and counted), and
# a DN's first answer raises nothing (only "back in service" after "out").
source "$(dirname "$0")/lib.sh"
t_setup
t_start_trapd || exit 1
t_start_snmpd || exit 1
P=SIPHA-MIB
DEAD_PORT=$(t_free_port udp) # nothing listens there
dns=""
for i in $(seq 1 2000); do
  dns="$dns<service-dn name=\"dn$i\" uri=\"sip:dn$i@127.0.0.1:$DEAD_PORT\" oos-check=\"1\" oos-force=\"5\"/>"
done
t_instance_conf 1 sip-a primary "$dns"
sed -i 's|<service-dn name="gw1"[^>]*/>||' "$T/inst-1.xml"
t_check "agent with 2,000 DNs registers" t_start_agent 1
# The DNs go out of service about 5 s after start: watch GET latency through it.
worst=0
for _ in $(seq 1 40); do
  s=$(date +%s%N)
  t_has "$P::siphaInstStatus.1" || worst=99999
  ms=$(( ($(date +%s%N) - s) / 1000000 )); [ "$ms" -gt "$worst" ] && worst=$ms
  sleep 0.2
done
oos=$(snmpwalk -v2c -c "$COMMUNITY" "${MIBOPTS[@]}" -Oqv "udp:127.0.0.1:$SNMP_PORT" "$P::siphaDnState" | grep -c outOfService)
t_eq "all 2,000 DNs out of service" 2000 "$oos"
if [ "$worst" -lt 1000 ]; then t_pass "agent answered throughout the storm (slowest GET $worst ms)"; else t_fail "a GET took $worst ms during the storm"; fi
received=$(t_trap_count "$P::siphaServiceDnOutOfService")
dropped=$(t_get_v2 "$P::siphaInstNotifsDropped.1")
t_check "notifications delivered ($received)" test "$received" -ge 500
t_check "queue bounded: the overflow was dropped and counted ($dropped)" test "$dropped" -gt 0
t_check "queue drains" t_wait 10 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaInstNotifsQueued.1)\" = 0 ]"
t_eq "no 'back in service' without 'out of service' first" 0 "$(t_trap_count "$P::siphaServiceDnInService")"
t_summary
