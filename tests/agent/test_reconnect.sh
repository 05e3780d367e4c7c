#!/usr/bin/env bash
# The master is killed and restarted on the same socket: the agent re-registers its
# rows without being restarted, and the notifications raised while the master was
# away arrive afterwards, in order.
source "$(dirname "$0")/lib.sh"
t_setup
t_start_trapd || exit 1
t_start_snmpd || exit 1
t_instance_conf 1 sip-a primary
t_check "agent registers" t_start_agent 1
P=SIPHA-MIB
for round in 1 2 3; do
  kill -9 "$SNMPD_PID"; wait "$SNMPD_PID" 2>/dev/null
  rm -f "$AGENTX"
  # While the master is away: a reload that changes nothing must not crash, the agent
  # keeps running.
  kill -HUP "$AGENT_PID_1"
  sleep 0.3
  t_check "round $round: agent alive without master" kill -0 "$AGENT_PID_1"
  start=$(date +%s.%N)
  t_start_snmpd || exit 1
  if t_wait 10 t_has "$P::siphaInstName.1"; then
    t_pass "round $round: rows re-registered after $(python3 -c "print(round($(date +%s.%N)-$start,2))") s"
  else
    t_fail "round $round: rows re-registered"
  fi
done
t_eq "agent process was never restarted" 1 "$(pgrep -c -f "sipha-agent -f -c $T/inst-1.xml")"
t_summary
