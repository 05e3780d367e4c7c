#!/usr/bin/env bash
# make run: the single-host HA demo. A private snmpd on a loopback port, a snmptrapd
# showing notifications as they arrive, SIP peers (sipp) answering the probes, and two
# sipha-agent instances — index 1 primary, index 2 backup — under that one master.
# Ctrl-C stops everything and removes every file it made.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/tests/agent/lib.sh"
t_setup
say() { printf '\033[1m%s\033[0m\n' "$*"; }

t_start_trapd || { echo "demo: snmptrapd did not start"; exit 1; }
t_start_snmpd || { echo "demo: snmpd did not start"; exit 1; }

# The SIP servers of the pair (their listeners on 5061 and 5062) and the service
# DNs they probe (5071, 5072): sipp answering OPTIONS.
for port in 5061 5062 5071 5072; do t_sip_peer "$port"; done

t_peer_key
contacts='<contact aor="sip:1001@example.com" uri="sip:1001@127.0.0.1:5090" expires="3600"/>'
t_pair_conf 1 sip-a primary 2 sip-b "$contacts"
t_pair_conf 2 sip-b backup 1 sip-a ""

t_start_agent 1 || { echo "demo: instance 1 did not register"; cat "$T/agent-1.log"; exit 1; }
t_start_agent 2 || { echo "demo: instance 2 did not register"; cat "$T/agent-2.log"; exit 1; }

M="-M +$ROOT/build/ietf-mibs:$ROOT/mib -m +SIPHA-MIB"
V3="-v3 -u $ADMIN_USER -l authPriv -a SHA-256 -A $ADMIN_AUTH -x AES -X $ADMIN_PRIV"
say "sipha demo running: snmpd on udp:127.0.0.1:$SNMP_PORT, instances 1 (primary) and 2 (backup)"
cat <<TXT

Walk both instances (read-only v2c community):
  snmpwalk -v2c -c $COMMUNITY $M 127.0.0.1:$SNMP_PORT SIPHA-MIB::siphaInstanceTable
  snmptable -v2c -c $COMMUNITY $M -Cb 127.0.0.1:$SNMP_PORT SIPHA-MIB::siphaInstanceTable
  snmpwalk -v2c -c $COMMUNITY $M 127.0.0.1:$SNMP_PORT SIPHA-MIB::siphaEventTable

Switch over (SNMPv3 authPriv admin user; writes are refused to v2c); the other
instance becomes primary within a second:
  snmpset $V3 $M 127.0.0.1:$SNMP_PORT SIPHA-MIB::siphaInstAdminCommand.1 i switchover
  snmpget -v2c -c $COMMUNITY $M 127.0.0.1:$SNMP_PORT SIPHA-MIB::siphaInstRole.1 SIPHA-MIB::siphaInstRole.2
The backup holds the primary's registration contacts (origin synced):
  snmptable -v2c -c $COMMUNITY $M -Cb 127.0.0.1:$SNMP_PORT SIPHA-MIB::siphaContactTable
Turn an option off / on:
  snmpset $V3 $M 127.0.0.1:$SNMP_PORT SIPHA-MIB::siphaInstSipPassCheck.2 i false

Logs: $T/agent-1.log, $T/agent-2.log, $T/snmpd.log
Notifications appear below as snmptrapd receives them. Ctrl-C stops the demo.

TXT
tail -n +1 -f "$T/traps.log" | grep --line-buffered '^TRAP' &
T_PIDS+=("$!")
wait "$AGENT_PID_1" "$AGENT_PID_2"
