# tests/nms/lib.sh — shared by the NMS integration tests: the agent tests' lib.sh
# (private snmpd master on loopback, agents, assertions, cleanup) plus a sipha pair
# whose SIP stand-ins sit on free ports (not 5060 + index), so that these tests can run
# beside the agent tests.
# shellcheck shell=bash

source "$(dirname "${BASH_SOURCE[0]}")/../agent/lib.sh"
# shellcheck disable=SC2034 # for the test scripts that source this file
NMS="$ROOT/nms"
# shellcheck disable=SC2034 # for the test scripts that source this file
MIBPATH="$ROOT/build/ietf-mibs:$ROOT/mib"

# n_need FILE|COMMAND...: fail the test (one FAIL line, summary) when one is missing.
n_need() {
  local x missing=""
  for x in "$@"; do
    case "$x" in
      /*) [ -e "$x" ] || missing+=" $x" ;;
      *) command -v "$x" >/dev/null 2>&1 || missing+=" $x" ;;
    esac
  done
  if [ -n "$missing" ]; then
    t_fail "missing:$missing (make deps; make all mibs)"
    t_summary
    exit 1
  fi
}

# n_pair_conf INDEX NAME ROLE PEER-INDEX PEER-NAME SIP-PORT DN-PORT — $T/inst-INDEX.xml:
# one instance of a single-host pair, its SIP listener on 127.0.0.1:SIP-PORT, one
# service DN probed on 127.0.0.1:DN-PORT; options off (nothing moves the role but the
# test). The HA link's heartbeat is 100 ms and the peer is lost after 10 of them: these
# tests are about what an NMS sees, not about failover times, and on a loaded machine
# the default 45 ms detection moves the role by itself when a process waits that long
# for a CPU. Call t_peer_key first.
n_pair_conf() {
  local own="HALINK_PORT_$1" peer="HALINK_PORT_$4"
  mkdir -p "$T/state"
  cat > "$T/inst-$1.xml" <<XML
<?xml version="1.0"?>
<sipha>
  <instance index="$1" name="$2" priority="$((200 - $1))" initial-role="$3"/>
  <agentx socket="$AGENTX" ping-interval="1" timeout-ms="1000"/>
  <state dir="$T/state"/>
  <eventlog limit="50"/>
  <options sip-pass-check="false" control-vip-scripts="false" sip-iptakeover-monitoring="false"
           tlib-nic-monitoring="false" sip-nic-monitoring="false"/>
  <sip address="127.0.0.1" port="$6"/>
  <nic purpose="management" name="lo"/>
  <vip address="192.0.2.$((100 + $1))" interface="lo" up-script="/bin/true" down-script="/bin/true"/>
  <service-dn name="gw$1" uri="sip:gw$1@127.0.0.1:$7" oos-check="1" oos-force="5"/>
  <contact aor="sip:100$1@example.com" uri="sip:100$1@127.0.0.1:6000" expires="3600"/>
  <peer name="$5" index="$4" address="127.0.0.1:${!peer}" bind="127.0.0.1:${!own}"
        key-file="$T/halink.key" interval-ms="100" miss-count="10"/>
</sipha>
XML
}

# n_start_pair: snmpd, SIP stand-ins, instance 1 (sip-a) primary and 2 (sip-b)
# backup, settled. Returns non-zero (and says why) when the pair does not settle.
n_start_pair() {
  t_start_snmpd || return 1
  t_peer_key
  local p1 p2 d1 d2
  p1=$(t_free_port udp) p2=$(t_free_port udp) d1=$(t_free_port udp) d2=$(t_free_port udp)
  { t_sip_peer "$p1" && t_sip_peer "$p2" && t_sip_peer "$d1" && t_sip_peer "$d2"; } ||
    { echo "sipp stand-ins did not start"; return 1; }
  n_pair_conf 1 sip-a primary 2 sip-b "$p1" "$d1"
  n_pair_conf 2 sip-b backup 1 sip-a "$p2" "$d2"
  t_start_agent 1 || { echo "agent 1 did not register"; tail "$T/agent-1.log"; return 1; }
  t_start_agent 2 || { echo "agent 2 did not register"; tail "$T/agent-2.log"; return 1; }
  t_wait 10 n_roles_are primary/backup || { echo "pair did not settle: $(n_roles)"; return 1; }
  t_wait 10 n_linked || { echo "HA link not up both ways"; return 1; }
  t_wait 10 n_dns_in_service || { echo "service DNs not in service"; return 1; }
}

n_roles() { echo "$(t_get_v2 SIPHA-MIB::siphaInstRole.1)/$(t_get_v2 SIPHA-MIB::siphaInstRole.2)"; }
n_roles_are() { [ "$(n_roles)" = "$1" ]; }
# n_linked: each instance hears its peer, and its peer says it hears it too.
n_linked() {
  [ "$(t_get_v2 SIPHA-MIB::siphaInstPeerLinkState.1 SIPHA-MIB::siphaInstPeerLinkState.2 \
       SIPHA-MIB::siphaInstPeerHearsUs.1 SIPHA-MIB::siphaInstPeerHearsUs.2 | tr '\n' /)" = up/up/true/true/ ]
}
n_dns_in_service() {
  [ "$(t_get_v2 SIPHA-MIB::siphaDnState.1.1 SIPHA-MIB::siphaDnState.2.1 | tr '\n' /)" = inService/inService/ ]
}
