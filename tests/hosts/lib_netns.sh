# shellcheck shell=bash disable=SC2034 # globals here are read by the test that sources this
# lib_netns.sh — an HA pair on two "hosts" made of network namespaces, for the host
# tests. Source it after tests/agent/lib.sh (assertions, MIB options, SNMPv3 users,
# the peer credentials file), then call hn_setup.
#
# Topology (every veth has both ends in test namespaces; explicit, distinct ifindexes
# so the kernel reports carrier changes at once instead of batching them):
#
#   host a (sipha-a-PID)             client c (sipha-c-PID)            host b (sipha-b-PID)
#   sip0  10.9.9.1/24   ---- br-sip 10.9.9.10/24 (sipp service DN)----  sip0  10.9.9.2/24
#   mgmt0 10.0.1.1/24   ---- br-mgmt 10.0.1.10/24 (snmptrapd, NMS) ---  mgmt0 10.0.1.2/24
#   ha0   10.0.12.1/30  ---------------- direct veth ----------------  ha0   10.0.12.2/30
#
# The SIP network carries the VIP (10.9.9.100/24 on sip0); the management network the
# operator's SNMP and the traps; ha0 only the HA link (each agent's <peer> is the
# other agent's UDP port on ha0, or on sip0 with HN_HALINK=shared), so cutting ha0
# cuts nothing else. Each host runs its own snmpd (UDP 161 on loopback and its management address), a sipp
# UAS bound on its SIP address (the SIP server's listener) and its sipha-agent.
# Everything lives in $T and in the three namespaces, removed on every exit path.

HN_A=sipha-a-$$ HN_B=sipha-b-$$ HN_C=sipha-c-$$
HN_VIP=10.9.9.100 HN_VIP_PLEN=24
HN_SIP_PORT=5060 HN_DN_PORT=5070
HN_C_SIP=10.9.9.10 HN_C_MGMT=10.0.1.10
declare -A HN_NS=([a]=$HN_A [b]=$HN_B [c]=$HN_C)
declare -A HN_SIP_IP=([a]=10.9.9.1 [b]=10.9.9.2)
declare -A HN_MGMT_IP=([a]=10.0.1.1 [b]=10.0.1.2)
declare -A HN_HA_IP=([a]=10.0.12.1 [b]=10.0.12.2)
declare -A HN_INDEX=([a]=1 [b]=2)
declare -A HN_NAME=([a]=sip-a [b]=sip-b)
declare -A HN_PRIO=()
declare -A HN_AGENT_PID=()
HN_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

hn_other() { if [ "$1" = a ]; then echo b; else echo a; fi; }
hn_ns() { echo "${HN_NS[$1]}"; }
hn_now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# Every process the test starts lives in one of its namespaces (daemons, tools, VIP
# scripts; `ip -n` monitors too), so the namespaces' pid lists are exactly what to
# stop, and a pid that died and was reused elsewhere is never hit.
hn_any_alive() { local p; for p; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
hn_cleanup() {
  local ns p pids=()
  for ns in "$HN_A" "$HN_B" "$HN_C"; do
    [ -e "/run/netns/$ns" ] && mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
  done
  if [ "${#pids[@]}" -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null
    for _ in 1 2 3 4 5; do hn_any_alive "${pids[@]}" && sleep 0.1; done
  fi
  for ns in "$HN_A" "$HN_B" "$HN_C"; do
    [ -e "/run/netns/$ns" ] || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  if [ -n "${T:-}" ]; then
    if [ -n "${T_KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
  fi
}

# hn_setup — temp dir, traps, namespaces, links, addresses. Returns non-zero on failure.
hn_setup() {
  T=$(mktemp -d /tmp/sipha-hosts.XXXXXX)
  chmod 700 "$T"
  trap hn_cleanup EXIT
  trap 'exit 130' INT TERM HUP
  # tools run here read no user or system snmp.conf and keep their state in $T
  export MIBDIRS='' MIBS='' SNMPCONFPATH="$T/c/conf" SNMP_PERSISTENT_DIR="$T/c/persist"
  local h
  for h in a b c; do mkdir -p "$T/$h/persist" "$T/$h/conf" "$T/$h/state"; done
  hn_net
}

hn_net() {
  local ns
  for ns in "$HN_A" "$HN_B" "$HN_C"; do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up || return 1
  done
  ip -n "$HN_C" link add br-sip index 230 type bridge forward_delay 0 &&
  ip -n "$HN_C" link add br-mgmt index 231 type bridge forward_delay 0 || return 1
  # host a: 110.., host b: 120.., their ends in c: 210.., 220..
  hn_host_links a 110 210 || return 1
  hn_host_links b 120 220 || return 1
  ip -n "$HN_A" link add ha0 index 112 type veth peer name ha0 index 122 netns "$HN_B" || return 1
  ip -n "$HN_A" addr add "${HN_HA_IP[a]}/30" dev ha0 &&
  ip -n "$HN_B" addr add "${HN_HA_IP[b]}/30" dev ha0 || return 1
  ip -n "$HN_C" addr add "$HN_C_SIP/24" dev br-sip &&
  ip -n "$HN_C" addr add "$HN_C_MGMT/24" dev br-mgmt || return 1
  for ns in "$HN_A" "$HN_B" "$HN_C"; do
    for l in $(ip -n "$ns" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
      ip -n "$ns" link set "$l" up || return 1
    done
  done
}

# hn_host_links HOST IFINDEX-BASE PEER-IFINDEX-BASE — sip0 and mgmt0 of HOST, their
# other ends in c enslaved to the bridges.
hn_host_links() {
  local h=$1 ns=${HN_NS[$1]}
  ip -n "$ns" link add sip0 index "$2" type veth peer name "sip-$h" index "$3" netns "$HN_C" &&
  ip -n "$ns" link add mgmt0 index $(($2 + 1)) type veth peer name "mgmt-$h" index $(($3 + 1)) \
      netns "$HN_C" || return 1
  ip -n "$HN_C" link set "sip-$h" master br-sip &&
  ip -n "$HN_C" link set "mgmt-$h" master br-mgmt || return 1
  ip -n "$ns" addr add "${HN_SIP_IP[$h]}/24" dev sip0 &&
  ip -n "$ns" addr add "${HN_MGMT_IP[$h]}/24" dev mgmt0
}

# hn_bg HOST LOG COMMAND... — runs COMMAND in HOST's namespace in the background with
# that host's Net-SNMP directories; sets HN_PID (ip netns exec and env exec it, so the
# pid is the command's own).
hn_bg() {
  local h=$1 log=$2; shift 2
  ip netns exec "${HN_NS[$h]}" env SNMP_PERSISTENT_DIR="$T/$h/persist" SNMPCONFPATH="$T/$h/conf" \
      "$@" >>"$log" 2>&1 &
  HN_PID=$!
  disown "$HN_PID" # no "Killed" job report from bash when a test kills it on purpose
}

# hn_in HOST COMMAND... — runs COMMAND in HOST's network namespace (foreground).
hn_in() {
  nsenter --net="/run/netns/${HN_NS[$1]}" env SNMP_PERSISTENT_DIR="$T/$1/persist" SNMPCONFPATH="$T/$1/conf" \
      "${@:2}"
}

# The snmpd of HOST: the shipped snippet, its own AgentX socket, the v3 users, traps
# to c's snmptrapd over the management network. Loopback serves the test's v2c reads
# (the snippet's community is 127.0.0.1-only), the management address the operator in
# c.
hn_snmpd_conf() {
  cat > "$T/$1/snmpd.conf" <<CONF
includeFile $ROOT/snmpd.conf.d/sipha.conf
agentaddress udp:127.0.0.1:161,udp:${HN_MGMT_IP[$1]}:161
agentXSocket $T/$1/agentx.sock
agentXPerms 0600 0700
createUser $ADMIN_USER SHA-256 "$ADMIN_AUTH" AES "$ADMIN_PRIV"
createUser $READER_USER SHA-256 "$READER_AUTH" AES "$READER_PRIV"
trap2sink udp:$HN_C_MGMT:162 sipha-traps
CONF
  chmod 600 "$T/$1/snmpd.conf"
}

hn_start_snmpd() {
  hn_snmpd_conf "$1"
  hn_bg "$1" "$T/$1/snmpd.out" snmpd -f -C -c "$T/$1/snmpd.conf" -Lf "$T/$1/snmpd.log" \
      -p "$T/$1/snmpd.pid" -I -ipCidrRouteTable,inetCidrRouteTable
  t_wait 10 test -S "$T/$1/agentx.sock" || { echo "snmpd on $1 did not start:"; tail "$T/$1/snmpd.log"; return 1; }
}

# hn_restart_snmpd HOST — stops HOST's snmpd (SIGTERM to the pid of its pid file,
# SIGKILL if it is still there after 5 s) and starts it again with the same
# configuration; the agent has to reconnect to it by itself.
hn_restart_snmpd() {
  local pid i
  pid=$(cat "$T/$1/snmpd.pid" 2>/dev/null)
  [ -n "$pid" ] || { echo "no snmpd pid for $1"; return 1; }
  kill -TERM "$pid" 2>/dev/null || { echo "snmpd of $1 ($pid) is not running"; return 1; }
  for ((i = 0; i < 600; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    [ "$i" -eq 500 ] && kill -9 "$pid" 2>/dev/null
    sleep 0.01
  done
  rm -f "$T/$1/agentx.sock" "$T/$1/snmpd.pid"
  hn_start_snmpd "$1"
}

hn_start_trapd() {
  cat > "$T/c/snmptrapd.conf" <<CONF
disableAuthorization yes
authCommunity log sipha-traps
CONF
  hn_bg c "$T/c/snmptrapd.out" snmptrapd -f -Lf "$T/traps.log" -C -c "$T/c/snmptrapd.conf" \
      "${MIBOPTS[@]}" -F 'TRAP %b %v\n' "udp:$HN_C_MGMT:162"
  t_wait 5 grep -q "NET-SNMP version" "$T/traps.log"
}

# hn_start_sipp HOST ADDR PORT — a sipp UAS answering OPTIONS, bound on ADDR:PORT.
hn_start_sipp() {
  hn_bg "$1" "$T/$1/sipp-$3.out" sipp -sf "$ROOT/tests/sip/options-uas.xml" -i "$2" -p "$3" \
      -nostdin -trace_err -error_file "$T/$1/sipp-$3-errors.log"
  t_wait 5 hn_udp_bound "$1" "$2" "$3"
}
hn_udp_bound() { hn_in "$1" ss -Hlun "src $2:$3" | grep -q .; }

# hn_instance_conf HOST ROLE — $T/HOST/inst.xml: SIP NIC, management NIC, one VIP on
# the SIP NIC with the test's scripts, the service DN in c (its sipp answers, so
# sip-pass-check never fires; HN_SIP_PASS_CHECK=false turns it off), the HA link to
# the peer agent: over ha0 (HN_HALINK=own, the default) or over the SIP NIC
# (HN_HALINK=shared, the one-NIC deployment). HN_EXTRA_XML is added as it is.
HN_HALINK_PORT=7400
hn_link_ip() { if [ "${HN_HALINK:-own}" = shared ]; then echo "${HN_SIP_IP[$1]}"; else echo "${HN_HA_IP[$1]}"; fi; }
hn_instance_conf() {
  local h=$1 o; o=$(hn_other "$1")
  [ -f "$T/halink.key" ] || ( umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/halink.key" )
  cat > "$T/$h/inst.xml" <<XML
<?xml version="1.0"?>
<sipha>
  <instance index="${HN_INDEX[$h]}" name="${HN_NAME[$h]}" priority="${HN_PRIO[$h]:-100}" initial-role="$2"/>
  <agentx socket="$T/$h/agentx.sock" ping-interval="1" timeout-ms="1000"/>
  <state dir="$T/$h/state"/>
  <eventlog limit="500"/>
  <options sip-pass-check="${HN_SIP_PASS_CHECK:-true}" control-vip-scripts="${HN_CONTROL_VIP:-false}"
           sip-iptakeover-monitoring="true" tlib-nic-monitoring="true" sip-nic-monitoring="true"
           sip-nic-address="${HN_SIP_IP[$h]}"/>
  <sip address="${HN_SIP_IP[$h]}" port="$HN_SIP_PORT"/>
  <script timeout-ms="3000"/>
  <nic purpose="management" name="mgmt0" address="${HN_MGMT_IP[$h]}"/>
  <nic purpose="sip" name="sip0" address="${HN_SIP_IP[$h]}"/>
  <vip address="$HN_VIP" prefix-len="$HN_VIP_PLEN" interface="sip0"
       up-script="$HN_HERE/vip-up.sh" down-script="$HN_HERE/vip-down.sh"/>
  <service-dn name="gw" uri="sip:gw@$HN_C_SIP:$HN_DN_PORT" oos-check="${HN_OOS_CHECK:-2}" oos-force="5"/>
  <peer name="${HN_NAME[$o]}" index="${HN_INDEX[$o]}" address="$(hn_link_ip "$o"):$HN_HALINK_PORT"
        bind="$(hn_link_ip "$h"):$HN_HALINK_PORT" key-file="$T/halink.key"
        interval-ms="${HN_INTERVAL_MS:-15}" miss-count="${HN_MISS_COUNT:-3}"/>
  <takeover announce-count="3" announce-interval-ms="100" vip-lifetime="${HN_VIP_LIFETIME:-3}"/>
  ${HN_EXTRA_XML:-}
</sipha>
XML
}

# hn_start_agent HOST — starts HOST's sipha-agent; sets HN_AGENT_PID[HOST]; waits until
# its rows are served by its snmpd.
hn_start_agent() {
  hn_bg "$1" "$T/$1/agent.log" "$BUILD/sipha-agent" -f -c "$T/$1/inst.xml"
  HN_AGENT_PID[$1]=$HN_PID
  t_wait 10 hn_has "$1" "SIPHA-MIB::siphaInstName.${HN_INDEX[$1]}"
}

# --- reading a host ------------------------------------------------------------------
# The timed checks poll as fast as they can, so a read must be cheap: snmpget without
# MIB files (numeric OID learnt once, enum labels mapped here) entered with nsenter
# (ip netns exec also remounts /sys), about 30 ms instead of 110.
declare -A HN_OID=() HN_ENUM=()
# hn_learn OBJECT — caches OBJECT's numeric OID and its enum labels
hn_learn() {
  local oid syntax pair
  oid=$(snmptranslate -On "${MIBOPTS[@]}" "SIPHA-MIB::$1" 2>/dev/null) || return 1
  HN_OID[$1]=$oid
  syntax=$(snmptranslate -Td "${MIBOPTS[@]}" "SIPHA-MIB::$1" 2>/dev/null | sed -n 's/^ *SYNTAX[[:space:]]*//p')
  while read -r pair; do
    HN_ENUM[$1.${pair#*(}]=${pair%(*}   # key OBJECT.N) — the ")" stays in the key
  done < <(grep -oE '[a-zA-Z][a-zA-Z0-9-]*\([0-9]+\)' <<<"$syntax")
}
# hn_get HOST OBJECT [ROW] — OBJECT.INDEX-of-HOST[.ROW] from HOST's snmpd (v2c from the
# host itself: the shipped snippet allows v2c from 127.0.0.1 only); enums as labels.
hn_get() {
  [ -n "${HN_OID[$2]:-}" ] || hn_learn "$2" || return 1
  local v
  v=$(nsenter --net="/run/netns/${HN_NS[$1]}" snmpget -v2c -c "$COMMUNITY" -r 0 -t 1 -m "" \
      -Oqv udp:127.0.0.1:161 "${HN_OID[$2]}.${HN_INDEX[$1]}${3:+.$3}" 2>/dev/null) || return 1
  echo "${HN_ENUM[$2.$v)]:-$v}"
}
hn_has() {
  local v; v=$(hn_in "$1" snmpget -v2c -c "$COMMUNITY" -r 0 -t 1 "${MIBOPTS[@]}" -Oqv \
      udp:127.0.0.1:161 "$2" 2>/dev/null) && [ -n "$v" ] && ! grep -q '^No Such' <<<"$v"
}
hn_role() { hn_get "$1" siphaInstRole; }
hn_status() { hn_get "$1" siphaInstStatus; }
# hn_vip_on HOST — the VIP is on HOST's sip0 (as the kernel has it)
hn_vip_on() { [ -n "$(ip -n "${HN_NS[$1]}" -o addr show dev sip0 to "$HN_VIP" 2>/dev/null)" ]; }
# hn_roles — "ROLE-OF-A/ROLE-OF-B"
hn_roles() { echo "$(hn_role a)/$(hn_role b)"; }
hn_vips() { local h s=; for h in a b; do hn_vip_on "$h" && s+=$h; done; echo "${s:-none}"; }

# hn_v3 TOOL HOST ARGS... — an operator's SNMPv3 authPriv request from c to HOST's
# snmpd over the management network.
hn_v3() {
  local tool=$1 h=$2; shift 2
  hn_in c "$tool" -v3 -u "$ADMIN_USER" -l authPriv -a SHA-256 -A "$ADMIN_AUTH" -x AES \
      -X "$ADMIN_PRIV" -r 1 -t 2 "${MIBOPTS[@]}" "udp:${HN_MGMT_IP[$h]}:161" "$@"
}

# hn_snmp_from NS-HOST ADDRESS TOOL ARGS... — a read with the SNMPv3 reader (authPriv)
# from the namespace of NS-HOST (a, b or c) to the snmpd at ADDRESS.
hn_snmp_from() {
  local h=$1 addr=$2 tool=$3; shift 3
  hn_in "$h" "$tool" -v3 -u "$READER_USER" -l authPriv -a SHA-256 -A "$READER_AUTH" -x AES \
      -X "$READER_PRIV" -r 1 -t 2 "${MIBOPTS[@]}" "udp:$addr:161" "$@"
}

# hn_traps PATTERN — notifications received so far matching the extended regex
hn_traps() { grep -cE -- "$1" "$T/traps.log" 2>/dev/null || true; }
# hn_trap_re NOTIFICATION HOST — a regex for that notification sent by HOST's instance
hn_trap_re() { echo "OID: SIPHA-MIB::$1[[:space:]].*siphaInstName\.${HN_INDEX[$2]} = "; }

# hn_wait_ms SECONDS COMMAND... — polls COMMAND as fast as it runs until it succeeds;
# HN_MS = milliseconds from HN_T0 (set it just before the fault) to that success.
hn_wait_ms() {
  local end=$(( $(hn_now_ms) + $1 * 1000 )); shift
  while [ "$(hn_now_ms)" -le "$end" ]; do
    if "$@" >/dev/null 2>&1; then HN_MS=$(( $(hn_now_ms) - HN_T0 )); return 0; fi
    sleep 0.02
  done
  HN_MS=$(( $(hn_now_ms) - HN_T0 ))
  return 1
}

# hn_start_addrmon — one `ip monitor address all-nsid` in c that also hears a and b
# (through their nsids in c): one netlink socket gets the events of both hosts in the
# order the kernel made them, each timestamped, so VIP moves are timed to the
# millisecond and their order (down on the old primary before up on the new) is exact.
declare -A HN_NSID=()
# hn_nsid HOST — HOST's nsid in c; the kernel gave one already when the veths were
# moved, otherwise one is assigned
hn_nsid() {
  local id
  id=$(ip -n "$HN_C" netns list-id | sed -n "s/^nsid \([0-9]*\) (iproute2 netns name: ${HN_NS[$1]})\$/\1/p")
  if [ -z "$id" ]; then
    ip -n "$HN_C" netns set "${HN_NS[$1]}" auto || return 1
    id=$(ip -n "$HN_C" netns list-id | sed -n "s/^nsid \([0-9]*\) (iproute2 netns name: ${HN_NS[$1]})\$/\1/p")
  fi
  [ -n "$id" ] && HN_NSID[$1]=$id
}
hn_start_addrmon() {
  hn_nsid a && hn_nsid b || return 1
  ip -n "$HN_C" -ts monitor address all-nsid > "$T/addr.mon" 2>&1 &
  disown "$!"
}
# hn_vip_events — "MS HOST add|del" for every VIP event at or after HN_T0, in kernel
# order, MS counted from HN_T0
hn_vip_events() {
  local line ts ms h op
  while IFS= read -r line; do
    case $line in *" inet $HN_VIP/"*) ;; *) continue ;; esac
    case $line in *"[nsid ${HN_NSID[a]}]"*) h=a ;; *"[nsid ${HN_NSID[b]}]"*) h=b ;; *) continue ;; esac
    case $line in *"]Deleted "*|*"] Deleted "*) op=del ;; *) op=add ;; esac
    ts=${line#\[}; ts=${ts%%]*}
    ms=$(date -d "$ts" +%s%3N 2>/dev/null) || continue
    [ "$ms" -ge "$HN_T0" ] && echo "$((ms - HN_T0)) $h $op"
  done < "$T/addr.mon"
}
# hn_vip_event_ms HOST add|del — ms from HN_T0 to the first such event (empty if none)
hn_vip_event_ms() { hn_vip_events | awk -v h="$1" -v op="$2" '$2 == h && $3 == op { print $1; exit }'; }
# hn_vip_handover_ordered FROM TO — since HN_T0 the VIP left FROM before it reached TO
hn_vip_handover_ordered() {
  hn_vip_events | awk -v f="$1" -v t="$2" '
    $2 == f && $3 == "del" && !seen_del { seen_del = 1 }
    $2 == t && $3 == "add" { ok = seen_del; found = 1; exit }
    END { exit !(found && ok) }'
}

# hn_dump — what to look at when something failed
hn_dump() {
  local h
  echo "--- roles $(hn_roles), VIP on: $(hn_vips)"
  for h in a b; do echo "--- agent $h (last 40 lines)"; tail -n 40 "$T/$h/agent.log"; done
  echo "--- traps (last 30: notification, sending instance)"
  tail -n 30 "$T/traps.log" | awk '{
    n = ""; i = ""
    if (match($0, /snmpTrapOID\.0 = OID: [^ \t]+/)) n = substr($0, RSTART + 21, RLENGTH - 21)
    if (match($0, /siphaInstName\.[0-9]+ = STRING: [^ \t]+/)) i = substr($0, RSTART, RLENGTH)
    print n, i }'
  echo "--- VIP address events (ms from the last fault)"
  hn_vip_events | tail -n 12
}

# --- Kamailio on a host (kamailio/sipha.cfg) -------------------------------------------
# hn_kam_start HOST — Kamailio in its own process group (a crash is modelled by killing
# the group, as systemd would), on the host's SIP address and the VIP (ip_free_bind:
# the backup binds the VIP before it holds it), JSON-RPC and evapi on the host's
# loopback; waits until it answers JSON-RPC. HN_KAM_SIP_XML is the agent's matching
# <sip-server> element (put it in HN_EXTRA_XML).
HN_KAM_RPC_PORT=5090 HN_KAM_EVAPI_PORT=5091
HN_KAM_SIP_XML="<sip-server kind=\"kamailio\" rpc=\"http://127.0.0.1:$HN_KAM_RPC_PORT/RPC\" events=\"127.0.0.1:$HN_KAM_EVAPI_PORT\" reconcile=\"30\"/>"
declare -A HN_KAM_PID=()
HN_KAM_ARGS=() # more kamailio options, e.g. (-A MIN_EXPIRES=5)
hn_kam_start() {
  local h=$1 d=$T/$1/kam
  mkdir -p "$d"
  hn_bg "$h" "$T/$h/kamailio.log" setsid kamailio -DD -E -f "$ROOT/kamailio/sipha.cfg" \
      -P "$d/kamailio.pid" -m 64 -M 32 -A "NODE_IP=${HN_SIP_IP[$h]}" -A "VIP=$HN_VIP" \
      -A "SIP_PORT=$HN_SIP_PORT" -A "RPC_PORT=$HN_KAM_RPC_PORT" -A "EVAPI_PORT=$HN_KAM_EVAPI_PORT" \
      -A "RUN_DIR=\"$d\"" "${HN_KAM_ARGS[@]}"
  HN_KAM_PID[$h]=$HN_PID
  t_wait 15 hn_kam_rpc "$h" core.version
}
hn_kam_kill() { kill -9 -- "-${HN_KAM_PID[$1]}" 2>/dev/null; }
# hn_kam_rpc HOST METHOD [PARAMS-JSON] — one JSON-RPC call to HOST's Kamailio
hn_kam_rpc() {
  hn_in "$1" curl -sf -m 10 -H 'Content-Type: application/json' \
      -d "{\"jsonrpc\":\"2.0\",\"method\":\"$2\",\"params\":${3:-[]},\"id\":1}" \
      "http://127.0.0.1:$HN_KAM_RPC_PORT/RPC"
}
# hn_kam_contacts HOST — contacts in HOST's Kamailio location table
hn_kam_contacts() { hn_kam_rpc "$1" ul.dump | grep -o '"Contact":{' | wc -l; }
# hn_mib_contacts HOST — rows of HOST's siphaContactTable (any origin)
hn_mib_contacts() {
  hn_in "$1" snmpbulkwalk -v2c -c "$COMMUNITY" -r 1 -t 5 -Cr50 "${MIBOPTS[@]}" -Oq udp:127.0.0.1:161 \
      "SIPHA-MIB::siphaContactOrigin.${HN_INDEX[$1]}" 2>/dev/null | grep -c '^SIPHA-MIB::siphaContactOrigin'
}
