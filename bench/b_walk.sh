#!/usr/bin/env bash
# Benchmark 1 — bulkwalk throughput and CPU per value, sipha beside keepalived.
#
# One sipha-agent under a private snmpd on loopback, its siphaServiceDnTable filled
# with DNs that are not probed (oos-check 0), walked with
#   snmpbulkwalk -v2c -Cr50 <siphaServiceDnTable>
# snmpd answers a GETBULK with one AgentX GetNext to the subagent per value, so the
# figures depend on where the scheduler puts snmpd and the subagent (2-vCPU VM: 3-5x,
# see bench/README.md). Every walk measurement is therefore taken in two explicit
# placements, alternating walk by walk (taskset -a -p on both pids):
#   same   snmpd and the subagent both on CPU 0 (what giving both units the same
#          CPUAffinity= gives an operator); keys walk_*
#   split  snmpd on CPU 0, the subagent on CPU 1; keys walk_split_*
# The client (snmpbulkwalk) is not pinned.
# * throughput: 1,800 DN rows x 10 columns = 18,000 varbinds; varbinds/s = count /
#   wall time of the whole snmpbulkwalk run (process start to exit); agent and snmpd
#   CPU per value in the same walks;
# * keepalived in the same run: keepalived (VRRP only, its AgentX subagent on, -x)
#   under the same snmpd, in a network namespace of its own (a veth pair with both
#   ends in it; VRRP adverts and GARPs stay there), one VRRP instance with 2,000
#   addresses (1 virtual_ipaddress + 1,999 virtual_ipaddress_excluded); its
#   vrrpAddressTable (KEEPALIVED-MIB, 9 readable columns) = 18,000 varbinds, walked
#   with the same command in the same two placements; CPU = all keepalived processes
#   (parent + VRRP child, which runs the subagent);
# * CPU per value: the sipha walk at 100, 1,000, 4,000 and 16,000 rows (1,000 to
#   160,000 values), both placements: agent and snmpd CPU time (schedstat, all
#   threads) across the walk divided by the values returned;
# * snmpd alone: a walk of snmpd's own mib-2 subtree (no AgentX, snmpd unpinned),
#   varbinds/s and snmpd CPU per value, to put beside the figures above.
source "$(dirname "$0")/common.sh"
b_setup

SNMP_PORT=$(b_free_port)
SIP_PORT=$(b_free_port)
TARGET="udp:127.0.0.1:$SNMP_PORT"
b_snmpd_conf "$T/snmpd.conf" "$T/agentx.sock" "$TARGET" "udp:127.0.0.1:9"
b_start_snmpd snmpd || exit 1
b_start_responder sip "127.0.0.1:$SIP_PORT"

PLACEMENTS="same split"
# The targets hold for the placement an operator chooses (both units on one CPU:
# CPUAffinity=); the split rows show what the VM's cross-CPU wake-ups cost, no target.
# tgt PLACEMENT WORD: WORD for the "same" placement, "" for the other.
tgt() { [ "$1" = same ] && printf '%s' "$2"; }
b_can_split || { echo "  CPUs 0 and 1 are not both available: only the 'same' placement"; PLACEMENTS=same; }
declare -A PL_KEY=([same]=walk [split]=walk_split)
declare -A PL_TEXT=([same]="snmpd and the subagent on the same CPU" [split]="snmpd and the subagent on different CPUs")

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
  WALK_PIDS=("$AGENT_PID_walk")
  b_wait 60 b_answers "$TARGET" "$DN_TABLE.1.2.1.$1" || { echo "agent with $1 rows did not register"; tail "$T/walk.log"; exit 1; }
  sleep 0.5
}

# place PLACEMENT: pins snmpd and the walked subagent's processes (WALK_PIDS).
place() {
  # shellcheck disable=SC2154 # SNMPD_PID_snmpd is set by b_start_snmpd (common.sh, through eval)
  case $1 in
    same) b_pin 0 "$SNMPD_PID_snmpd" "${WALK_PIDS[@]}" ;;
    split) b_pin 0 "$SNMPD_PID_snmpd" && b_pin 1 "${WALK_PIDS[@]}" ;;
  esac || { echo "  taskset failed for placement $1"; exit 1; }
}

# one_walk OID: sets W_COUNT, W_SECONDS, W_AGENT_NS (the WALK_PIDS together),
# W_SNMPD_NS for one bulkwalk.
one_walk() {
  local a0 s0 t0 t1
  a0=$(b_cpu_ns_sum "${WALK_PIDS[@]}"); s0=$(b_cpu_ns "$SNMPD_PID_snmpd"); t0=$EPOCHREALTIME
  W_COUNT=$(snmpbulkwalk -v2c -c "$RO_COMMUNITY" "${SNMP_CLIENT[@]}" -t 5 -Cr50 "$TARGET" "$1" | wc -l)
  t1=$EPOCHREALTIME
  W_AGENT_NS=$(( $(b_cpu_ns_sum "${WALK_PIDS[@]}") - a0 ))
  W_SNMPD_NS=$(( $(b_cpu_ns "$SNMPD_PID_snmpd") - s0 ))
  W_SECONDS=$(b_calc %.6f "$t1 - $t0")
}

# Time budget: run.sh stops the section after 300 s and its records are then lost, and
# a walk with the two processes on different CPUs takes 5-6x longer than on one, more
# on a loaded machine. walk_series starts no further round when the previous round's
# time would overrun WALK_BUDGET_S (from this script's start; at least one round runs);
# the record's note then says so (R_CUT).
WALK_BUDGET_S=${WALK_BUDGET_S:-270}
# walk_series OID RUNS EXPECTED [WARM-OID]: one warm-up walk of WARM-OID (default OID;
# the first walk pays for page faults and caches), then RUNS rounds, each one walk per
# placement in turn.
# Per placement P: R_RATE[P], R_AG[P], R_SD[P] (varbinds/s, subagent and snmpd
# µs/value, one value per walk) and R_COUNT[P] (values returned); R_CUT is a note
# when the time budget ended the series early.
declare -A R_RATE R_AG R_SD R_COUNT
walk_series() {
  local oid=$1 runs=$2 expected=$3 warm=${4:-$1} p r t0 last=0
  for p in $PLACEMENTS; do R_RATE[$p]="" R_AG[$p]="" R_SD[$p]="" R_COUNT[$p]=""; done
  R_CUT=""
  place "${PLACEMENTS%% *}"; one_walk "$warm"
  for r in $(seq "$runs"); do
    if [ "$r" -gt 1 ] && [ $((SECONDS + last)) -gt "$WALK_BUDGET_S" ]; then
      R_CUT="N cut from $runs to $((r - 1)) by the ${WALK_BUDGET_S} s time budget"
      echo "  $R_CUT"
      break
    fi
    t0=$SECONDS
    for p in $PLACEMENTS; do
      place "$p"
      one_walk "$oid"
      [ "$W_COUNT" -eq "$expected" ] || echo "  warning ($p): walk returned $W_COUNT values, expected $expected"
      R_RATE[$p]+=" $(b_calc %.0f "$W_COUNT / $W_SECONDS")"
      R_AG[$p]+=" $(b_calc %.2f "$W_AGENT_NS / 1000 / $W_COUNT")"
      R_SD[$p]+=" $(b_calc %.2f "$W_SNMPD_NS / 1000 / $W_COUNT")"
      R_COUNT[$p]+=" $W_COUNT"
    done
    last=$((SECONDS - t0 + 1))
  done
}

# ------------------------------------------------------------------ sipha, 18,000 values
echo "[1] bulkwalk throughput: siphaServiceDnTable, 1,800 rows x 10 columns, placements: $PLACEMENTS"
start_walk_agent 1800
walk_series "$DN_TABLE" "$(b_reps 5 7)" 18000
declare -A S_RATE S_AG S_SD S_COUNT
for p in $PLACEMENTS; do
  S_RATE[$p]=${R_RATE[$p]} S_AG[$p]=${R_AG[$p]} S_SD[$p]=${R_SD[$p]} S_COUNT[$p]=$(b_median "${R_COUNT[$p]}")
done
S_CUT=$R_CUT

# ------------------------------------------------------------------ keepalived, 18,000 values
KA_ROWS=2000 # x 9 readable columns of vrrpAddressTable = 18,000 varbinds
KA_TABLE=.1.3.6.1.4.1.9586.100.5.2.6 # KEEPALIVED-MIB::vrrpAddressTable
KA_NS=swalk-ka-$$
declare -A K_RATE K_AG K_SD K_COUNT
KA_SKIP=""
ka_down() {
  local p
  [ -e "/run/netns/$KA_NS" ] || return 0
  for p in $(ip netns pids "$KA_NS" 2>/dev/null); do kill -9 "$p"; done
  ip netns del "$KA_NS"
}
ka_conf() { # ROWS: one instance, ROWS addresses on kaw0 (the VIP + ROWS-1 excluded)
  cat <<CONF
global_defs {
  router_id walkbench
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 1
  vrrp_garp_master_refresh 0
}
vrrp_instance VI_WALK {
  state MASTER
  interface kaw0
  virtual_router_id 52
  priority 200
  advert_int 1
  virtual_ipaddress {
    10.232.254.1/32 dev kaw0
  }
  virtual_ipaddress_excluded {
CONF
  seq 0 $(($1 - 2)) | awk '{printf "    10.232.%d.%d/32 dev kaw0\n", int($1 / 250), $1 % 250 + 1}'
  echo "  }"
  echo "}"
}
ka_pids() { # every keepalived process in the namespace (parent and VRRP child)
  local p
  for p in $(ip netns pids "$KA_NS" 2>/dev/null); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = keepalived ] && echo "$p"
  done
}
ka_gone() { [ -z "$(ka_pids)" ]; }
ka_addrs() { ip -n "$KA_NS" -o -4 addr show dev kaw0 | wc -l; }
ka_master() { [ "$(ka_addrs)" -gt "$KA_ROWS" ]; }
ka_start() {
  ip netns add "$KA_NS" || return 1
  B_CLEANUP_HOOKS+=(ka_down)
  ip -n "$KA_NS" link set lo up &&
  ip -n "$KA_NS" link add kaw0 type veth peer name kaw1 &&
  ip -n "$KA_NS" addr add 10.232.255.1/24 dev kaw0 &&
  ip -n "$KA_NS" link set kaw0 up && ip -n "$KA_NS" link set kaw1 up || return 1
  ka_conf "$KA_ROWS" > "$T/ka-walk.conf"
  ip netns exec "$KA_NS" keepalived -n -P -l -x -A "$T/agentx.sock" -f "$T/ka-walk.conf" \
    -p "$T/ka-walk.pid" -r "$T/ka-walk.vrrp.pid" -i walkbench >>"$T/ka-walk.log" 2>&1 &
  KA_PID=$!
  B_PIDS+=("$KA_PID")
  # MASTER (every address set, the GARPs sent) and the table served through snmpd
  b_wait 20 ka_master || { echo "  keepalived did not become master ($(ka_addrs) addresses)"; return 1; }
  b_wait 10 b_answers "$TARGET" "$KA_TABLE.1.2.1.$KA_ROWS" || { echo "  keepalived's table not served by snmpd"; return 1; }
  mapfile -t WALK_PIDS < <(ka_pids)
  [ "${#WALK_PIDS[@]}" -ge 2 ] || { echo "  keepalived's VRRP child not found"; return 1; }
  sleep 0.5
}

{ kill "$AGENT_PID_walk"; wait "$AGENT_PID_walk"; } 2>/dev/null
echo "[1] keepalived in the same run: vrrpAddressTable, $KA_ROWS addresses x 9 columns, placements: $PLACEMENTS"
if [ "$(id -u)" -ne 0 ]; then
  KA_SKIP="SKIPPED: needs root (network namespace)"
elif ! command -v keepalived >/dev/null; then
  KA_SKIP="SKIPPED: keepalived is not installed"
elif ! keepalived --version 2>&1 | grep -q 'SNMP_VRRP'; then
  KA_SKIP="SKIPPED: this keepalived is built without SNMP_VRRP"
elif ! ka_start; then
  KA_SKIP="SKIPPED: keepalived did not start (see its log)"
  tail -5 "$T/ka-walk.log"
fi
if [ -z "$KA_SKIP" ]; then
  echo "  keepalived $(keepalived --version 2>&1 | head -1 | awk '{print $2}'): pids ${WALK_PIDS[*]}, netns $KA_NS"
  walk_series "$KA_TABLE" 5 $((KA_ROWS * 9))
  for p in $PLACEMENTS; do
    K_RATE[$p]=${R_RATE[$p]} K_AG[$p]=${R_AG[$p]} K_SD[$p]=${R_SD[$p]} K_COUNT[$p]=$(b_median "${R_COUNT[$p]}")
  done
  K_CUT=$R_CUT
  kill "$KA_PID" 2>/dev/null
  b_wait 10 ka_gone
  ka_down 2>/dev/null
else
  echo "  $KA_SKIP"
fi

# ------------------------------------------------------------------ records, 18,000 values
for p in $PLACEMENTS; do
  k=${PL_KEY[$p]}
  kamed=""
  [ -n "${K_RATE[$p]:-}" ] && kamed=$(b_median "${K_RATE[$p]}" | awk '{printf "%.0f", $1}' | sed -E ':a;s/^([0-9]+)([0-9]{3})/\1,\2/;ta')
  b_record "${k}_rate" "bulkwalk of an 18,000-varbind table through snmpd (-Cr50), ${PL_TEXT[$p]}" varbinds/s \
    "$(tgt "$p" ">=")" "$(tgt "$p" 25000)" \
    "$(tgt "$p" ">= 25,000 varbinds/s") (keepalived in this run: ${kamed:-—})" "${S_RATE[$p]}" \
    "siphaServiceDnTable, 1,800 rows x 10 columns, ${S_COUNT[$p]} varbinds returned; count / wall time of snmpbulkwalk${S_CUT:+; $S_CUT}"
  b_record "${k}_agent_cpu" "agent CPU per value in the same walks, ${PL_TEXT[$p]}" "µs/value" \
    "$(tgt "$p" "<=")" "$(tgt "$p" 15)" "$(tgt "$p" "<= 15 µs/value")" "${S_AG[$p]}"
  b_record "${k}_snmpd_cpu" "snmpd CPU per value in the same walks, ${PL_TEXT[$p]}" "µs/value" "" "" "" "${S_SD[$p]}"
done
for p in $PLACEMENTS; do
  k=${PL_KEY[$p]/walk/walk_keepalived}
  if [ -n "$KA_SKIP" ]; then
    printf '%s\t%s\t\t\t\t\t\t%s\n' "${k}_rate" "keepalived: bulkwalk of vrrpAddressTable through snmpd, ${PL_TEXT[$p]}" \
      "$KA_SKIP" >> "$BENCH_RECORDS"
    continue
  fi
  b_record "${k}_rate" "keepalived: bulkwalk of an 18,000-varbind table through snmpd (-Cr50), ${PL_TEXT[$p]}" varbinds/s "" "" \
    "" "${K_RATE[$p]}" \
    "vrrpAddressTable, $KA_ROWS addresses x 9 columns, ${K_COUNT[$p]} varbinds returned; beside ${PL_KEY[$p]}_rate${K_CUT:+; $K_CUT}"
  b_record "${k}_cpu" "keepalived: CPU per value in the same walks (parent + VRRP child), ${PL_TEXT[$p]}" "µs/value" "" "" \
    "" "${K_AG[$p]}" "beside ${PL_KEY[$p]}_agent_cpu"
  b_record "${k}_snmpd_cpu" "keepalived: snmpd CPU per value in the same walks, ${PL_TEXT[$p]}" "µs/value" "" "" "" \
    "${K_SD[$p]}"
done

# ------------------------------------------------------------------ sipha, CPU per value as rows grow
echo "[1] CPU per value as rows grow, placements: $PLACEMENTS"
declare -A AG
for rows in 100 1000 4000 16000; do
  start_walk_agent "$rows"
  case $rows in 16000) n=$(b_reps 2 3) ;; 4000) n=$(b_reps 3 5) ;; 1000) n=$(b_reps 3 9) ;; *) n=$(b_reps 5 15) ;; esac
  walk_series "$DN_TABLE" "$n" $((rows * 10)) "$DN_TABLE.1.2" # warm-up: one column touches every row
  for p in $PLACEMENTS; do
    k=${PL_KEY[$p]}
    AG[$p.$rows]=$(b_median "${R_AG[$p]}")
    b_record "${k}_agent_cpu_$rows" "agent CPU per value, $rows rows ($((rows * 10)) values), ${PL_TEXT[$p]}" "µs/value" \
      "$(tgt "$p" "<=")" "$(tgt "$p" 15)" "$(tgt "$p" "<= 15 µs/value, flat as rows grow")" "${R_AG[$p]}" "$R_CUT"
    b_record "${k}_snmpd_cpu_$rows" "snmpd CPU per value in the same walk, $rows rows, ${PL_TEXT[$p]}" "µs/value" "" "" "" \
      "${R_SD[$p]}"
    b_record "${k}_rate_$rows" "bulkwalk rate, $rows rows, ${PL_TEXT[$p]}" varbinds/s "" "" "" "${R_RATE[$p]}"
  done
done
for p in $PLACEMENTS; do
  growth=$(b_calc %.2f "${AG[$p.16000]} / ${AG[$p.100]}")
  b_record "${PL_KEY[$p]}_cpu_growth" "agent CPU per value, 16,000 rows / 100 rows, ${PL_TEXT[$p]}" "x" \
    "$(tgt "$p" "<=,>=")" "$(tgt "$p" 1.15,0.85)" "$(tgt "$p" "flat: 0.85-1.15x")" "$growth" \
    "ratio of medians: ${AG[$p.16000]} / ${AG[$p.100]} µs"
done

echo "[1] snmpd alone: bulkwalk of its own mib-2 subtree (unpinned)"
{ kill "$AGENT_PID_walk"; wait "$AGENT_PID_walk"; } 2>/dev/null
b_unpin "$SNMPD_PID_snmpd"
WALK_PIDS=("$SNMPD_PID_snmpd") # one_walk reads "agent" CPU from these pids: ignore it
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
