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

# The SIP servers of the pair, their listeners on 5061 and 5062: two Kamailio running
# the shipped kamailio/sipha.cfg (JSON-RPC and evapi on free loopback ports), or, when
# Kamailio is not installed, sipp answering OPTIONS with contacts from the
# configuration (generic mode). The service DNs they probe (5071, 5072): sipp.
for port in 5071 5072; do t_sip_peer "$port" || fail "sipp on port $port did not start"; done
KAM=; command -v kamailio >/dev/null && KAM=1
declare -A KAM_RPC=() KAM_EV=()
# kam_start INDEX — Kamailio of instance INDEX on 127.0.0.1:506INDEX, in its own
# process group (stopped with the demo)
kam_start() {
  local i=$1 d=$T/kam-$1
  mkdir -p "$d"
  KAM_RPC[$i]=$(t_free_port tcp) KAM_EV[$i]=$(t_free_port tcp)
  setsid kamailio -DD -E -f "$ROOT/kamailio/sipha.cfg" -P "$d/kamailio.pid" -m 64 -M 32 \
      -A NODE_IP=127.0.0.1 -A "SIP_PORT=$((5060 + i))" -A "RPC_PORT=${KAM_RPC[$i]}" \
      -A "EVAPI_PORT=${KAM_EV[$i]}" -A "RUN_DIR=\"$d\"" > "$T/kamailio-$i.log" 2>&1 &
  T_PIDS+=("-$!") # the process group: Kamailio's children too
  t_wait 15 curl -sf -m 2 -d '{"jsonrpc":"2.0","method":"core.version","id":1}' \
      "http://127.0.0.1:${KAM_RPC[$i]}/RPC" > /dev/null
}
t_peer_key
if [ -n "$KAM" ]; then
  kam_start 1 || fail "Kamailio for instance 1 did not start"
  kam_start 2 || fail "Kamailio for instance 2 did not start"
  server() { echo "<sip-server kind=\"kamailio\" rpc=\"http://127.0.0.1:${KAM_RPC[$1]}/RPC\" events=\"127.0.0.1:${KAM_EV[$1]}\"/>"; }
  T_CONF_CONTACT=
  t_pair_conf 1 sip-a primary 2 sip-b "$(server 1)"
  t_pair_conf 2 sip-b backup 1 sip-a "$(server 2)"
else
  for port in 5061 5062; do t_sip_peer "$port" || fail "sipp on port $port did not start"; done
  contacts='<contact aor="sip:1001@example.com" uri="sip:1001@127.0.0.1:5090" expires="3600"/>'
  t_pair_conf 1 sip-a primary 2 sip-b "$contacts"
  t_pair_conf 2 sip-b backup 1 sip-a ""
fi

t_start_agent 1 || fail "instance 1 did not register"
t_start_agent 2 || fail "instance 2 did not register"

# What the printed commands need: the IETF base MIBs (make mibs) and SIPHA-MIB on
# the search path, and SIPHA-MIB alone loaded (-m SIPHA-MIB; "-m +SIPHA-MIB" would
# also load Net-SNMP's default list, which a stock Debian lacks: one "Cannot find
# module" line each).
M="-M +$ROOT/build/ietf-mibs:$ROOT/mib -m SIPHA-MIB"
V3="-v3 -u $ADMIN_USER -l authPriv -a SHA-256 -A $ADMIN_AUTH -x AES -X $ADMIN_PRIV"

# With Kamailio: phones register on instance 1's, the registrations show in both
# instances' MIB (local on the primary, synced on the backup, and written into the
# backup's Kamailio), a switchover makes instance 2 primary, and a call through its
# Kamailio reaches a phone that registered only through instance 1's.
PHONES=5
# shellcheck disable=SC2317 # called (through t_wait); ShellCheck 0.9 takes it for dead code
contact_rows() {  # contact_rows INDEX — siphaContactTable rows of instance INDEX
  # shellcheck disable=SC2086 # $M is a list of options
  snmpwalk -v2c -c "$COMMUNITY" $M -Oq "127.0.0.1:$SNMP_PORT" "SIPHA-MIB::siphaContactAor.$1" 2>/dev/null |
    grep -c '^SIPHA-MIB::siphaContactAor'
}
demo_calls() {
  if [ -z "$KAM" ]; then return 0; fi
  { echo SEQUENTIAL; for ((i = 1; i <= PHONES; i++)); do echo "20$i;sipha.demo;5081;5081;X-No-Path"; done; } > "$T/phones.csv"
  { echo SEQUENTIAL; for ((i = 1; i <= PHONES; i++)); do echo "20$i;sipha.demo"; done; } > "$T/callees.csv"
  sipp 127.0.0.1:5061 -sf "$ROOT/tests/sip/reg-uas.xml" -oocsn uas -inf "$T/phones.csv" -i 127.0.0.1 \
       -p 5081 -m "$PHONES" -l "$PHONES" -r 10 -d 86400000 -mp 16000 -nostdin -nr \
       -trace_err -error_file "$T/phones.err" > /dev/null 2>&1 &
  T_PIDS+=("$!")
  # shellcheck disable=SC2317 # called (through t_wait); ShellCheck 0.9 takes it for dead code
  rows_are() { [ "$(contact_rows 1)" = "$PHONES" ] && [ "$(contact_rows 2)" = "$PHONES" ]; }
  t_wait 10 rows_are || fail "the $PHONES phones' registrations did not reach both instances' MIB"
  say "$PHONES phones (sipp) registered through instance 1's Kamailio (127.0.0.1:5061); both MIBs list them:"
  # shellcheck disable=SC2086
  snmptable -v2c -c "$COMMUNITY" $M -Cb -Ci "127.0.0.1:$SNMP_PORT" SIPHA-MIB::siphaContactTable
  # shellcheck disable=SC2086
  snmpset $V3 $M "127.0.0.1:$SNMP_PORT" SIPHA-MIB::siphaInstAdminCommand.1 i switchover > /dev/null ||
    fail "the switchover SET was refused"
  # shellcheck disable=SC2317 # called (through t_wait); ShellCheck 0.9 takes it for dead code
  primary_2() { t_get_v2 SIPHA-MIB::siphaInstRole.2 | grep -q primary; }
  t_wait 5 primary_2 || fail "instance 2 did not become primary"
  say "switchover (SET siphaInstAdminCommand.1 = switchover): instance 2 is primary; $PHONES calls through its Kamailio (127.0.0.1:5062), no phone registered again:"
  sipp 127.0.0.1:5062 -sf "$ROOT/tests/sip/invite-uac.xml" -inf "$T/callees.csv" -i 127.0.0.1 \
       -p 5085 -m "$PHONES" -l "$PHONES" -r 10 -mp 16100 -nostdin -timeout 30s -timeout_error \
       > "$T/calls.out" 2>&1
  read -r answered failed < <(t_sipp_counts "$T/calls.out")
  echo "  calls answered: $answered of $PHONES (failed: $failed)"
  # shellcheck disable=SC2086
  snmpset $V3 $M "127.0.0.1:$SNMP_PORT" SIPHA-MIB::siphaInstAdminCommand.2 i switchover > /dev/null ||
    fail "the switchover SET back was refused"
  # shellcheck disable=SC2317 # called through t_wait; ShellCheck 0.9 takes it for dead code
  primary_1() { t_get_v2 SIPHA-MIB::siphaInstRole.1 | grep -q primary; }
  t_wait 5 primary_1 || fail "instance 1 did not become primary again"
  say "switched back (SET siphaInstAdminCommand.2 = switchover): instance 1 is primary again"
  echo
}
demo_calls
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
  snmptable -v2c -c $COMMUNITY $M -Cb -Ci 127.0.0.1:$SNMP_PORT SIPHA-MIB::siphaContactTable
Turn an option off / on:
  snmpset $V3 $M 127.0.0.1:$SNMP_PORT SIPHA-MIB::siphaInstSipPassCheck.2 i false
TXT
if [ -n "$KAM" ]; then cat <<TXT
Call the $PHONES phones through instance 2's Kamailio, or (after another switchover)
instance 1's on 5061:
  sipp 127.0.0.1:5062 -sf $ROOT/tests/sip/invite-uac.xml -inf $T/callees.csv -i 127.0.0.1 -p 5086 -m $PHONES -mp 16200
Each Kamailio's own view (JSON-RPC on loopback):
  curl -s -d '{"jsonrpc":"2.0","method":"ul.dump","id":1}' http://127.0.0.1:${KAM_RPC[2]}/RPC
TXT
fi
cat <<TXT

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
