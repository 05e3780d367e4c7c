#!/usr/bin/env bash
# b_etcd_agents.sh — the etcd arbiter with the real pair: two hosts in network
# namespaces (tests/hosts/lib_netns.sh: snmpd and sipha-agent each, the HA link on its
# own NIC at its defaults, VIP on sip0) and a three-member etcd cluster in the client
# namespace (tests/hosts/lib_etcd.sh), both agents with <arbiter kind="etcd" ttl-s=3>.
#
#   crash   kill -9 of the primary's agent, 0-750 ms (a renewal period) after a random
#           point: fault -> the VIP added on the peer (the kernel's address event), which
#           the peer does only once it holds the key, so this is the election time. The
#           dead host's VIP is removed by hand and its agent restarted as backup; the
#           roles alternate, so the victim is the last run's new primary.
#   set     snmpset -v3 switchover on the primary: snmpset's exit -> the VIP added on the
#           peer (the key released by one and taken by the other in that time).
# After each run the key must name the new primary. Records: etcd_agents_* in
# $BENCH_RECORDS. Settings: EA_RUNS (default 20; quick 5). Root only.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
export ROOT BUILD
if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED: needs root (network namespaces)"; exit 0; fi
for tool in etcd sipp curl python3; do
  command -v "$tool" >/dev/null || { echo "b_etcd_agents: '$tool' is missing (make deps)"; exit 1; }
done
# shellcheck source=common.sh
source "$ROOT/bench/common.sh"
# shellcheck source=../tests/agent/lib.sh
source "$ROOT/tests/agent/lib.sh"
# shellcheck source=../tests/hosts/lib_netns.sh
source "$ROOT/tests/hosts/lib_netns.sh"
# shellcheck source=../tests/hosts/lib_etcd.sh
source "$ROOT/tests/hosts/lib_etcd.sh"

RUNS=${EA_RUNS:-$(b_reps 5 20)}
hn_setup || { echo "b_etcd_agents: cannot build the namespaces"; exit 1; }
hn_etcd_setup || exit 1
HN_EXTRA_XML=$(hn_etcd_xml)
for h in a b; do hn_start_snmpd "$h" || { echo "b_etcd_agents: snmpd on $h"; exit 1; }; done
hn_start_sipp c "$HN_C_SIP" "$HN_DN_PORT" || { echo "b_etcd_agents: service DN"; exit 1; }
hn_instance_conf a primary
hn_instance_conf b backup
for h in a b; do hn_start_agent "$h" || { echo "b_etcd_agents: agent $h"; exit 1; }; done
settled() { # $1 primary: roles right, the VIP on it alone, the key its own
  local o; o=$(hn_other "$1")
  [ "$(hn_role "$1")/$(hn_role "$o")" = primary/backup ] && hn_vip_on "$1" && ! hn_vip_on "$o" &&
    [ "$(hn_etcd_holder_name)" = "${HN_NAME[$1]}" ]
}
t_wait 20 settled a || { echo "b_etcd_agents: the pair did not form ($(hn_roles), key $(hn_etcd_holder))"; exit 1; }
hn_start_addrmon || { echo "b_etcd_agents: no address monitor"; exit 1; }
sleep 0.5

P=a
crash=() set=() bad=0
for ((r = 0; r < RUNS; r++)); do
  Q=$(hn_other "$P")
  sleep "0.$((RANDOM % 750 + 250))"
  HN_T0=$(hn_now_ms)
  kill -9 "${HN_AGENT_PID[$P]}"
  t_wait $((HN_ETCD_TTL + 10)) hn_vip_on "$Q"
  ms=$(hn_vip_event_ms "$Q" add)
  ip -n "${HN_NS[$P]}" addr del "$HN_VIP/$HN_VIP_PLEN" dev sip0 2>/dev/null
  hn_instance_conf "$P" backup
  hn_start_agent "$P" || { echo "b_etcd_agents: agent $P did not restart"; exit 1; }
  if [ -n "$ms" ] && t_wait 15 settled "$Q"; then
    crash+=("$ms"); echo "  crash run $((r + 1)): ${HN_NAME[$Q]} primary after $ms ms"
  else
    bad=$((bad + 1)); echo "  crash run $((r + 1)): no clean takeover (${ms:-no VIP event}; $(hn_roles), key $(hn_etcd_holder))"
    t_wait 20 settled "$Q" || t_wait 1 settled "$P" || { echo "b_etcd_agents: the pair does not settle"; exit 1; }
    settled "$Q" || Q=$P
  fi
  P=$Q
done
b_record etcd_agents_crash "etcd arbiter, real pair: kill -9 of the primary -> VIP on the peer (it holds the key), TTL $HN_ETCD_TTL s" \
  ms "<=" $((HN_ETCD_TTL * 1000 + 1000)) "<= TTL + 1 s" "${crash[*]}" "runs without a clean takeover: $bad of $RUNS"

bad=0
for ((r = 0; r < RUNS; r++)); do
  Q=$(hn_other "$P")
  sleep "0.$((RANDOM % 750 + 250))"
  HN_T0=$(hn_now_ms)
  hn_v3 snmpset "$P" "SIPHA-MIB::siphaInstAdminCommand.${HN_INDEX[$P]}" i 2 > /dev/null 2>&1
  t_set=$(( $(hn_now_ms) - HN_T0 ))
  t_wait 10 hn_vip_on "$Q"
  ms=$(hn_vip_event_ms "$Q" add)
  if [ -n "$ms" ] && t_wait 15 settled "$Q"; then
    set+=("$((ms - t_set))"); echo "  switchover run $((r + 1)): VIP on ${HN_NAME[$Q]} $((ms - t_set)) ms after the SET returned"
    P=$Q
  else
    bad=$((bad + 1)); echo "  switchover run $((r + 1)): no clean switchover (${ms:-no VIP event}; $(hn_roles), key $(hn_etcd_holder))"
    t_wait 20 settled "$P" || t_wait 1 settled "$Q" || { echo "b_etcd_agents: the pair does not settle"; exit 1; }
    settled "$Q" && P=$Q
  fi
done
b_record etcd_agents_set "etcd arbiter, real pair: SET switchover accepted -> VIP on the peer (key moved in the same step)" \
  ms "<=" 30 "<= 30 ms" "${set[*]}" "runs without a clean switchover: $bad of $RUNS"
