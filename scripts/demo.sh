#!/usr/bin/env bash
# make run: the single-host HA demo. A private snmpd on a loopback port, a snmptrapd
# showing notifications as they arrive, SIP peers (sipp) answering the probes, and two
# sipha-agent instances — index 1 primary, index 2 backup — under that one master.
# Ctrl-C stops everything, removes every file it made and ends with status 0. When
# something fails, it shows the end of each log it started and keeps them.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/tests/agent/lib.sh"
t_setup
say() { printf '\033[1m%s\033[0m\n' "$*"; }

# Ctrl-C (and TERM, HUP) is how the demo is meant to end: not an error. The EXIT
# trap (t_cleanup) stops the processes and removes $T.
# shellcheck disable=SC2317 # run by the trap below (ShellCheck 0.9 takes it for dead code, as the script ends in fail)
stop() { trap - INT TERM HUP; echo; say "sipha demo stopped"; exit 0; }
trap stop INT TERM HUP

# fail WHAT: the demo cannot go on. Every log it started ends up on the terminal (its
# last lines) and stays on disk: T_KEEP makes t_cleanup leave $T.
fail() {
  echo "demo: $*" >&2
  local f
  for f in "$T"/snmpd.log "$T"/traps.log "$T"/agent-*.log "$T"/sipp-*.err; do
    [ -s "$f" ] || continue
    echo "--- last lines of $f" >&2
    grep -v '^Connection from ' "$f" | tail -n 20 >&2 # snmpd logs every request
  done
  T_KEEP=1
  echo "demo: logs kept in $T (remove it with: rm -rf $T)" >&2
  exit 1
}

t_start_trapd || fail "snmptrapd did not start"
t_start_snmpd || fail "snmpd did not start"

# The SIP servers of the pair (their listeners on 5061 and 5062) and the service
# DNs they probe (5071, 5072): sipp answering OPTIONS.
for port in 5061 5062 5071 5072; do t_sip_peer "$port" || fail "sipp on port $port did not start"; done

t_peer_key
contacts='<contact aor="sip:1001@example.com" uri="sip:1001@127.0.0.1:5090" expires="3600"/>'
t_pair_conf 1 sip-a primary 2 sip-b "$contacts"
t_pair_conf 2 sip-b backup 1 sip-a ""

t_start_agent 1 || fail "instance 1 did not register"
t_start_agent 2 || fail "instance 2 did not register"

# What the printed commands need: the IETF base MIBs (make mibs) and SIPHA-MIB on
# the search path, and SIPHA-MIB alone loaded (-m SIPHA-MIB; "-m +SIPHA-MIB" would
# also load Net-SNMP's default list, which a stock Debian lacks: one "Cannot find
# module" line each).
M="-M +$ROOT/build/ietf-mibs:$ROOT/mib -m SIPHA-MIB"
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
# Until Ctrl-C (stop), or until an agent or snmpd ends by itself: a failure.
# Ctrl-C reaches the whole foreground group: the agents and snmpd catch SIGINT and
# exit 0, and bash then lets its own SIGINT go (it takes a child's clean exit to
# mean the child handled it), so the stop trap does not run. A clean exit of one
# of them is therefore the stop request; any other end is a failure.
wait -n "$AGENT_PID_1" "$AGENT_PID_2" "$SNMPD_PID" && stop
for p in "$AGENT_PID_1" "$AGENT_PID_2" "$SNMPD_PID"; do
  kill -0 "$p" 2>/dev/null && continue
  case $p in
    "$SNMPD_PID") fail "snmpd stopped by itself" ;;
    *) fail "a sipha-agent stopped by itself" ;;
  esac
done
fail "a process of the demo stopped by itself"
