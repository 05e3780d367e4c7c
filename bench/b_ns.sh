#!/usr/bin/env bash
# Benchmarks 3, 4, 5, 6 — the two-host pair in network namespaces.
#
# Three namespaces made here (names end in this shell's pid): hosts A and B, and S,
# a "switch" holding two bridges and the NMS. Each host has a management NIC mg0
# (10.231.1.x/24, bridge brm) carrying the HA link, the NMS's SNMP and the traps,
# and a SIP NIC sip0 (10.231.2.x/24, bridge brs) holding the SIP listener and the
# VIP 10.231.2.100/32. Both ends of every veth live in these namespaces, each end
# with its own ifindex. Each host runs its own snmpd, sipha-agent (instance 1 on A,
# 2 on B; sip-nic-monitoring and sip-iptakeover-monitoring on, VIP scripts that
# add/remove the VIP with `ip addr`) and a SIP listener (sip_responder). S runs the
# trap receiver (trap_receiver.py, 10.231.1.254:162) and sends the SETs.
#
# Event times: the VIP's arrival from `ip -ts monitor address` in A and B (stamped
# when the monitor reads the kernel's notification), traps from the trap receiver's
# stamps, the link-down fault from link_flip (wall clock just before its ioctl).
#   [3] switchover: snmpset (v3 authPriv, from S) of siphaInstAdminCommand=switchover
#       on the primary; from snmpset's exit to the VIP added on the peer.
#   [6] SIP NIC down: sip0 set down (link_flip) on the primary at a random point of
#       the heartbeat cycle; from then to the VIP on the peer.
#   [4] the same fault: from then to siphaNicFailure at the trap receiver.
#   [5] kill -9 of the primary agent at a random point; from the kill to the VIP on
#       the peer (and to siphaPeerLost at the trap receiver).
source "$(dirname "$0")/common.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "b_ns.sh: SKIPPED (needs root for network namespaces)"
  for k in ns_switchover ns_nic_vip ns_nic_trap ns_kill_vip; do
    printf '%s\t%s\t\t\t\t\t\t%s\n' "$k" "namespace pair: $k" "SKIPPED: needs root" >> "$BENCH_RECORDS"
  done
  exit 0
fi
b_setup

NS_A=sbench-a-$$ NS_B=sbench-b-$$ NS_S=sbench-s-$$
NS=("" "$NS_A" "$NS_B")       # by instance index
VIP=10.231.2.100
ns_cleanup() { local n; for n in "$NS_A" "$NS_B" "$NS_S"; do ip netns del "$n" 2>/dev/null; done; }
B_CLEANUP_HOOKS+=(ns_cleanup)

ns_setup() {
  local n h i
  for n in "$NS_A" "$NS_B" "$NS_S"; do ip netns add "$n" && ip -n "$n" link set lo up || return 1; done
  ip -n "$NS_S" link add brm type bridge && ip -n "$NS_S" link add brs type bridge || return 1
  ip -n "$NS_S" addr add 10.231.1.254/24 dev brm
  ip -n "$NS_S" addr add 10.231.2.254/24 dev brs
  for i in 1 2; do
    n=${NS[$i]}; h=$([ "$i" = 1 ] && echo a || echo b)
    ip -n "$n" link add mg0 index $((400 + 10 * i + 1)) type veth \
      peer name "mg$h" netns "$NS_S" index $((400 + 10 * i + 2)) || return 1
    ip -n "$n" link add sip0 index $((400 + 10 * i + 3)) type veth \
      peer name "sip$h" netns "$NS_S" index $((400 + 10 * i + 4)) || return 1
    ip -n "$NS_S" link set "mg$h" master brm up
    ip -n "$NS_S" link set "sip$h" master brs up
    ip -n "$n" addr add "10.231.1.$i/24" dev mg0
    ip -n "$n" addr add "10.231.2.$i/24" dev sip0
    ip -n "$n" link set mg0 up
    ip -n "$n" link set sip0 up
  done
  ip -n "$NS_S" link set brm up && ip -n "$NS_S" link set brs up
}
ns_setup || { echo "b_ns.sh: namespace setup failed"; exit 1; }

cat > "$T/vip.sh" <<'SH'
#!/bin/sh
# sipha VIP script: argv up|down VIP PREFIXLEN INTERFACE
case "$1" in
  up) exec ip addr replace "$2/$3" dev "$4" ;;
  down) ip addr del "$2/$3" dev "$4" 2>/dev/null; exit 0 ;;
esac
exit 2
SH
chmod 755 "$T/vip.sh"
b_peer_key

host_conf() { # INDEX NAME ROLE PEER-INDEX PEER-NAME
  {
    b_xml_head "$1" "$2" "$3" "$T/agentx-$1.sock" "10.231.2.$1" 5060
    cat <<XML
  <options sip-nic-monitoring="true" sip-iptakeover-monitoring="true"/>
  <script timeout-ms="3000"/>
  <nic purpose="management" name="mg0" address="10.231.1.$1"/>
  <nic purpose="sip" name="sip0" address="10.231.2.$1"/>
  <vip address="$VIP" prefix-len="32" interface="sip0" up-script="$T/vip.sh" down-script="$T/vip.sh"/>
  <peer name="$5" index="$4" address="10.231.1.$4:7400" bind="10.231.1.$1:7400"
        key-file="$T/halink.key"/>
</sipha>
XML
  } > "$T/agent$1.xml"
}
host_conf 1 sip-a primary 2 sip-b
host_conf 2 sip-b backup 1 sip-a

TRAPS="$T/traps.log"
TRAP_NS=$NS_S b_start_trap_receiver "$TRAPS" 10.231.1.254:162 || { echo "trap receiver did not start"; exit 1; }
for i in 1 2; do
  ip -ts -n "${NS[$i]}" monitor link address > "$T/mon$i.log" 2>&1 &
  B_PIDS+=("$!")
  b_snmpd_conf "$T/snmpd$i.conf" "$T/agentx-$i.sock" "udp:10.231.1.$i:161,udp:127.0.0.1:161" \
    "udp:10.231.1.254:162"
  b_start_snmpd "snmpd$i" "${NS[$i]}" || exit 1
  RESP_NS=${NS[$i]} b_start_responder "sip$i" "10.231.2.$i:5060"
  b_start_agent "agent$i" "${NS[$i]}"
done

# s_get INDEX COLUMN...: values of instance INDEX's columns, asked from S.
s_get() {
  local i=$1 c oids=(); shift
  for c in "$@"; do oids+=("$INST_TABLE.$c.$i"); done
  ip netns exec "$NS_S" snmpget -v2c -c "$RO_COMMUNITY" "${SNMP_CLIENT[@]}" -Ov -t 0.5 \
    "udp:10.231.1.$i:161" "${oids[@]}" 2>/dev/null | tr '\n' ' '
}
has_vip() { ip -n "${NS[$1]}" -4 addr show dev sip0 | grep -q " $VIP/"; }
# settled P: P primary, the other backup, both running with the peer link up,
# the VIP on P only.
settled() {
  local p=$1 o=$((3 - $1))
  [ "$(s_get "$p" 3 4 24)" = "2 4 2 " ] && [ "$(s_get "$o" 3 4 24)" = "3 4 2 " ] &&
    has_vip "$p" && ! has_vip "$o"
}
# wait_settled P: true when settled; then leaves time for one heartbeat each way
# (the engine hands over only to a peer heard since its last role change).
wait_settled() {
  if b_wait 15 settled "$1"; then sleep 0.4; return 0; fi
  echo "  pair did not settle with $1 primary: 1: $(s_get 1 3 4 24) 2: $(s_get 2 3 4 24)"
  return 1
}
primary() { if [ "$(s_get 1 3)" = "2 " ]; then echo 1; else echo 2; fi; }
ev() { python3 "$ROOT/bench/evtime.py" "$@"; }
ms() { b_ms "$1" "$2"; }
# quiet: the measured path runs undisturbed; the event logs are read afterwards
# (starting python or ip while it runs would compete for the CPUs).
quiet() { sleep 0.7; }
rand_sleep() { sleep "$(b_calc %.3f "$RANDOM / 32768")"; }

wait_settled 1 || { tail -5 "$T"/agent*.log; exit 1; }

N=$(b_reps 3 9)
echo "[3] manual switchover: $N runs"
sw_ret="" sw_start=""
for r in $(seq "$N"); do
  p=$(primary); o=$((3 - p))
  rand_sleep
  t0=$EPOCHREALTIME
  ip netns exec "$NS_S" snmpset -v3 -u "$ADMIN_USER" -l authPriv -a SHA-256 -A "$ADMIN_AUTH" \
    -x AES -X "$ADMIN_PRIV" "${SNMP_CLIENT[@]}" -t 2 "udp:10.231.1.$p:161" "$INST_TABLE.32.$p" i 2 >/dev/null ||
    echo "  run $r: snmpset failed"
  t1=$EPOCHREALTIME
  quiet
  if tv=$(ev --wait 5 vip "$T/mon$o.log" "$t0" "$VIP"); then
    sw_ret+=" $(ms "$t1" "$tv")"; sw_start+=" $(ms "$t0" "$tv")"
  else echo "  run $r: no VIP on instance $o within 5 s"; fi
  wait_settled "$o" || break
done
b_record ns_switchover "manual switchover: SET accepted (snmpset exit) → VIP on the peer" ms "<=" 30 \
  "p50 <= 30 ms (keepalived graceful stop 61.6 ms)" "$sw_ret" \
  "$(grep -q -- ' -' <<<"$sw_ret" && echo "negative: the VIP was up before snmpset had read the reply")"
b_record ns_switchover_start "manual switchover: snmpset started → VIP on the peer" ms "" "" "" "$sw_start" \
  "includes snmpset's start-up and SNMPv3 discovery"

echo "[6][4] SIP NIC link down on the primary: $N runs"
nic_vip="" nic_trap=""
for r in $(seq "$N"); do
  p=$(primary); o=$((3 - p))
  rand_sleep
  t0=$EPOCHREALTIME
  read -r tf _ < <(ip netns exec "${NS[$p]}" "$BENCH_BIN/link_flip" sip0 down)
  quiet
  [ -n "$tf" ] || { echo "  run $r: link_flip failed"; tf=$t0; }
  if tv=$(ev --wait 5 vip "$T/mon$o.log" "$t0" "$VIP"); then nic_vip+=" $(ms "$tf" "$tv")"
  else echo "  run $r: no VIP on instance $o within 5 s"; fi
  if tt=$(ev --wait 3 trap "$TRAPS" "$t0" "${NOTIF#.}.11" "$p"); then nic_trap+=" $(ms "$tf" "$tt")"
  else echo "  run $r: no siphaNicFailure from instance $p within 3 s"; fi
  ip -n "${NS[$p]}" link set sip0 up
  wait_settled "$o" || break
  # A node whose NIC came back may not lead alone for settle_ms (1.5 s, the engine's
  # anti-flap rule): the next run starts from a settled pair.
  sleep 1.2
done
b_record ns_nic_vip "SIP NIC link down on the primary → VIP on the backup" ms "<=" 30 \
  "p50 <= 30 ms (keepalived VRRPv3 0.1 s: 311 ms)" "$nic_vip" "fault at a random point of the heartbeat cycle (15 ms, the default)"
b_record ns_nic_trap "fault (SIP NIC down) → siphaNicFailure at the trap receiver" ms "<=" 10 \
  "p50 <= 10 ms" "$nic_trap" "agent → AgentX → snmpd → UDP trap to the NMS namespace"

echo "[5] kill -9 of the primary agent: $N runs"
kill_vip="" kill_trap=""
for r in $(seq "$N"); do
  p=$(primary); o=$((3 - p))
  pidvar=AGENT_PID_agent$p; victim=${!pidvar}
  rand_sleep
  t0=$EPOCHREALTIME
  { kill -9 "$victim"; wait "$victim"; } 2>/dev/null
  quiet
  if tv=$(ev --wait 5 vip "$T/mon$o.log" "$t0" "$VIP"); then kill_vip+=" $(ms "$t0" "$tv")"
  else echo "  run $r: no VIP on instance $o within 5 s"; fi
  if tt=$(ev --wait 3 trap "$TRAPS" "$t0" "${NOTIF#.}.15" "$o"); then kill_trap+=" $(ms "$t0" "$tt")"
  else echo "  run $r: no siphaPeerLost from instance $o within 3 s"; fi
  # The dead agent left its VIP behind (no script ran): the host's restarted
  # agent would remove it (sip-iptakeover-monitoring); do it now so every run starts alike.
  ip -n "${NS[$p]}" addr del "$VIP/32" dev sip0 2>/dev/null
  b_start_agent "agent$p" "${NS[$p]}"
  wait_settled "$o" || break
done
b_record ns_kill_vip "primary agent killed (kill -9) → VIP on the backup" ms "<=" 100 \
  "p50 <= 100 ms (keepalived VRRPv3 0.1 s: 298 ms)" "$kill_vip" "kill at a random point of the heartbeat cycle (15 ms, the default)"
b_record ns_kill_trap "fault (kill -9 of the primary) → siphaPeerLost at the trap receiver" ms "" "" "" "$kill_trap"
