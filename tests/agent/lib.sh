# lib.sh — shared by the agent tests and the demo: a private snmpd master and
# snmptrapd on loopback, sipha-agent instances, assertions and cleanup.
# Source it, then call t_setup. Everything lives in $T (a temp dir) and dies with
# the shell (trap EXIT), whatever way it exits.
# shellcheck shell=bash

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
MIBOPTS=(-M "$ROOT/build/ietf-mibs:$ROOT/mib" -m SNMPv2-MIB:SIPHA-MIB)
ADMIN_USER=siphaAdmin ADMIN_AUTH=sipha-admin-auth ADMIN_PRIV=sipha-admin-priv
READER_USER=siphaReader READER_AUTH=sipha-reader-auth READER_PRIV=sipha-reader-priv
COMMUNITY=sipha-public
T_PASS=0 T_FAIL=0
T_PIDS=()

t_free_port() {
  python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_STREAM if sys.argv[1]=="tcp" else socket.SOCK_DGRAM)
s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "${1:-udp}"
}

t_cleanup() {
  local p
  for p in "${T_PIDS[@]}"; do kill -- "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${T_PIDS[@]}"; do kill -9 -- "$p" 2>/dev/null; done
  [ -n "${T:-}" ] && [ -z "${T_KEEP:-}" ] && rm -rf "$T"
}

t_setup() {
  T=$(mktemp -d /tmp/sipha-test.XXXXXX)
  chmod 700 "$T"
  trap t_cleanup EXIT
  trap 'exit 130' INT TERM HUP
  SNMP_PORT=$(t_free_port udp)
  TRAP_PORT=$(t_free_port udp)
  AGENTX="$T/agentx.sock"
  export SNMP_PERSISTENT_DIR="$T/snmp-persist" MIBDIRS='' MIBS=''
  export SNMPCONFPATH="$T/snmp-client"  # no user ~/.snmp or /etc/snmp/snmp.conf settings
  mkdir -p "$SNMP_PERSISTENT_DIR" "$SNMPCONFPATH"
}

t_pass() { T_PASS=$((T_PASS + 1)); echo "ok    $*"; }
t_fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL  $*"; }
# t_check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
t_check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then t_pass "$d"; else t_fail "$d"; fi; }
# t_eq DESCRIPTION EXPECTED ACTUAL
t_eq() { if [ "$2" = "$3" ]; then t_pass "$1"; else t_fail "$1 (expected '$2', got '$3')"; fi; }
t_summary() {
  echo "$(basename "$0" .sh): $T_PASS passed, $T_FAIL failed"
  [ "$T_FAIL" -eq 0 ]
}
# t_wait SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
t_wait() {
  local end=$((SECONDS + $1)); shift
  while [ $SECONDS -le $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# The master: the shipped snippet plus what a test needs (loopback port, private
# AgentX socket, users, a trap sink).
t_snmpd_conf() {
  cat > "$T/snmpd.conf" <<CONF
includeFile $ROOT/snmpd.conf.d/sipha.conf
agentaddress udp:127.0.0.1:$SNMP_PORT
agentXSocket $AGENTX
agentXPerms 0600 0700
createUser $ADMIN_USER SHA-256 "$ADMIN_AUTH" AES "$ADMIN_PRIV"
createUser $READER_USER SHA-256 "$READER_AUTH" AES "$READER_PRIV"
trap2sink udp:127.0.0.1:$TRAP_PORT sipha-traps
CONF
  chmod 600 "$T/snmpd.conf"
}

t_start_snmpd() {
  [ -f "$T/snmpd.conf" ] || t_snmpd_conf
  snmpd -f -C -c "$T/snmpd.conf" -Lf "$T/snmpd.log" -p "$T/snmpd.pid" -I -ipCidrRouteTable,inetCidrRouteTable &
  SNMPD_PID=$!
  T_PIDS+=("$SNMPD_PID")
  t_wait 10 test -S "$AGENTX" || { echo "snmpd did not start:"; tail "$T/snmpd.log"; return 1; }
}

t_start_trapd() {
  cat > "$T/snmptrapd.conf" <<CONF
disableAuthorization yes
authCommunity log sipha-traps
CONF
  snmptrapd -f -Lf "$T/traps.log" -C -c "$T/snmptrapd.conf" "${MIBOPTS[@]}" -F 'TRAP %v\n' \
    "udp:127.0.0.1:$TRAP_PORT" &
  TRAPD_PID=$!
  T_PIDS+=("$TRAPD_PID")
  t_wait 5 grep -q "NET-SNMP version" "$T/traps.log"
}

# t_sip_peer PORT: a SIP server stand-in on 127.0.0.1:PORT (sipp answering OPTIONS).
# A pair instance's own listener (5060 + INDEX) needs one, or the instance reports
# 00-04200 and the seed's listener rule moves the role on its own.
t_sip_peer() {
  sipp -sf "$ROOT/tests/sip/options-uas.xml" -i 127.0.0.1 -p "$1" -nostdin \
       -trace_err -error_file "$T/sipp-$1.err" >/dev/null 2>&1 &
  T_PIDS+=("$!")
  t_wait 5 bash -c "ss -Hlun 'sport = :$1' | grep -q ."
}

# t_sipp_counts FILE — "SUCCESSFUL FAILED" calls from the statistics screen sipp prints
# when it ends (its stdout in FILE); "0 0" when there is none. The periodic -trace_stat
# file is not used: its last line can be older than the end of the run.
t_sipp_counts() {
  awk -F'|' '/^ *Successful call / { s = $3 } /^ *Failed call / { f = $3 }
             END { gsub(/ /, "", s); gsub(/ /, "", f); print s + 0, f + 0 }' "$1" 2>/dev/null || echo "0 0"
}

# t_peer_key: the HA link's pre-shared key ($T/halink.key, mode 0600), and a free
# UDP port for each instance's end of the link (HALINK_PORT_<INDEX>).
# shellcheck disable=SC2034 # HALINK_PORT_<INDEX> are read through ${!name} (t_pair_conf)
t_peer_key() {
  ( umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/halink.key" )
  HALINK_PORT_1=$(t_free_port udp)
  HALINK_PORT_2=$(t_free_port udp)
}

# t_pair_conf INDEX NAME ROLE PEER-INDEX PEER-NAME [EXTRA-XML]: an instance of a
# single-host pair (the HA link between two loopback ports); call t_peer_key first.
# Without EXTRA-XML a contact that expires after 4 s is added.
t_pair_conf() {
  local own="HALINK_PORT_$1" peer="HALINK_PORT_$4"
  t_instance_conf "$1" "$2" "$3" "<peer name=\"$5\" index=\"$4\" address=\"127.0.0.1:${!peer}\"
        bind=\"127.0.0.1:${!own}\" key-file=\"$T/halink.key\"/>
  ${6-<contact aor=\"sip:short$1@example.com\" uri=\"sip:short$1@127.0.0.1:6000\" expires=\"4\"/>}"
}

# t_instance_conf INDEX NAME ROLE [EXTRA-XML] — writes $T/inst-INDEX.xml (T_CONF_CONTACT
# set, even empty, replaces its <contact> element)
t_instance_conf() {
  local contact="<contact aor=\"sip:100$1@example.com\" uri=\"sip:100$1@127.0.0.1:$((5080 + $1))\" expires=\"3600\"/>"
  contact=${T_CONF_CONTACT-$contact}
  mkdir -p "$T/state"
  cat > "$T/inst-$1.xml" <<XML
<?xml version="1.0"?>
<sipha>
  <instance index="$1" name="$2" priority="$((200 - $1))" initial-role="$3"/>
  <agentx socket="$AGENTX" ping-interval="1" timeout-ms="1000"/>
  <state dir="$T/state"/>
  <eventlog limit="50"/>
  <options sip-pass-check="true" control-vip-scripts="false" sip-iptakeover-monitoring="false"
           tlib-nic-monitoring="false" sip-nic-monitoring="false" sip-nic-address="127.0.0.1"/>
  <sip address="127.0.0.1" port="$((5060 + $1))"/>
  <nic purpose="management" name="lo"/>
  <vip address="192.0.2.$((100 + $1))" interface="lo" up-script="/bin/true" down-script="/bin/true"/>
  <service-dn name="gw$1" uri="sip:gw$1@127.0.0.1:$((5070 + $1))" oos-check="10" oos-force="3"/>
  $contact
  ${4:-}
</sipha>
XML
}

# t_start_agent INDEX — starts sipha-agent on $T/inst-INDEX.xml; sets AGENT_PID_<INDEX>
t_start_agent() {
  "$BUILD/sipha-agent" -f -c "$T/inst-$1.xml" >>"$T/agent-$1.log" 2>&1 &
  local pid=$!
  T_PIDS+=("$pid")
  eval "AGENT_PID_$1=$pid"
  t_wait 10 t_has "SIPHA-MIB::siphaInstName.$1"
}

# t_has OID: the master answers OID with a value (snmpget exits 0 on noSuch* too).
t_has() { local v; v=$(t_get_v2 "$1" 2>/dev/null) && [ -n "$v" ] && ! grep -q '^No Such' <<<"$v"; }

t_get_v2() { snmpget -v2c -c "$COMMUNITY" -r 0 -t 2 "${MIBOPTS[@]}" -Oqv "udp:127.0.0.1:$SNMP_PORT" "$@"; }
t_walk_v2() { snmpwalk -v2c -c "$COMMUNITY" -r 0 -t 2 "${MIBOPTS[@]}" "$@" "udp:127.0.0.1:$SNMP_PORT" SIPHA-MIB::siphaMIB; }
t_v3admin() {
  local tool=$1 opts; shift
  read -ra opts <<<"${T_SNMP_OPTS:-}"  # options for one call, split at blanks
  "$tool" "${opts[@]}" -v3 -u "$ADMIN_USER" -l authPriv -a SHA-256 -A "$ADMIN_AUTH" -x AES -X "$ADMIN_PRIV" \
    -r 0 -t 3 "${MIBOPTS[@]}" "udp:127.0.0.1:$SNMP_PORT" "$@"
}
t_set_v3() { t_v3admin snmpset "$@"; }
t_set_v2() { snmpset -v2c -c "$COMMUNITY" -r 0 -t 2 "${MIBOPTS[@]}" "udp:127.0.0.1:$SNMP_PORT" "$@"; }
# t_trap_count PATTERN — notifications so far in the trap log matching PATTERN
t_trap_count() { grep -c -- "$1" "$T/traps.log" 2>/dev/null || true; }

# t_role INDEX: that instance's siphaInstRole; t_roles: "ROLE1/ROLE2" of instances 1
# and 2; t_roles_are WANT: true when t_roles says WANT (for t_wait and t_check)
t_role() { t_get_v2 "SIPHA-MIB::siphaInstRole.$1"; }
t_roles() { echo "$(t_role 1)/$(t_role 2)"; }
t_roles_are() { [ "$(t_roles)" = "$1" ]; }

# t_contacts INDEX: "<aor> <uri> <origin>" of each siphaContactTable row of that
# instance, one a line (one walk of the table, parsed here)
t_contacts() {
  local w
  w=$(snmpwalk -v2c -c "$COMMUNITY" -r 1 -t 2 "${MIBOPTS[@]}" -Oqs "udp:127.0.0.1:$SNMP_PORT" \
              SIPHA-MIB::siphaContactTable 2>/dev/null) || return 1
  python3 -c 'import re, sys
rows = {}
for line in sys.argv[2].splitlines():
    m = re.match(r"siphaContact(Aor|Uri|Origin)\.(\d+)\.(\d+) (.*)", line)
    if m and m.group(2) == sys.argv[1]:
        rows.setdefault(m.group(3), {})[m.group(1)] = m.group(4).strip("\"")
for r in rows.values():
    print(r.get("Aor"), r.get("Uri"), r.get("Origin"))' "$1" "$w"
}

# t_start_etcd — one etcd member on loopback, its data in $T/etcd, its log in
# $T/etcd.log; sets ETCD_URL (its client URL) and ETCD_PID. It answers once it has
# elected itself: wait for a read before using it.
t_start_etcd() {
  local peer
  ETCD_URL="http://127.0.0.1:$(t_free_port tcp)"
  peer="http://127.0.0.1:$(t_free_port tcp)"
  etcd --name t --data-dir "$T/etcd" --listen-client-urls "$ETCD_URL" \
       --advertise-client-urls "$ETCD_URL" --listen-peer-urls "$peer" \
       --initial-advertise-peer-urls "$peer" --initial-cluster "t=$peer" \
       --log-level warn >"$T/etcd.log" 2>&1 &
  ETCD_PID=$!
  T_PIDS+=("$ETCD_PID")
}
