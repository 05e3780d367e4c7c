#!/usr/bin/env bash
# b_keepalived.sh — keepalived (VRRPv3, advert_int 0.1) measured on the fault-matrix
# topology (bench/lib_topo.sh), the reference beside sipha's failover figures.
#
# One-NIC deployment: each host's sip0 carries both the VRRP adverts (multicast over
# the client's bridge) and the VIP 10.9.9.100/24. a has priority 150, b 100 (preempt on,
# so a takes the VIP back after each run and every fault hits a). Each host runs
# sip_responder -n a|b bound on VIP:5060 (freebind) and its own address; pair_probe
# samples both hosts every 10 ms (VIP presence from rtnetlink events) and its client in
# c sends an OPTIONS to the VIP every 10 ms.
#
# Cases, each N runs (default 20; BENCH_QUICK=1: 5), the fault 0-100 ms (uniform) after a
# random point, i.e. at a random phase of the 100 ms advert cycle:
#   nic   sip0 set down on the master (link_flip: stamp before the ioctl) -> VIP on b
#   kill  kill -9 of every keepalived process of the master                -> VIP on b
#   term  SIGTERM to the master's keepalived (graceful: priority-0 advert) -> VIP on b,
#         and whether the VIP was ever held by both hosts in a sample
# Per case: fault -> VIP added on b (kernel event read by pair_probe) and fault -> first
# client answer from b (its arrival). Then idle: CPU % of a core of each host's
# keepalived processes over 30 s (schedstat) and their PSS (smaps_rollup).
#
# Records (bench/report.py format) go to $BENCH_RECORDS, keys keepalived_*; the note of
# each says which sipha figure it stands beside. Run alone: `bash bench/b_keepalived.sh`
# prints its own table (median, p95, max). Root only; packages: keepalived, iproute2,
# libsnmp-dev, libmnl-dev, gcc, python3.
# shellcheck disable=SC2317 # functions called through topo_wait / indirectly
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
BENCH_BIN=${BENCH_BIN:-$BUILD/bench}
export ROOT BUILD BENCH_BIN
KA_RUNS=${KA_RUNS:-}
KA_IDLE_S=${KA_IDLE_S:-30}

if [ "$(id -u)" -ne 0 ]; then
  echo "b_keepalived.sh: SKIPPED (needs root for network namespaces)"
  [ -n "${BENCH_RECORDS:-}" ] && printf '%s\t%s\t\t\t\t\t\t%s\n' keepalived "keepalived VRRPv3 reference" \
    "SKIPPED: needs root" >> "$BENCH_RECORDS"
  exit 0
fi
command -v keepalived >/dev/null || { echo "b_keepalived.sh: keepalived is not installed (apt-get install keepalived)"; exit 1; }
# shellcheck disable=SC2034 # read by lib_topo.sh
TOPO_TAG=kabench TOPO_BIN=$BENCH_BIN
# shellcheck source=lib_topo.sh
source "$ROOT/bench/lib_topo.sh"
topo_build || { echo "b_keepalived.sh: cannot build the helpers"; exit 1; }
# shellcheck source=common.sh
source "$ROOT/bench/common.sh"
b_setup
# shellcheck disable=SC2034 # read by lib_topo.sh
TOPO_DIR=$T
B_CLEANUP_HOOKS+=(topo_down)
N=${KA_RUNS:-$(b_reps 5 20)}

topo_up || { echo "b_keepalived.sh: namespace setup failed"; exit 1; }
start_responders || { echo "b_keepalived.sh: the SIP responders did not start"; exit 1; }

# ------------------------------------------------------------------ keepalived
declare -A KA_PRIO=([a]=150 [b]=100)
ka_conf() {
  cat > "$T/ka-$1.conf" <<CONF
global_defs {
  router_id kabench_$1
  vrrp_version 3
  enable_script_security
  vrrp_garp_master_repeat 1
  vrrp_garp_master_refresh 0
}
vrrp_instance VI_SIP {
  state BACKUP
  interface sip0
  virtual_router_id 51
  priority ${KA_PRIO[$1]}
  advert_int 0.1
  virtual_ipaddress {
    $TOPO_VIP/$TOPO_VIP_PLEN dev sip0
  }
}
CONF
}
# ka_start HOST — keepalived (VRRP only, no respawn, no fork) with its own files in $T,
# in a session of its own (setsid execs it: same pid), so that kill -9 of its process
# group hits the parent and the VRRP child at once: killed one after the other, the
# child could still start its graceful shutdown (priority-0 advert) in between.
ka_start() {
  rm -f "$T/ka-$1.pid" "$T/ka-$1.vrrp.pid"
  topo_bg "$1" "$T/ka-$1.log" setsid keepalived -n -P -R -l -D -G -f "$T/ka-$1.conf" \
    -p "$T/ka-$1.pid" -r "$T/ka-$1.vrrp.pid" -i "kabench_$1"
  topo_wait 5 test -s "$T/ka-$1.vrrp.pid"
}
# ka_pids HOST — every keepalived process of HOST (parent and VRRP child)
ka_pids() {
  local p
  for p in $(ip netns pids "${TOPO_NS[$1]}" 2>/dev/null); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = keepalived ] && echo "$p"
  done
}
ka_wait_gone() { for _ in $(seq 50); do [ -z "$(ka_pids "$1")" ] && return 0; sleep 0.05; done; return 1; }
has_vip() { topo_in "$1" ip -4 -o addr show dev sip0 | grep -q " $TOPO_VIP/"; }
# settled: a master with the VIP, b backup without it (b's log says BACKUP last)
settled_a() { has_vip a && ! has_vip b && [ "$(ka_state b)" = BACKUP ]; }
ka_state() { grep -oE 'Entering (MASTER|BACKUP|FAULT) STATE' "$T/ka-$1.log" | tail -1 | awk '{print $2}'; }
wait_settled() {
  if topo_wait 15 settled_a; then sleep 0.5; return 0; fi
  echo "  pair did not settle with a master: VIP a=$(has_vip a && echo 1 || echo 0) b=$(has_vip b && echo 1 || echo 0), b $(ka_state b)"
  return 1
}

for h in a b; do ka_conf "$h"; done
ka_start b || { echo "keepalived on b did not start"; tail "$T/ka-b.log"; exit 1; }
ka_start a || { echo "keepalived on a did not start"; tail "$T/ka-a.log"; exit 1; }
wait_settled || { tail -5 "$T"/ka-*.log; exit 1; }

rand_phase() { sleep "$(b_calc %.3f "$RANDOM / 327680")"; }  # 0-100 ms: a random point of the advert cycle

# run_case CASE RUN — one run: probe, random phase, fault on a, read the times, restore.
# Appends to KA_VIP_<case>, KA_ANS_<case>, KA_BOTH_<case>.
declare -A KA_VIP=() KA_ANS=() KA_BOTH=() KA_MISS=()
run_case() {
  local c=$1 r=$2 out="$T/probe-$1-$2.out" tv ta both pg
  pg=$(cat "$T/ka-a.pid" 2>/dev/null)
  case $pg in ''|*[!0-9]*|0|1) echo "  $c run $r: no keepalived pid on a"; return 1 ;; esac
  probe_start "$out" 4 || { echo "  $c run $r: pair_probe did not start ($(tail -1 "$T/probe.err"))"; return 1; }
  sleep 0.3
  rand_phase
  case $c in
    nic) fault_nic_down a ;;
    kill) fault_kill a "-$pg" ;;  # the process group: parent and child at once
    term) fault_term a "$pg" ;;   # the parent, as a service manager stops it
  esac
  sleep 1.2 # the measured path runs undisturbed; the trace is read afterwards
  probe_stop
  tv=$(vip_event_ms "$out" b add) ta=$(answer_event_ms "$out" b) both=$(vip_both_samples "$out")
  if [ -n "$tv" ]; then KA_VIP[$c]+=" $tv"; else echo "  $c run $r: no VIP on b"; KA_MISS[$c]=$((${KA_MISS[$c]:-0} + 1)); fi
  [ -n "$ta" ] && KA_ANS[$c]+=" $ta"
  KA_BOTH[$c]+=" $both"
  printf '  %s run %2d: VIP on b +%s ms, answer from b +%s ms, samples with the VIP on both: %s\n' \
    "$c" "$r" "${tv:--}" "${ta:--}" "$both"
  # restore: a master again
  case $c in
    nic) fault_nic_up a ;;
    kill) ka_wait_gone a; topo_in a ip addr del "$TOPO_VIP/$TOPO_VIP_PLEN" dev sip0 2>/dev/null; ka_start a ;;
    term) ka_wait_gone a; ka_start a ;;
  esac
  wait_settled
}

declare -A KA_TITLE=([nic]="SIP NIC link down on the master" [kill]="kill -9 of the master's keepalived"
                     [term]="SIGTERM of the master's keepalived")
declare -A KA_BESIDE=([nic]=ns_nic_vip [kill]=ns_kill_vip [term]=ns_switchover)
KA_CASES=${KA_CASES:-nic kill term}
for c in $KA_CASES; do
  echo "[keepalived] ${KA_TITLE[$c]}: $N runs"
  for r in $(seq "$N"); do run_case "$c" "$r" || break; done
done

# ------------------------------------------------------------------ idle
echo "[keepalived] idle: ${KA_IDLE_S} s"
sleep 1
declare -A KA_CPU0=() KA_CPU=() KA_PSS=()
cpu_of() { local s=0 p; for p in $(ka_pids "$1"); do s=$((s + $(b_cpu_ns "$p"))); done; echo "$s"; }
pss_of() {
  local s=0 p v
  for p in $(ka_pids "$1"); do
    v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null); s=$((s + ${v:-0}))
  done
  echo "$s"
}
# 3 s windows, each host's figure per window (a is the master, b the backup)
for ((i = 0; i < (KA_IDLE_S + 2) / 3; i++)); do
  t0=$EPOCHREALTIME
  for h in a b; do KA_CPU0[$h]=$(cpu_of "$h"); done
  sleep 3
  t1=$EPOCHREALTIME
  for h in a b; do KA_CPU[$h]+=" $(b_calc %.4f "($(cpu_of "$h") - ${KA_CPU0[$h]}) / 1e9 / ($t1 - $t0) * 100")"; done
done
for h in a b; do KA_PSS[$h]=$(pss_of "$h"); done

# ------------------------------------------------------------------ results
stats() { # "V1 V2 ..." -> "N MEDIAN P95 MAX"
  tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "0 - - -"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    r = int(0.95 * NR); if (r < 0.95 * NR) r++; if (r < 1) r = 1
    printf "%d %.1f %.1f %.1f\n", NR, m, v[r], v[NR] }'
}
sum() { tr ' ' '\n' <<<"$1" | awk '{ s += $1 } END { print s + 0 }'; }
# note_both CASE — in how many runs a sample saw the VIP held by both hosts (links up)
note_both() {
  tr ' ' '\n' <<<"${KA_BOTH[$1]:-}" | grep . | awk '$1 > 0 { r++; s += $1 } END {
    printf "VIP on both hosts in %d of %d runs (%d samples)", r, NR, s }'
}
echo
echo "keepalived $(keepalived --version 2>&1 | head -1 | awk '{print $2}'), VRRPv3 advert_int 0.1, one NIC; $(nproc) CPUs"
printf '%-42s %4s %9s %9s %9s\n' "figure (ms)" N median p95 max
for c in nic kill term; do
  for m in vip ans; do
    if [ "$m" = vip ]; then v=${KA_VIP[$c]:-}; what="fault → VIP on backup"; else v=${KA_ANS[$c]:-}; what="fault → answer from backup"; fi
    read -r n med p95 mx <<<"$(stats "$v")"
    printf '%-42s %4s %9s %9s %9s\n' "$c: $what" "$n" "$med" "$p95" "$mx"
  done
done
for c in nic kill term; do
  echo "$c: $(note_both "$c")"
done
echo "(kill -9 leaves the VIP on the dead master until someone removes it; here the script does, 1.2 s after the fault)"
for h in a b; do echo "idle host $h: CPU % of a core, 3 s windows:${KA_CPU[$h]}; PSS ${KA_PSS[$h]} kB (all keepalived processes)"; done

for c in nic kill term; do
  read -r _ _ p95 mx <<<"$(stats "${KA_VIP[$c]:-}")"
  b_record "keepalived_${c}_vip" "keepalived: ${KA_TITLE[$c]} → VIP on the backup" ms "" "" "" "${KA_VIP[$c]:-}" \
    "beside ${KA_BESIDE[$c]}; p95 $p95, max $mx; $(note_both "$c")${KA_MISS[$c]:+; ${KA_MISS[$c]} run(s) without the VIP on b}" >/dev/null
  read -r _ _ p95 mx <<<"$(stats "${KA_ANS[$c]:-}")"
  b_record "keepalived_${c}_answer" "keepalived: ${KA_TITLE[$c]} → first SIP answer from the backup" ms "" "" "" \
    "${KA_ANS[$c]:-}" "p95 $p95, max $mx; client OPTIONS every 10 ms" >/dev/null
done
b_record keepalived_idle_cpu_master "keepalived idle: CPU of a core on the master's host" "%" "" "" "" \
  "${KA_CPU[a]}" "3 s windows, parent + VRRP child" >/dev/null
b_record keepalived_idle_cpu_backup "keepalived idle: CPU of a core on the backup's host" "%" "" "" "" \
  "${KA_CPU[b]}" "3 s windows, parent + VRRP child" >/dev/null
b_record keepalived_pss "keepalived idle: PSS per host (a, b)" kB "" "" "" "${KA_PSS[a]} ${KA_PSS[b]}" \
  "parent + VRRP child" >/dev/null
exit 0
