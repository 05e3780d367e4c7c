#!/usr/bin/env bash
# Benchmark 2 — the idle agent: CPU % and resident memory.
#
# Three healthy, idle instances under one private snmpd on loopback: a standalone
# one (no peer) and the two members of a single-host pair (the UDP HA link on two
# loopback ports at its defaults: 15 ms from the primary, 500 ms from the backup). Each
# has its SIP listener (the
# SIP responder holds its port) and one service DN probed every 10 s (answered).
# After 5 s to settle, CPU time (schedstat, all threads) is read over consecutive
# 3 s windows (30 s in all); CPU % = CPU time / window; RSS = VmRSS at each window end.
source "$(dirname "$0")/common.sh"
b_setup

SNMP_PORT=$(b_free_port)
TARGET="udp:127.0.0.1:$SNMP_PORT"
b_snmpd_conf "$T/snmpd.conf" "$T/agentx.sock" "$TARGET" "udp:127.0.0.1:9"
b_start_snmpd snmpd || exit 1
b_peer_key
LINK1=$(b_free_port) LINK2=$(b_free_port)
declare -A SIP DNP
ports=()
for i in 1 2 3; do SIP[$i]=$(b_free_port); DNP[$i]=$(b_free_port); ports+=("127.0.0.1:${SIP[$i]}" "127.0.0.1:${DNP[$i]}"); done
b_start_responder sip "${ports[@]}"

# idle_conf INDEX NAME ROLE [PEER-XML]
idle_conf() {
  {
    b_xml_head "$1" "$2" "$3" "$T/agentx.sock" 127.0.0.1 "${SIP[$1]}"
    cat <<XML
  <options sip-pass-check="true"/>
  <nic purpose="management" name="lo"/>
  <service-dn name="gw$1" uri="sip:gw$1@127.0.0.1:${DNP[$1]}" oos-check="10" oos-force="5"/>
  <contact aor="sip:100$1@example.com" uri="sip:100$1@127.0.0.1:5090" expires="3600"/>
  ${4:-}
</sipha>
XML
  } > "$T/$2.xml"
}
peer_xml() { # PEER-INDEX PEER-NAME OWN-PORT PEER-PORT
  echo "<peer name=\"$2\" index=\"$1\" address=\"127.0.0.1:$4\" bind=\"127.0.0.1:$3\" key-file=\"$T/halink.key\"/>"
}
idle_conf 3 alone primary
idle_conf 1 pairA primary "$(peer_xml 2 pairB "$LINK1" "$LINK2")"
idle_conf 2 pairB backup "$(peer_xml 1 pairA "$LINK2" "$LINK1")"
for n in alone pairA pairB; do b_start_agent "$n"; done
role() { b_get "$TARGET" "$INST_TABLE.3.$1"; }
settled() { [ "$(role 1)/$(role 2)/$(role 3)" = "2/3/2" ]; } # SiphaRole primary(2) backup(3)
b_wait 15 settled || { echo "idle instances did not settle: $(role 1)/$(role 2)/$(role 3)"; }
sleep 5

W=$(b_reps 2 3) N=$(b_reps 3 10)
echo "[2] idle agents: $N windows of $W s"
declare -A CPU RSS ANON PSS LAST
for n in alone pairA pairB; do eval "LAST[$n]=\$(b_cpu_ns \$AGENT_PID_$n)"; done
for _ in $(seq "$N"); do
  t0=$EPOCHREALTIME
  sleep "$W"
  t1=$EPOCHREALTIME
  for n in alone pairA pairB; do
    eval "pid=\$AGENT_PID_$n"
    now=$(b_cpu_ns "$pid")
    CPU[$n]+=" $(b_calc %.4f "($now - ${LAST[$n]}) / 1e9 / ($t1 - $t0) * 100")"
    LAST[$n]=$now
    RSS[$n]+=" $(b_calc %.2f "$(b_rss_kb "$pid") / 1024")"
    ANON[$n]+=" $(awk '/^RssAnon:/ {printf "%.2f", $2 / 1024}' "/proc/$pid/status")"
    PSS[$n]+=" $(awk '/^Pss:/ {printf "%.2f", $2 / 1024}' "/proc/$pid/smaps_rollup")"
  done
done
b_record idle_cpu_alone "idle agent CPU, standalone" "%" "<" 0.1 "< 0.1 %" "${CPU[alone]}" "${W} s windows"
b_record idle_cpu_pairA "idle agent CPU, pair primary (UDP HA link at its defaults: 15 ms / backup 500 ms)" "%" "<" 0.1 "< 0.1 %" "${CPU[pairA]}" "${W} s windows"
b_record idle_cpu_pairB "idle agent CPU, pair backup (UDP HA link at its defaults: 15 ms / backup 500 ms)" "%" "<" 0.1 "< 0.1 %" "${CPU[pairB]}" "${W} s windows"
b_record idle_rss_alone "idle agent RSS, standalone" MB "<" 10 "< 10 MB" "${RSS[alone]}" "VmRSS, MB = 2^20 bytes"
b_record idle_rss_pairA "idle agent RSS, pair primary" MB "<" 10 "< 10 MB" "${RSS[pairA]}" "VmRSS"
b_record idle_anon_alone "idle agent private memory (RssAnon), standalone" MB "" "" "" "${ANON[alone]}" \
  "heap and stacks; VmRSS also counts resident pages of shared libraries"
b_record idle_pss_alone "idle agent PSS, standalone" MB "" "" "" "${PSS[alone]}" \
  "shared library pages divided among the processes mapping them"
