#!/usr/bin/env bash
# b_kamailio.sh — registrations kept in step between the Kamailio of a pair: the
# topology of tests/hosts/test_kamailio.sh (hosts a and b in network namespaces, each
# with Kamailio on kamailio/sipha.cfg, snmpd and sipha-agent; client c), KAM_N
# registrations (default 10,000) sent through the VIP by sipp.
#
#   initial sync   the backup's agent and Kamailio killed, Kamailio restarted empty,
#                  the agent started: time from the agent's start until the backup's
#                  Kamailio holds all KAM_N contacts (usrloc's contact count polled
#                  every 5 ms over one HTTP connection by bench/kam_probe.py);
#   incremental    one REGISTER of a new user from c: time from its 200 OK (at c)
#                  until the backup's Kamailio counts it (polled every 2 ms);
#   CPU            the KAM_N phones re-registering every 60 s (KAM_N/60 REGISTERs a
#                  second) for KAM_WINDOW_S: CPU % of a core of each agent and of each
#                  Kamailio (all its processes), then the same load with both agents
#                  stopped, so the Kamailio figures show what the sync adds.
#   reference      the same three figures for Kamailio's own replication, dmq_usrloc
#                  (bench/kam-dmq.cfg: both nodes replicate to each other over KDMQ,
#                  a restarted node asks its peer for every contact), same namespaces.
# Records (bench/report.py) go to $BENCH_RECORDS, keys kam_*. Root only. Settings:
# KAM_N, KAM_SYNC_RUNS (default 7; quick 2), KAM_INCR_RUNS (20; quick 5),
# KAM_CPU_RUNS (3; quick 1), KAM_WINDOW_S (60; quick 20); KAM_PERF=FILE records a
# call-graph profile of the primary's agent over each CPU window (perf record -g; it
# adds its own cost to the figure, so not for a run whose figures count).
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
export ROOT BUILD
if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED: needs root (network namespaces)"; exit 0; fi
for tool in kamailio sipp curl setsid python3; do
  command -v "$tool" >/dev/null || { echo "b_kamailio: '$tool' is missing (make deps)"; exit 1; }
done
# shellcheck source=common.sh
source "$ROOT/bench/common.sh"
# shellcheck source=../tests/agent/lib.sh
source "$ROOT/tests/agent/lib.sh"
# shellcheck source=../tests/hosts/lib_netns.sh
source "$ROOT/tests/hosts/lib_netns.sh"

N=${KAM_N:-10000}
SYNC_RUNS=${KAM_SYNC_RUNS:-$(b_reps 2 7)}
INCR_RUNS=${KAM_INCR_RUNS:-$(b_reps 5 20)}
CPU_RUNS=${KAM_CPU_RUNS:-$(b_reps 1 3)}
WINDOW=${KAM_WINDOW_S:-$(b_reps 20 60)}
DOMAIN=sipha.bench
REG_PORT=5082
# The agents reconcile at the product's default (300 s), not at the tests' 30 s: a full
# ul.dump of 10,000 contacts costs Kamailio up to a second, and the CPU figures are
# those of the shipped configuration (KAM_RECONCILE changes it).
HN_EXTRA_XML=${HN_KAM_SIP_XML/reconcile=\"30\"/reconcile=\"${KAM_RECONCILE:-300}\"}
# The HA link at its defaults (15 ms x 3): the incremental figure is the product's.

hn_setup || { echo "b_kamailio: cannot build the namespaces"; exit 1; }
cd "$T" || exit 1

# sipp_register COUNT EXPIRES RATE [DURATION-S [TARGET]] — REGISTERs of users
# k0..k(COUNT-1) from c to TARGET (default the VIP) at RATE/s (cycling through them
# for DURATION-S when given); waits for the end. sipp runs in a session of its own:
# a signal it sends to its process group does not reach this script.
sipp_register() {
  local n=$1 e=$2 r=$3 d=${4:-} to=${5:-$HN_VIP} i m=$1
  { echo SEQUENTIAL; for ((i = 0; i < n; i++)); do echo "k$i;$DOMAIN;$((20000 + i % 40000));$e"; done; } > "$T/regs.csv"
  [ -n "$d" ] && m=$((r * d))
  hn_in c setsid -w timeout 600 sipp "$to:$HN_SIP_PORT" -sf "$ROOT/tests/sip/register-uac.xml" -inf "$T/regs.csv" \
      -i "$HN_C_SIP" -p "$REG_PORT" -m "$m" -r "$r" -l 1000 -nostdin -nr -buff_size 8388608 -timeout 300s > "$T/regs.out" 2>&1
}
# kam_cpu HOST — CPU time (ns) of all of HOST's Kamailio processes (its process group)
kam_cpu() { local p; mapfile -t p < <(pgrep -g "${HN_KAM_PID[$1]}"); b_cpu_ns_sum "${p[@]}"; }
# cpu_window [agents] — prints "agent-a agent-b kamailio-a kamailio-b" CPU % of a core
# over WINDOW s while c re-registers the N phones every 60 s: through the VIP with the
# agents running, else (agents stopped, so no VIP: "- -") to a's own address
cpu_window() {
  local pa pb ka kb t0 t1 rate=$(((N + 59) / 60)) aa=- ab=-
  {
    ka=$(kam_cpu a); kb=$(kam_cpu b)
    if [ -n "${1:-}" ]; then pa=$(b_cpu_ns "${HN_AGENT_PID[a]}"); pb=$(b_cpu_ns "${HN_AGENT_PID[b]}"); fi
    t0=$EPOCHREALTIME
    if [ -n "${1:-}" ] && [ -n "${KAM_PERF:-}" ]; then
      # opt-in profile of the primary's agent over the window (perf record -g)
      timeout "$((WINDOW + 5))" perf record -q -g -o "$KAM_PERF" -p "${HN_AGENT_PID[a]}" > /dev/null 2>&1 &
    fi
    if [ -n "${1:-}" ]; then sipp_register "$N" 3600 "$rate" "$WINDOW"
    else sipp_register "$N" 3600 "$rate" "$WINDOW" "${HN_SIP_IP[a]}"; fi
    t1=$EPOCHREALTIME
    ka=$(($(kam_cpu a) - ka)); kb=$(($(kam_cpu b) - kb))
    if [ -n "${1:-}" ]; then
      aa=$(b_calc %.2f "($(b_cpu_ns "${HN_AGENT_PID[a]}") - $pa) / (($t1 - $t0) * 1e7)")
      ab=$(b_calc %.2f "($(b_cpu_ns "${HN_AGENT_PID[b]}") - $pb) / (($t1 - $t0) * 1e7)")
    fi
  }
  echo "$aa $ab $(b_calc %.2f "$ka / (($t1 - $t0) * 1e7)") $(b_calc %.2f "$kb / (($t1 - $t0) * 1e7)")"
}

for h in a b; do hn_start_snmpd "$h" || { echo "b_kamailio: snmpd on $h"; exit 1; }; done
hn_start_sipp c "$HN_C_SIP" "$HN_DN_PORT" || { echo "b_kamailio: service DN"; exit 1; }
for h in a b; do hn_kam_start "$h" || { echo "b_kamailio: Kamailio on $h"; exit 1; }; done
hn_instance_conf a primary
hn_instance_conf b backup
for h in a b; do hn_start_agent "$h" || { echo "b_kamailio: agent $h"; exit 1; }; done
roles_ok() { [ "$(hn_roles)" = primary/backup ]; }
t_wait 15 roles_ok || { echo "b_kamailio: the pair did not form ($(hn_roles))"; exit 1; }

echo "  registering $N phones through the VIP"
sipp_register "$N" 3600 2000
b_has() { [ "$(hn_kam_contacts b)" = "$1" ]; }
t_wait 60 b_has "$N"
got=$(hn_kam_contacts b)
b_record kam_bulk "$N REGISTERs at 2,000/s through the VIP -> contacts in the backup's Kamailio within 60 s" \
  contacts ">=" "$N" "all $N" "$got" ""
[ "$got" = "$N" ] || { echo "b_kamailio: the backup's Kamailio did not reach $N ($got)"; exit 1; }

# ------------------------------------------------------------------ initial sync
runs=() flips=0
for ((r = 0; r < SYNC_RUNS; r++)); do
  kill -9 "${HN_AGENT_PID[b]}"
  hn_kam_kill b
  sleep 0.5
  hn_kam_start b || { echo "b_kamailio: Kamailio b did not restart"; exit 1; }
  t0=$EPOCHREALTIME
  hn_bg b "$T/b/agent.log" "$BUILD/sipha-agent" -f -c "$T/b/inst.xml"
  HN_AGENT_PID[b]=$HN_PID
  ms=$(python3 "$ROOT/bench/kam_probe.py" until "$(hn_ns b)" "$N" "$t0" 60)
  case $ms in
    timeout*) echo "  initial sync run $((r + 1)): $ms, roles $(hn_roles)" ;;
    *) echo "  initial sync run $((r + 1)): $ms ms"; runs+=("$ms") ;;
  esac
  if ! t_wait 20 roles_ok; then
    # a takeover by the restarted backup (it missed the primary's heartbeats while
    # busy copying): counted, and the pair put back as the next run expects
    flips=$((flips + 1))
    echo "  the pair did not settle: roles $(hn_roles); switching back"
    hn_v3 snmpset b "SIPHA-MIB::siphaInstAdminCommand.${HN_INDEX[b]}" i 2 > /dev/null 2>&1
    t_wait 20 roles_ok || { echo "b_kamailio: roles $(hn_roles) after switching back"; exit 1; }
  fi
done
b_record kam_initial_sync "initial sync of $N contacts to a fresh backup (agent start -> all in its Kamailio)" \
  ms "<=" 2000 "<= 2 s" "${runs[*]}" "restarted backup took over during the copy: $flips of $SYNC_RUNS runs"

# ------------------------------------------------------------------ incremental
mapfile -t lines < <(python3 "$ROOT/bench/kam_probe.py" incr "$(hn_ns c)" "$HN_C_SIP" "$HN_VIP" "$(hn_ns b)" \
  "$INCR_RUNS" "$DOMAIN" 1)
runs=() from_sent=()
for l in "${lines[@]}"; do
  [ "$l" = timeout ] && continue
  runs+=("${l%% *}") from_sent+=("${l##* }")
done
b_record kam_incremental "one REGISTER: its 200 OK at the phone -> counted in the backup's Kamailio" \
  ms "<=" 100 "<= 100 ms" "${runs[*]}" "from the REGISTER sent: $(b_median "${from_sent[*]}") ms median"

# ------------------------------------------------------------------ CPU
ca=() cb=() cka=() ckb=() bka=() bkb=()
for ((r = 0; r < CPU_RUNS; r++)); do
  read -r a b ka kb < <(cpu_window agents)
  echo "  CPU with sipha, run $((r + 1)): agents $a / $b %, Kamailio $ka / $kb %"
  ca+=("$a") cb+=("$b") cka+=("$ka") ckb+=("$kb")
done
kill -TERM "${HN_AGENT_PID[a]}" "${HN_AGENT_PID[b]}"
agents_gone() { ! kill -0 "${HN_AGENT_PID[a]}" 2>/dev/null && ! kill -0 "${HN_AGENT_PID[b]}" 2>/dev/null; }
t_wait 10 agents_gone
for ((r = 0; r < CPU_RUNS; r++)); do
  read -r _ _ ka kb < <(cpu_window)
  echo "  CPU without sipha, run $((r + 1)): Kamailio $ka / $kb %"
  bka+=("$ka") bkb+=("$kb")
done
rate=$(((N + 59) / 60))
b_record kam_cpu_agent_primary "$N registrations refreshed every 60 s ($rate REGISTER/s): primary's agent" \
  "% of a core" "<" 5 "< 5 % of one core" "${ca[*]}"
b_record kam_cpu_agent_backup "... the backup's agent (writing into its Kamailio)" "% of a core" "<" 5 \
  "< 5 % of one core" "${cb[*]}"
b_record kam_cpu_kamailio_primary "... the primary's Kamailio, with sipha (SIP and RPC)" "% of a core" "" "" "" \
  "${cka[*]}" "without sipha (SIP only): $(b_median "${bka[*]}") % median"
b_record kam_cpu_kamailio_backup "... the backup's Kamailio, with sipha (its RPC writes)" "% of a core" "" "" "" \
  "${ckb[*]}" "without sipha: $(b_median "${bkb[*]}") % median"

# ------------------------------------------------------------------ the reference
# Kamailio's own replication, dmq_usrloc (bench/kam-dmq.cfg), in the same namespaces:
# both nodes registrars replicating to each other over KDMQ, no agent, no VIP (the
# phones register at a's own address). The same three figures.
echo "  the reference: Kamailio with dmq_usrloc"
for h in a b; do hn_kam_kill "$h"; done
sleep 0.5
dmq_start() {
  local h=$1 d=$T/$1/kam-dmq
  mkdir -p "$d"
  hn_bg "$h" "$T/$h/kamailio-dmq.log" setsid kamailio -DD -E -f "$ROOT/bench/kam-dmq.cfg" \
      -P "$d/kamailio.pid" -m 64 -M 32 -A "NODE_IP=${HN_SIP_IP[$h]}" \
      -A "PEER_IP=${HN_SIP_IP[$(hn_other "$h")]}" -A "SIP_PORT=$HN_SIP_PORT" \
      -A "RPC_PORT=$HN_KAM_RPC_PORT" -A "RUN_DIR=\"$d\""
  HN_KAM_PID[$h]=$HN_PID
}
for h in a b; do
  dmq_start "$h"
  t_wait 15 hn_kam_rpc "$h" core.version || { echo "b_kamailio: dmq Kamailio on $h"; exit 1; }
done
# dmq_peer_up HOST — HOST's dmq lists the other node as active (replication is on)
dmq_peer_up() {
  hn_kam_rpc "$1" dmq.list_nodes | python3 -c '
import json, sys
nodes = json.load(sys.stdin).get("result") or []
sys.exit(0 if any(n.get("host") == sys.argv[1] and n.get("status") == "active" and not n.get("local")
                  for n in nodes) else 1)' "${HN_SIP_IP[$(hn_other "$1")]}"
}
for h in a b; do
  t_wait 30 dmq_peer_up "$h" || echo "  dmq on $h does not list its peer as active: $(hn_kam_rpc "$h" dmq.list_nodes)"
done
# The same bulk as sipha's (N REGISTERs at 2,000/s to the node the phones use): how
# many reach the other node is the reference's first figure. When some are lost, the
# phones register again at a tenth of the rate, so that the figures below start from
# the same table; when even that leaves it short, they cannot be taken.
sipp_register "$N" 3600 2000 "" "${HN_SIP_IP[a]}"
t_wait 60 b_has "$N"
got=$(hn_kam_contacts b)
b_record kam_dmq_bulk "reference, dmq_usrloc: $N REGISTERs at 2,000/s -> contacts in the other node within 60 s" \
  contacts "" "" "" "$got" "beside kam_bulk (all $N)"
dmq_ok=1
if [ "$got" != "$N" ]; then
  sipp_register "$N" 3600 200 "" "${HN_SIP_IP[a]}"
  t_wait 60 b_has "$N" || dmq_ok=
  echo "  dmq: after the same REGISTERs again at 200/s the other node holds $(hn_kam_contacts b)"
fi
if [ -z "$dmq_ok" ]; then
  echo "  dmq: the other node never held all $N: its sync, latency and CPU figures are not taken"
  exit 0
fi

runs=()
for ((r = 0; r < SYNC_RUNS; r++)); do
  hn_kam_kill b
  sleep 0.5
  t0=$EPOCHREALTIME
  dmq_start b
  ms=$(python3 "$ROOT/bench/kam_probe.py" until "$(hn_ns b)" "$N" "$t0" 60)
  case $ms in
    timeout*) echo "  dmq initial sync run $((r + 1)): $ms" ;;
    *) echo "  dmq initial sync run $((r + 1)): $ms ms"; runs+=("$ms") ;;
  esac
done
b_record kam_dmq_initial_sync "reference, dmq_usrloc: initial sync of $N contacts to a restarted node (Kamailio start -> all in it)" \
  ms "" "" "" "${runs[*]}" "beside kam_initial_sync"

mapfile -t lines < <(python3 "$ROOT/bench/kam_probe.py" incr "$(hn_ns c)" "$HN_C_SIP" "${HN_SIP_IP[a]}" \
  "$(hn_ns b)" "$INCR_RUNS" "$DOMAIN" 1000000)
runs=() from_sent=()
for l in "${lines[@]}"; do
  [ "$l" = timeout ] && continue
  runs+=("${l%% *}") from_sent+=("${l##* }")
done
b_record kam_dmq_incremental "reference, dmq_usrloc: one REGISTER: its 200 OK at the phone -> counted in the other node" \
  ms "" "" "" "${runs[*]}" "beside kam_incremental; from the REGISTER sent: $(b_median "${from_sent[*]}") ms median"

dka=() dkb=()
for ((r = 0; r < CPU_RUNS; r++)); do
  read -r _ _ ka kb < <(cpu_window)
  echo "  CPU with dmq_usrloc, run $((r + 1)): Kamailio $ka / $kb %"
  dka+=("$ka") dkb+=("$kb")
done
b_record kam_dmq_cpu_primary "reference, dmq_usrloc, same load: the Kamailio the phones register with" \
  "% of a core" "" "" "" "${dka[*]}" "beside kam_cpu_kamailio_primary + kam_cpu_agent_primary"
b_record kam_dmq_cpu_backup "reference, dmq_usrloc, same load: the other Kamailio (replicas)" \
  "% of a core" "" "" "" "${dkb[*]}" "beside kam_cpu_kamailio_backup + kam_cpu_agent_backup"
