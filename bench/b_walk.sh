#!/usr/bin/env bash
# Benchmark 1 — bulkwalk throughput and CPU per value.
#
# One sipha-agent under a private snmpd on loopback, its siphaServiceDnTable filled
# with DNs that are not probed (oos-check 0), walked with
#   snmpbulkwalk -v2c -Cr50 <siphaServiceDnTable>
# * throughput: 1,800 DN rows x 10 columns = 18,000 varbinds; varbinds/s = count /
#   wall time of the whole snmpbulkwalk run (process start to exit);
# * CPU per value: the same walk at 100, 1,000, 4,000 and 16,000 rows (1,000 to
#   160,000 values): agent and snmpd CPU time (schedstat, all threads) across the
#   walk divided by the values returned;
# * snmpd alone: a walk of snmpd's own mib-2 subtree (no AgentX), varbinds/s and
#   snmpd CPU per value, to put beside the figures above.
source "$(dirname "$0")/common.sh"
b_setup

SNMP_PORT=$(b_free_port)
SIP_PORT=$(b_free_port)
TARGET="udp:127.0.0.1:$SNMP_PORT"
b_snmpd_conf "$T/snmpd.conf" "$T/agentx.sock" "$TARGET" "udp:127.0.0.1:9"
b_start_snmpd snmpd || exit 1
b_start_responder sip "127.0.0.1:$SIP_PORT"

# walk_conf ROWS: instance 1 with ROWS unprobed service DNs.
walk_conf() {
  {
    b_xml_head 1 walk primary "$T/agentx.sock" 127.0.0.1 "$SIP_PORT"
    seq "$1" | awk '{printf "  <service-dn name=\"d%d\" uri=\"sip:d%d@127.0.0.1:5999\"/>\n", $1, $1}'
    echo "</sipha>"
  } > "$T/walk.xml"
}

# start_walk_agent ROWS: (re)starts the agent with ROWS DNs; waits for the last row.
start_walk_agent() {
  [ -n "${AGENT_PID_walk:-}" ] && { kill "$AGENT_PID_walk"; wait "$AGENT_PID_walk"; } 2>/dev/null
  walk_conf "$1"
  b_start_agent walk
  b_wait 60 b_answers "$TARGET" "$DN_TABLE.1.2.1.$1" || { echo "agent with $1 rows did not register"; tail "$T/walk.log"; exit 1; }
  sleep 0.5
}

# one_walk OID: sets W_COUNT, W_SECONDS, W_AGENT_NS, W_SNMPD_NS for one bulkwalk.
one_walk() {
  local a0 s0 t0 t1
  a0=$(b_cpu_ns "$AGENT_PID_walk"); s0=$(b_cpu_ns "$SNMPD_PID_snmpd"); t0=$EPOCHREALTIME
  W_COUNT=$(snmpbulkwalk -v2c -c "$RO_COMMUNITY" "${SNMP_CLIENT[@]}" -t 5 -Cr50 "$TARGET" "$1" | wc -l)
  t1=$EPOCHREALTIME
  W_AGENT_NS=$(( $(b_cpu_ns "$AGENT_PID_walk") - a0 ))
  W_SNMPD_NS=$(( $(b_cpu_ns "$SNMPD_PID_snmpd") - s0 ))
  W_SECONDS=$(b_calc %.6f "$t1 - $t0")
}


echo "[1] bulkwalk throughput: siphaServiceDnTable, 1,800 rows x 10 columns"
start_walk_agent 1800
N=$(b_reps 3 9)
rates="" counts=""
one_walk "$DN_TABLE" # warm-up: first walk pays for page faults and caches
for _ in $(seq "$N"); do
  one_walk "$DN_TABLE"
  rates+=" $(b_calc %.0f "$W_COUNT / $W_SECONDS")"
  counts+=" $W_COUNT"
done
count=$(b_median "$counts")
b_record walk_rate "bulkwalk of an 18,000-varbind table through snmpd (-Cr50)" varbinds/s ">=" 16600 \
  ">= 16,600 varbinds/s (keepalived 8,300)" "$rates" \
  "siphaServiceDnTable, 1,800 rows x 10 columns, $count varbinds returned; count / wall time of snmpbulkwalk"

echo "[1] CPU per value as rows grow"
declare -A AG
for rows in 100 1000 4000 16000; do
  start_walk_agent "$rows"
  case $rows in 16000) n=$(b_reps 2 5) ;; *) n=$(b_reps 3 7) ;; esac
  one_walk "$DN_TABLE.1.2" # warm-up: one column touches every row
  ag="" sd="" rt=""
  for _ in $(seq "$n"); do
    one_walk "$DN_TABLE"
    [ "$W_COUNT" -eq $((rows * 10)) ] || echo "  warning: walk returned $W_COUNT values, expected $((rows * 10))"
    ag+=" $(b_calc %.2f "$W_AGENT_NS / 1000 / $W_COUNT")"
    sd+=" $(b_calc %.2f "$W_SNMPD_NS / 1000 / $W_COUNT")"
    rt+=" $(b_calc %.0f "$W_COUNT / $W_SECONDS")"
  done
  AG[$rows]=$(b_median "$ag")
  b_record "walk_agent_cpu_$rows" "agent CPU per value, $rows rows ($((rows * 10)) values)" "µs/value" "" "" \
    "flat as rows grow" "$ag"
  b_record "walk_snmpd_cpu_$rows" "snmpd CPU per value in the same walk, $rows rows" "µs/value" "" "" "" "$sd"
  b_record "walk_rate_$rows" "bulkwalk rate, $rows rows" varbinds/s "" "" "" "$rt"
done
growth=$(b_calc %.2f "${AG[16000]} / ${AG[100]}")
b_record walk_cpu_growth "agent CPU per value, 16,000 rows / 100 rows" "x" "<=" 1.5 \
  "flat (<= 1.5x; keepalived: 2x from 100 to 4,000)" "$growth" \
  "ratio of medians: ${AG[16000]} / ${AG[100]} µs"

echo "[1] snmpd alone: bulkwalk of its own mib-2 subtree"
{ kill "$AGENT_PID_walk"; wait "$AGENT_PID_walk"; } 2>/dev/null
AGENT_PID_walk=$SNMPD_PID_snmpd # one_walk reads "agent" CPU from this pid: ignore it
rates="" sd="" counts=""
one_walk .1.3.6.1.2.1
for _ in $(seq "$(b_reps 3 7)"); do
  one_walk .1.3.6.1.2.1
  rates+=" $(b_calc %.0f "$W_COUNT / $W_SECONDS")"
  sd+=" $(b_calc %.2f "$W_SNMPD_NS / 1000 / $W_COUNT")"
  counts+=" $W_COUNT"
done
b_record snmpd_alone_rate "snmpd alone: bulkwalk of mib-2 ($(b_median "$counts") varbinds)" varbinds/s "" "" "" "$rates"
b_record snmpd_alone_cpu "snmpd alone: CPU per value (brief: ~40 µs)" "µs/value" "" "" "" "$sd"
