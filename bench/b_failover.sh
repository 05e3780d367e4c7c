#!/usr/bin/env bash
# b_failover.sh — sipha's failover measured exactly as bench/b_keepalived.sh measures
# keepalived: the fault-matrix topology (bench/lib_topo.sh), pair_probe sampling both
# hosts every 10 ms (VIP presence from rtnetlink events, roles over SNMP) while its
# client in c sends an OPTIONS to the VIP every 10 ms, faults stamped on the wall clock.
#
# Each host runs its own snmpd (the shipped snmpd.conf.d/sipha.conf, UDP 161 on
# loopback, a private AgentX socket, the admin user of tests/agent/lib.sh) and a
# sipha-agent: VIP 10.9.9.100/24 on sip0 (tests/hosts/vip-up.sh / vip-down.sh), SIP NIC
# and IP-takeover monitoring on, no service DN (sip-pass-check off), the UDP HA link at
# its defaults (15 ms x 3 misses, backup 500 ms; FO_INTERVAL_MS changes the first), 3
# gratuitous ARPs 100 ms apart at takeover, VIP lifetime 3 s. The
# SIP responders of lib_topo (-n a / -n b on VIP:5060 and host:5060) answer the client.
#
# Cases, each N runs (default 20; BENCH_QUICK=1: 5), the fault 0-20 ms (uniform) after a
# random point, i.e. at a random phase of the heartbeat. The roles alternate: after
# a run the new primary is the next run's victim, so no pair is restarted between runs.
#   nic_shared  sip0 down on the primary, HA link on sip0 too (one NIC)  -> VIP on the peer
#   nic_own     the same with the HA link on ha0 (its own NIC)
#   kill        kill -9 of the primary's agent (its VIP removed by hand afterwards and
#               the agent restarted as backup)
#   term        SIGTERM of the primary's agent (graceful stop; restarted as backup)
#   set         snmpset -v3 siphaInstAdminCommand.P = switchover(2) from inside the
#               primary's namespace to its snmpd -> VIP on the peer; timed from
#               snmpset's exit (SET accepted), and from its start for information
# Per case: fault -> VIP added on the peer and fault -> first client answer from the
# peer (pair_probe's event lines), samples with the VIP on both hosts (links up). Then
# idle: CPU % of a core of agent + snmpd per host over 30 s (schedstat) and the agent's
# PSS (smaps_rollup).
#
# Records (bench/report.py format) go to $BENCH_RECORDS, keys failover_*. Run alone:
# `bash bench/b_failover.sh` prints its own table (median, p95, max). Root only;
# packages: snmpd, snmp, iproute2, libsnmp-dev, libmnl-dev, gcc.
# Settings: FO_RUNS (runs per case), FO_CASES (subset, in this order), FO_IDLE_S (30).
# shellcheck disable=SC2317 # functions called through topo_wait / indirectly
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
BENCH_BIN=${BENCH_BIN:-$BUILD/bench}
export ROOT BUILD BENCH_BIN
FO_RUNS=${FO_RUNS:-}
FO_IDLE_S=${FO_IDLE_S:-30}
FO_INTERVAL_MS=${FO_INTERVAL_MS:-15}
FO_CASES=${FO_CASES:-nic_own nic_shared kill term set}

if [ "$(id -u)" -ne 0 ]; then
  echo "b_failover.sh: SKIPPED (needs root for network namespaces)"
  [ -n "${BENCH_RECORDS:-}" ] && printf '%s\t%s\t\t\t\t\t\t%s\n' failover "sipha failover on the fault-matrix topology" \
    "SKIPPED: needs root" >> "$BENCH_RECORDS"
  exit 0
fi
for tool in snmpd snmpget snmpset ip ss nsenter gcc; do
  command -v "$tool" >/dev/null || { echo "b_failover.sh: '$tool' is missing (make deps)"; exit 1; }
done
[ -x "$BUILD/sipha-agent" ] || { echo "b_failover.sh: $BUILD/sipha-agent not built (make)"; exit 1; }
# shellcheck disable=SC2034 # read by lib_topo.sh
TOPO_TAG=fobench TOPO_BIN=$BENCH_BIN
# shellcheck source=lib_topo.sh
source "$ROOT/bench/lib_topo.sh"
topo_build || { echo "b_failover.sh: cannot build the helpers"; exit 1; }
# shellcheck source=common.sh
source "$ROOT/bench/common.sh"
# The admin user and the v2c community of the agent tests (tests/agent/lib.sh): the
# snmpd here uses the shipped snippet, whose v2c community is sipha-public.
# shellcheck source=../tests/agent/lib.sh
source "$ROOT/tests/agent/lib.sh"
b_setup
# shellcheck disable=SC2034 # read by lib_topo.sh
TOPO_DIR=$T
B_CLEANUP_HOOKS+=(topo_down)
N=${FO_RUNS:-$(b_reps 5 20)}

topo_up || { echo "b_failover.sh: namespace setup failed"; exit 1; }
start_responders || { echo "b_failover.sh: the SIP responders did not start"; exit 1; }

# ------------------------------------------------------------------ snmpd + agent
INST=$SIPHA_OID.1.1.1                       # siphaInstanceEntry: .1.3.6.1.4.1.32473.1.1.1.1
ROLE_OID=$INST.3 LINK_OID=$INST.24 ADMIN_OID=$INST.32
declare -A IDX=([a]=1 [b]=2) NAME=([a]=sip-a [b]=sip-b) AGENT=() SNMPD=()
HALINK_PORT=7400
FO_HALINK=shared

fo_snmpd_conf() {
  cat > "$T/$1/snmpd.conf" <<CONF
includeFile $ROOT/snmpd.conf.d/sipha.conf
agentaddress udp:127.0.0.1:161
agentXSocket $T/$1/agentx.sock
agentXPerms 0600 0700
createUser $ADMIN_USER SHA-256 "$ADMIN_AUTH" AES "$ADMIN_PRIV"
CONF
  chmod 600 "$T/$1/snmpd.conf"
}
fo_start_snmpd() {
  fo_snmpd_conf "$1"
  topo_bg "$1" "$T/$1/snmpd.out" env SNMP_PERSISTENT_DIR="$T/$1/persist" snmpd -f -C -c "$T/$1/snmpd.conf" \
    -Lf "$T/$1/snmpd.log" -p "$T/$1/snmpd.pid" -I -ipCidrRouteTable,inetCidrRouteTable,hr_swinst,hr_disk,hr_filesys
  SNMPD[$1]=$TOPO_PID
  topo_wait 10 test -S "$T/$1/agentx.sock" || { echo "snmpd on $1 did not start:"; tail "$T/$1/snmpd.log"; return 1; }
}

link_ip() { if [ "$FO_HALINK" = shared ]; then echo "${TOPO_SIP_IP[$1]}"; else echo "${TOPO_HA_IP[$1]}"; fi; }
# fo_conf HOST ROLE — $T/HOST/inst.xml
fo_conf() {
  local h=$1 o; o=$(topo_other "$1")
  cat > "$T/$h/inst.xml" <<XML
<?xml version="1.0"?>
<sipha>
  <instance index="${IDX[$h]}" name="${NAME[$h]}" priority="100" initial-role="$2"/>
  <agentx socket="$T/$h/agentx.sock" ping-interval="1" timeout-ms="1000"/>
  <state dir="$T/$h/state"/>
  <eventlog limit="500"/>
  <options sip-pass-check="false" sip-iptakeover-monitoring="true" tlib-nic-monitoring="false"
           sip-nic-monitoring="true" sip-nic-address="${TOPO_SIP_IP[$h]}"/>
  <sip address="${TOPO_SIP_IP[$h]}" port="$TOPO_SIP_PORT"/>
  <script timeout-ms="3000"/>
  <nic purpose="sip" name="sip0" address="${TOPO_SIP_IP[$h]}"/>
  <vip address="$TOPO_VIP" prefix-len="$TOPO_VIP_PLEN" interface="sip0"
       up-script="$ROOT/tests/hosts/vip-up.sh" down-script="$ROOT/tests/hosts/vip-down.sh"/>
  <peer name="${NAME[$o]}" index="${IDX[$o]}" address="$(link_ip "$o"):$HALINK_PORT"
        bind="$(link_ip "$h"):$HALINK_PORT" key-file="$T/halink.key" interval-ms="$FO_INTERVAL_MS" miss-count="3"/>
  <takeover announce-count="3" announce-interval-ms="100" vip-lifetime="3"/>
</sipha>
XML
}

# fo_get HOST OID-PREFIX — the value at OID-PREFIX.INDEX-of-HOST from HOST's own snmpd
fo_get() {
  topo_in "$1" snmpget -v2c -c "$COMMUNITY" "${SNMP_CLIENT[@]}" -Ov -t 1 udp:127.0.0.1:161 \
    "$2.${IDX[$1]}" 2>/dev/null
}
fo_role() { fo_get "$1" "$ROLE_OID"; }
has_vip() { topo_in "$1" ip -4 -o addr show dev sip0 | grep -q " $TOPO_VIP/"; }
# ready P — P primary with the VIP, the other backup without it, the HA link up on both
ready() {
  local o; o=$(topo_other "$1")
  [ "$(fo_role "$1")" = 2 ] && [ "$(fo_role "$o")" = 3 ] && has_vip "$1" && ! has_vip "$o" &&
    [ "$(fo_get "$1" "$LINK_OID")" = 2 ] && [ "$(fo_get "$o" "$LINK_OID")" = 2 ]
}
PRIMARY=a
wait_ready() {
  if topo_wait 15 ready "$PRIMARY"; then sleep 0.3; return 0; fi
  echo "  pair did not settle with $PRIMARY primary: roles a=$(fo_role a) b=$(fo_role b)," \
    "VIP a=$(has_vip a && echo 1 || echo 0) b=$(has_vip b && echo 1 || echo 0)"
  return 1
}
# start_agent HOST ROLE — waits until its row answers through its snmpd
start_agent() {
  fo_conf "$1" "$2"
  topo_bg "$1" "$T/$1/agent.log" "$BUILD/sipha-agent" -f -c "$T/$1/inst.xml"
  AGENT[$1]=$TOPO_PID
  topo_wait 10 fo_role "$1" || return 1
  local v; v=$(fo_role "$1"); case $v in [123]) return 0 ;; esac
  topo_wait 10 role_known "$1"
}
role_known() { case $(fo_role "$1") in [123]) return 0 ;; esac; return 1; }
gone() { ! kill -0 "$1" 2>/dev/null; }
stop_agent() {
  [ -n "${AGENT[$1]:-}" ] || return 0
  kill -TERM "${AGENT[$1]}" 2>/dev/null
  topo_wait 6 gone "${AGENT[$1]}" || kill -9 "${AGENT[$1]}" 2>/dev/null
  AGENT[$1]=
}
# fresh_pair — both agents stopped, no VIP, no state; a started primary, then b backup
fresh_pair() {
  local h
  for h in a b; do stop_agent "$h"; done
  for h in a b; do
    topo_in "$h" ip link set sip0 up
    topo_in "$h" ip addr del "$TOPO_VIP/$TOPO_VIP_PLEN" dev sip0 2>/dev/null
    rm -rf "$T/$h/state"; mkdir -p "$T/$h/state"
  done
  { start_agent a primary && start_agent b backup; } || { echo "  an agent did not start"; return 1; }
  PRIMARY=a
  wait_ready
}

( umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/halink.key" )
for h in a b; do mkdir -p "$T/$h/persist" "$T/$h/state"; fo_start_snmpd "$h" || exit 1; done

# ------------------------------------------------------------------ the runs
rand_phase() { sleep "$(b_calc %.4f "($RANDOM % 20000) / 1e6")"; } # 0-20 ms: one heartbeat period
declare -A VIP=() ANS=() BOTH=() MISS=() SETSTART=()
# run_case CASE RUN — one run: probe, random phase, fault on the primary, read the
# times, then the peer is the primary of the next run.
run_case() {
  local c=$1 r=$2 out="$T/probe-$1-$2.out" p=$PRIMARY s tv ta both t0 t1 vs tr
  s=$(topo_other "$p")
  probe_start "$out" 5 -k "$COMMUNITY" -A "$ROLE_OID.1" -B "$ROLE_OID.2" ||
    { echo "  $c run $r: pair_probe did not start ($(tail -1 "$T/probe.err"))"; return 1; }
  sleep 0.3
  rand_phase
  case $c in
    nic_*) fault_nic_down "$p" ;;
    kill) fault_kill "$p" "${AGENT[$p]}" ;;
    term) fault_term "$p" "${AGENT[$p]}" ;;
    set)
      t0=$EPOCHREALTIME
      topo_in "$p" snmpset -v3 -u "$ADMIN_USER" -l authPriv -a SHA-256 -A "$ADMIN_AUTH" -x AES -X "$ADMIN_PRIV" \
        "${SNMP_CLIENT[@]}" -t 1 udp:127.0.0.1:161 "$ADMIN_OID.${IDX[$p]}" i 2 >/dev/null 2>&1 ||
        echo "  $c run $r: snmpset failed"
      t1=$EPOCHREALTIME
      TOPO_FAULT=$t0 ;;
  esac
  sleep 0.8 # the measured path runs undisturbed; the trace is read afterwards
  probe_stop
  tv=$(vip_event_ms "$out" "$s" add) ta=$(answer_event_ms "$out" "$s") both=$(vip_both_samples "$out")
  if [ "$c" = set ]; then
    # from snmpset's start (TOPO_FAULT) to the events; the SET-accepted figures subtract
    # snmpset's run time (they can come out negative if the VIP moved before it exited)
    vs=$tv
    [ -n "$tv" ] && tv=$(b_calc %.2f "$tv - ($t1 - $t0) * 1000")
    [ -n "$ta" ] && ta=$(b_calc %.2f "$ta - ($t1 - $t0) * 1000")
    [ -n "$vs" ] && SETSTART[$c]+=" $vs"
  fi
  if [ -n "$tv" ]; then VIP[$c]+=" $tv"; else echo "  $c run $r: no VIP on $s"; MISS[$c]=$((${MISS[$c]:-0} + 1)); fi
  [ -n "$ta" ] && ANS[$c]+=" $ta"
  BOTH[$c]+=" $both"
  printf '  %-10s run %2d: %s -> %s: VIP +%s ms, answer +%s ms, samples with the VIP on both: %s\n' \
    "$c" "$r" "$p" "$s" "${tv:--}" "${ta:--}" "$both"
  # restore: the old primary comes back as backup; the peer leads the next run
  tr=$EPOCHREALTIME
  case $c in
    nic_*) fault_nic_up "$p" ;;
    kill)
      topo_wait 5 gone "${AGENT[$p]}"
      topo_in "$p" ip addr del "$TOPO_VIP/$TOPO_VIP_PLEN" dev sip0 2>/dev/null # or its lifetime ends it in 3 s
      start_agent "$p" backup ;;
    term) topo_wait 5 gone "${AGENT[$p]}"; start_agent "$p" backup ;;
  esac
  PRIMARY=$s
  wait_ready || return 1
  # A node whose NIC came back or that just started settles for settle_ms (1.5 s, the
  # engine's default) before it may take the role: the next fault waits until then, so
  # every run starts from a settled pair, as a fresh pair would.
  case $c in nic_*|kill|term) sleep "$(b_calc %.3f "1.9 - ($EPOCHREALTIME - $tr)")" 2>/dev/null ;; esac
  return 0
}

declare -A TITLE=([nic_shared]="SIP NIC link down on the primary, HA link on the same NIC"
                  [nic_own]="SIP NIC link down on the primary, HA link on its own NIC"
                  [kill]="kill -9 of the primary's agent" [term]="SIGTERM of the primary's agent"
                  [set]="SET switchover (SET accepted)")
FORMED=""
for c in $FO_CASES; do
  [ -n "${TITLE[$c]:-}" ] || { echo "b_failover.sh: unknown case '$c'"; exit 2; }
  want=shared; [ "$c" = nic_own ] && want=own
  if [ "$FORMED" != "$want" ]; then
    FO_HALINK=$want
    echo "[sipha] a fresh pair, HA link $( [ "$want" = own ] && echo "on ha0 (10.0.12.x)" || echo "on sip0 (10.9.9.x)")"
    fresh_pair || { for h in a b; do echo "--- agent $h"; tail -n 8 "$T/$h/agent.log"; done; exit 1; }
    FORMED=$want
  fi
  echo "[sipha] ${TITLE[$c]}: $N runs"
  for r in $(seq "$N"); do
    run_case "$c" "$r" && continue
    echo "  $c: the pair did not settle; a fresh pair for the rest"
    fresh_pair || break
  done
done

# ------------------------------------------------------------------ idle
echo "[sipha] idle: ${FO_IDLE_S} s"
sleep 1
declare -A CPU0=() CPU=() PSS=()
cpu_of() { echo $(($(b_cpu_ns "${AGENT[$1]}") + $(b_cpu_ns "${SNMPD[$1]}"))); }
IDLE_OK=1
for h in a b; do [ -n "${AGENT[$h]:-}" ] && kill -0 "${AGENT[$h]}" 2>/dev/null || IDLE_OK=""; done
# idle_windows: FO_IDLE_S in 3 s windows; CPUW[primary] and CPUW[backup] get one
# figure per window (agent + snmpd of that host).
IDLE_W=3 IDLE_N=$(( (FO_IDLE_S + 2) / 3 ))
declare -A CPUW=()
idle_windows() {
  local i h t0 t1 role
  CPUW=()
  for ((i = 0; i < IDLE_N; i++)); do
    t0=$EPOCHREALTIME
    for h in a b; do CPU0[$h]=$(cpu_of "$h"); done
    sleep "$IDLE_W"
    t1=$EPOCHREALTIME
    for h in a b; do
      if [ "$h" = "$PRIMARY" ]; then role=primary; else role=backup; fi
      CPUW[$role]+=" $(b_calc %.4f "($(cpu_of "$h") - ${CPU0[$h]}) / 1e9 / ($t1 - $t0) * 100")"
    done
  done
}
if [ -n "$IDLE_OK" ]; then
  idle_windows
  CPU[primary]=${CPUW[primary]} CPU[backup]=${CPUW[backup]}
  for h in a b; do PSS[$h]=$(awk '/^Pss:/ {print $2}' "/proc/${AGENT[$h]}/smaps_rollup" 2>/dev/null); done
else
  echo "  an agent is not running: no idle figures"
fi
# The floor: a bare process that only sends (on a) or only receives (on b) one
# datagram per heartbeat period on the same link, nothing else; what any user-space
# heartbeat of that period costs on this machine.
FLOOR_S=$((FO_IDLE_S < 20 ? FO_IDLE_S : 20))
echo "[sipha] heartbeat floor: bare sender/receiver, ${FO_INTERVAL_MS} ms, ${FLOOR_S} s"
topo_in b "$TOPO_BIN/hb_floor" rx "${TOPO_SIP_IP[b]}" 7499 "$FLOOR_S" > "$T/floor-rx.txt" 2>&1 &
floor_rx=$!
sleep 0.2
topo_in a "$TOPO_BIN/hb_floor" tx "${TOPO_SIP_IP[b]}" 7499 "$FO_INTERVAL_MS" "$FLOOR_S" > "$T/floor-tx.txt" 2>&1
wait "$floor_rx"
FLOOR_TX=$(sed -n 's/^cpu_pct=\([0-9.]*\).*/\1/p' "$T/floor-tx.txt")
FLOOR_RX=$(sed -n 's/^cpu_pct=\([0-9.]*\).*/\1/p' "$T/floor-rx.txt")

# The same idle pair at keepalived's own heartbeat rate (interval-ms 100): CPU at an
# equal detection budget (sipha: 3 x 100 ms; keepalived VRRPv3: 3 x 0.1 s + skew).
declare -A CPU100=()
if [ -n "$IDLE_OK" ] && FO_INTERVAL_MS=100 fresh_pair; then
  echo "[sipha] idle at interval-ms 100: ${FO_IDLE_S} s"
  sleep 2
  idle_windows
  CPU100[primary]=${CPUW[primary]} CPU100[backup]=${CPUW[backup]}
fi

# ------------------------------------------------------------------ results
stats() { # "V1 V2 ..." -> "N MEDIAN P95 MAX"
  tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "0 - - -"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    r = int(0.95 * NR); if (r < 0.95 * NR) r++; if (r < 1) r = 1
    printf "%d %.1f %.1f %.1f\n", NR, m, v[r], v[NR] }'
}
note_both() {
  tr ' ' '\n' <<<"${BOTH[$1]:-}" | grep . | awk '$1 > 0 { r++; s += $1 } END {
    printf "VIP on both hosts in %d of %d runs (%d samples)", r, NR, s }'
}
both_samples() { tr ' ' '\n' <<<"${BOTH[$1]:-}" | awk '{ s += $1 } END { print s + 0 }'; }
ran() { case " $FO_CASES " in *" $1 "*) return 0 ;; esac; return 1; }

echo
echo "sipha $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo ?), HA link $FO_INTERVAL_MS ms x 3 (backup 500 ms), 3 GARPs 100 ms apart, VIP lifetime 3 s; $(nproc) CPUs"
printf '%-58s %4s %9s %9s %9s\n' "figure (ms)" N median p95 max
for c in nic_shared nic_own kill term set; do
  ran "$c" || continue
  for m in vip ans; do
    if [ "$m" = vip ]; then v=${VIP[$c]:-}; what="→ VIP on the peer"; else v=${ANS[$c]:-}; what="→ answer from the peer"; fi
    read -r n med p95 mx <<<"$(stats "$v")"
    printf '%-58s %4s %9s %9s %9s\n' "$c: $what" "$n" "$med" "$p95" "$mx"
  done
done
if ran set; then
  read -r n med p95 mx <<<"$(stats "${SETSTART[set]:-}")"
  printf '%-58s %4s %9s %9s %9s\n' "set: snmpset start → VIP on the peer" "$n" "$med" "$p95" "$mx"
fi
for c in nic_shared nic_own kill term set; do ran "$c" && echo "$c: $(note_both "$c")"; done
echo "(kill -9 leaves the VIP on the dead agent's host until its 3 s lifetime ends; here the script removes it, 0.8 s after the fault)"
[ -n "$IDLE_OK" ] && for r in primary backup; do
  echo "idle, $r's host: CPU % of a core (agent + snmpd), ${IDLE_W} s windows:${CPU[$r]}"
done
[ -n "$IDLE_OK" ] && echo "agent PSS: a ${PSS[a]} kB, b ${PSS[b]} kB"

# rec KEY TITLE OP TARGET TARGET-TEXT VALUES NOTE — ms records with p95/max in the note
rec() {
  local p95 mx
  read -r _ _ p95 mx <<<"$(stats "$6")"
  b_record "$1" "$2" ms "$3" "$4" "$5" "$6" "p95 $p95, max $mx${7:+; $7}" >/dev/null
}
miss() { [ -n "${MISS[$1]:-}" ] && echo "; ${MISS[$1]} run(s) without the VIP on the peer"; }
ans_title() { echo "sipha: ${TITLE[$1]} → first SIP answer from the peer"; }
if ran nic_shared; then
  rec failover_nic_shared_vip "sipha: ${TITLE[nic_shared]} → VIP on the peer" "<=,p95<=" "60,100" \
    "p50 ≤ 60 ms, p95 ≤ 100 ms" "${VIP[nic_shared]:-}" "beside keepalived_nic_vip; $(note_both nic_shared)$(miss nic_shared)"
  rec failover_nic_shared_answer "$(ans_title nic_shared)" "<=" 100 "p50 ≤ 100 ms" "${ANS[nic_shared]:-}" \
    "beside keepalived_nic_answer; client OPTIONS every 10 ms"
fi
if ran nic_own; then
  rec failover_nic_own_vip "sipha: ${TITLE[nic_own]} → VIP on the peer" "<=" 30 "p50 ≤ 30 ms" "${VIP[nic_own]:-}" \
    "$(note_both nic_own)$(miss nic_own)"
  rec failover_nic_own_answer "$(ans_title nic_own)" "" "" "" "${ANS[nic_own]:-}" "client OPTIONS every 10 ms"
fi
if ran kill; then
  rec failover_kill_vip "sipha: ${TITLE[kill]} → VIP on the peer" "<=,max<=" "60,100" "p50 ≤ 60 ms, max ≤ 100 ms" \
    "${VIP[kill]:-}" "beside keepalived_kill_vip$(miss kill)"
  rec failover_kill_answer "$(ans_title kill)" "" "" "" "${ANS[kill]:-}" "beside keepalived_kill_answer"
fi
if ran term; then
  rec failover_term_vip "sipha: ${TITLE[term]} → VIP on the peer" "<=" 30 "p50 ≤ 30 ms" "${VIP[term]:-}" \
    "beside keepalived_term_vip$(miss term)"
  rec failover_term_answer "$(ans_title term)" "" "" "" "${ANS[term]:-}" "beside keepalived_term_answer"
  b_record failover_term_both "sipha: SIGTERM of the primary's agent → samples with the VIP on both hosts" samples \
    "max<=" 0 "0 samples" "$(both_samples term)" "$(note_both term), 10 ms samples, links up" >/dev/null
fi
if ran set; then
  rec failover_set_vip "sipha: ${TITLE[set]} → VIP on the peer" "<=" 30 "p50 ≤ 30 ms" "${VIP[set]:-}" \
    "snmpset -v3 authPriv from the primary's namespace to its snmpd; timed from snmpset's exit$(miss set)"
  rec failover_set_vip_from_start "sipha: SET switchover, from snmpset's start → VIP on the peer" "" "" "" \
    "${SETSTART[set]:-}" "includes snmpset's start-up and SNMPv3 discovery"
fi
if [ -n "$IDLE_OK" ]; then
  for r in primary backup; do
    b_record "failover_idle_cpu_$r" "sipha idle: CPU of a core on the $r's host, agent + snmpd" "%" "<=" 0.1 \
      "< 0.1 % per host" "${CPU[$r]}" "${IDLE_W} s windows, schedstat" >/dev/null
  done
  b_record failover_pss "sipha idle: agent PSS per host (a, b)" kB "max<=" 5120 "< 5 MB" "${PSS[a]} ${PSS[b]}" \
    "smaps_rollup; beside keepalived_pss" >/dev/null
fi
for r in primary backup; do
  [ -n "${CPU100[$r]:-}" ] && b_record "failover_idle_cpu_100_$r" \
    "sipha idle at interval-ms 100 (keepalived's rate): CPU of a core on the $r's host, agent + snmpd" \
    "%" "" "" "" "${CPU100[$r]}" "${IDLE_W} s windows, schedstat" >/dev/null
done
[ -n "$FLOOR_TX" ] && b_record failover_floor_tx \
  "floor: a bare process sending one datagram every $FO_INTERVAL_MS ms (nothing else)" "%" "" "" "" "$FLOOR_TX" \
  "getrusage over $FLOOR_S s; the least any user-space heartbeat sender of this period costs here" >/dev/null
[ -n "$FLOOR_RX" ] && b_record failover_floor_rx \
  "floor: a bare process receiving them" "%" "" "" "" "$FLOOR_RX" "getrusage over $FLOOR_S s" >/dev/null
exit 0
