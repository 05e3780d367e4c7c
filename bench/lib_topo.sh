# shellcheck shell=bash disable=SC2034 # the TOPO_* globals are read by the scripts that source this
# lib_topo.sh — the fault-matrix topology for failover measurements: two hosts and a
# client in network namespaces, a SIP responder per host, pair_probe sampling the pair,
# faults stamped on the wall clock, times read from pair_probe's kernel-event lines.
# Used by bench/b_keepalived.sh; written so that a sipha measurement can reuse it (start
# snmpd + sipha-agent per host instead of keepalived, pass -A/-B role OIDs to the probe).
#
# Topology (the addresses of tests/hosts/lib_netns.sh; every veth has both ends in these
# namespaces; explicit ifindexes so carrier changes are reported at once):
#
#   host a (TOPO_NS[a])            client c (TOPO_NS[c])             host b (TOPO_NS[b])
#   sip0  10.9.9.1/24   ---- br-sip 10.9.9.10/24 (SIP client) ----  sip0  10.9.9.2/24
#   mgmt0 10.0.1.1/24   ---- br-mgmt 10.0.1.10/24 --------------    mgmt0 10.0.1.2/24
#   ha0   10.0.12.1/30  ---------------- direct veth --------------  ha0   10.0.12.2/30
#   VIP 10.9.9.100/24 on sip0 of the host that holds it
#
# Globals the caller may set before sourcing: TOPO_TAG (namespace name prefix, default
# "topo"), TOPO_DIR (a temp dir of the caller; made when empty), TOPO_BIN (where
# sip_responder, link_flip and pair_probe are built; default $BUILD/bench).
#
# API:
#   topo_up                      namespaces, links, addresses; 0 on success
#   topo_down                    kills every process in the namespaces, deletes them
#   topo_in HOST CMD...          runs CMD in HOST's namespace (nsenter: no /sys remount)
#   topo_bg HOST LOG CMD...      same in the background; pid in TOPO_PID
#   topo_build                   compiles sip_responder, link_flip, pair_probe into TOPO_BIN
#   start_responders             sip_responder -n a / -n b on VIP:5060 (freebind) + host:5060
#   probe_start OUT SECONDS [pair_probe args...]   starts pair_probe on the pair; pid in TOPO_PROBE_PID
#   probe_stop                   ends it (SIGTERM: it writes its footer) and waits
#   fault_nic_down HOST / fault_nic_up HOST   sip0 down/up with link_flip (stamp before the ioctl)
#   fault_kill HOST PID... / fault_term HOST PID...   kill -9 / SIGTERM, stamped just before
#   fault_mark                   SIGUSR1 to pair_probe (an "F" in its samples)
#     every fault sets TOPO_FAULT (seconds.micro, wall clock)
#   vip_event_ms OUT HOST [add|del]   ms from TOPO_FAULT to HOST's first VIP add (del) event
#                                after it in pair_probe's OUT; empty when there is none
#   answer_event_ms OUT NAME     ms from TOPO_FAULT to the first client answer from NAME
#   vip_both_samples OUT         samples after TOPO_FAULT with the VIP on both hosts (links up)

TOPO_TAG=${TOPO_TAG:-topo}
declare -A TOPO_NS=([a]=$TOPO_TAG-a-$$ [b]=$TOPO_TAG-b-$$ [c]=$TOPO_TAG-c-$$)
declare -A TOPO_SIP_IP=([a]=10.9.9.1 [b]=10.9.9.2)
declare -A TOPO_MGMT_IP=([a]=10.0.1.1 [b]=10.0.1.2)
declare -A TOPO_HA_IP=([a]=10.0.12.1 [b]=10.0.12.2)
TOPO_VIP=10.9.9.100 TOPO_VIP_PLEN=24 TOPO_C_SIP=10.9.9.10 TOPO_C_MGMT=10.0.1.10
TOPO_SIP_PORT=5060
TOPO_ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
TOPO_BIN=${TOPO_BIN:-${BENCH_BIN:-${BUILD:-$TOPO_ROOT/build}/bench}}
TOPO_DIR=${TOPO_DIR:-}
TOPO_PID="" TOPO_PROBE_PID="" TOPO_FAULT=""

topo_other() { if [ "$1" = a ]; then echo b; else echo a; fi; }
topo_in() { local h=$1; shift; nsenter --net="/run/netns/${TOPO_NS[$h]}" "$@"; }
topo_bg() {
  local h=$1 log=$2; shift 2
  nsenter --net="/run/netns/${TOPO_NS[$h]}" "$@" >>"$log" 2>&1 &
  TOPO_PID=$!
  disown "$TOPO_PID" 2>/dev/null # no "Killed" job report when a fault kills it on purpose
}

topo_build() {
  mkdir -p "$TOPO_BIN" || return 1
  local h
  for h in sip_responder link_flip hb_floor; do
    gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -o "$TOPO_BIN/$h" "$TOPO_ROOT/bench/$h.c" || return 1
  done
  cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror "$TOPO_ROOT/tests/hosts/pair_probe.c" \
    -o "$TOPO_BIN/pair_probe" -lnetsnmp -lmnl
}

topo_any_alive() { local p; for p; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
# Everything started here lives in one of the namespaces (pair_probe is in the root
# namespace: it is stopped by its pid), so the namespaces' pid lists are exactly what to
# stop.
topo_down() {
  local ns p pids=()
  [ -n "$TOPO_PROBE_PID" ] && kill "$TOPO_PROBE_PID" 2>/dev/null
  for ns in "${TOPO_NS[@]}"; do
    [ -e "/run/netns/$ns" ] && mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
  done
  if [ "${#pids[@]}" -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do topo_any_alive "${pids[@]}" && sleep 0.1; done
  fi
  for ns in "${TOPO_NS[@]}"; do
    [ -e "/run/netns/$ns" ] || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  [ -n "$TOPO_PROBE_PID" ] && kill -9 "$TOPO_PROBE_PID" 2>/dev/null
  TOPO_PROBE_PID=""
}

topo_host_links() { # HOST IFINDEX-BASE PEER-IFINDEX-BASE
  local h=$1 ns=${TOPO_NS[$1]} c=${TOPO_NS[c]}
  ip -n "$ns" link add sip0 index "$2" type veth peer name "sip-$h" index "$3" netns "$c" &&
  ip -n "$ns" link add mgmt0 index $(($2 + 1)) type veth peer name "mgmt-$h" index $(($3 + 1)) netns "$c" &&
  ip -n "$c" link set "sip-$h" master br-sip &&
  ip -n "$c" link set "mgmt-$h" master br-mgmt &&
  ip -n "$ns" addr add "${TOPO_SIP_IP[$h]}/24" dev sip0 &&
  ip -n "$ns" addr add "${TOPO_MGMT_IP[$h]}/24" dev mgmt0
}

topo_up() {
  local ns l
  if [ -z "$TOPO_DIR" ]; then TOPO_DIR=$(mktemp -d /tmp/sipha-topo.XXXXXX) || return 1; fi
  for ns in "${TOPO_NS[a]}" "${TOPO_NS[b]}" "${TOPO_NS[c]}"; do
    ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
  done
  ip -n "${TOPO_NS[c]}" link add br-sip index 230 type bridge forward_delay 0 &&
  ip -n "${TOPO_NS[c]}" link add br-mgmt index 231 type bridge forward_delay 0 || return 1
  topo_host_links a 110 210 && topo_host_links b 120 220 || return 1
  ip -n "${TOPO_NS[a]}" link add ha0 index 112 type veth peer name ha0 index 122 netns "${TOPO_NS[b]}" &&
  ip -n "${TOPO_NS[a]}" addr add "${TOPO_HA_IP[a]}/30" dev ha0 &&
  ip -n "${TOPO_NS[b]}" addr add "${TOPO_HA_IP[b]}/30" dev ha0 &&
  ip -n "${TOPO_NS[c]}" addr add "$TOPO_C_SIP/24" dev br-sip &&
  ip -n "${TOPO_NS[c]}" addr add "$TOPO_C_MGMT/24" dev br-mgmt || return 1
  for ns in "${TOPO_NS[a]}" "${TOPO_NS[b]}" "${TOPO_NS[c]}"; do
    for l in $(ip -n "$ns" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
      ip -n "$ns" link set "$l" up || return 1
    done
  done
}

# start_responders — each host's SIP server: answers OPTIONS with "Server: a|b", bound
# on VIP:5060 before the VIP is there (IP_FREEBIND) and on its own SIP address.
start_responders() {
  local h
  for h in a b; do
    topo_bg "$h" "$TOPO_DIR/resp-$h.log" "$TOPO_BIN/sip_responder" -n "$h" \
      "$TOPO_VIP:$TOPO_SIP_PORT" "${TOPO_SIP_IP[$h]}:$TOPO_SIP_PORT" || return 1
  done
  for h in a b; do
    topo_wait 5 topo_udp_bound "$h" "$TOPO_VIP" "$TOPO_SIP_PORT" || return 1
  done
}
topo_udp_bound() { topo_in "$1" ss -Hlun "src $2:$3" | grep -q .; }

# topo_wait SECONDS CMD... — polls CMD every 20 ms (set-up only, never for a time)
topo_wait() {
  local end=$((SECONDS + $1)); shift
  while [ "$SECONDS" -le "$end" ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.02; done
  return 1
}

# probe_start OUT SECONDS [pair_probe args...] — waits for its "start" line.
probe_start() {
  local out=$1 secs=$2; shift 2
  "$TOPO_BIN/pair_probe" -a "${TOPO_NS[a]}" -b "${TOPO_NS[b]}" -c "${TOPO_NS[c]}" -v "$TOPO_VIP" -i sip0 \
    -d "$secs" -o "$out" "$@" 2>>"$TOPO_DIR/probe.err" &
  TOPO_PROBE_PID=$!
  topo_wait 5 grep -q '^# columns' "$out"
}
probe_stop() {
  [ -n "$TOPO_PROBE_PID" ] || return 0
  kill "$TOPO_PROBE_PID" 2>/dev/null
  wait "$TOPO_PROBE_PID" 2>/dev/null
  TOPO_PROBE_PID=""
}

fault_nic_down() {
  local before
  read -r before _ < <(topo_in "$1" "$TOPO_BIN/link_flip" sip0 down)
  TOPO_FAULT=${before:-$EPOCHREALTIME}
}
fault_nic_up() { topo_in "$1" "$TOPO_BIN/link_flip" sip0 up >/dev/null; }
fault_kill() { shift; TOPO_FAULT=$EPOCHREALTIME; kill -9 "$@" 2>/dev/null; }
fault_term() { shift; TOPO_FAULT=$EPOCHREALTIME; kill -TERM "$@" 2>/dev/null; }
fault_mark() { [ -n "$TOPO_PROBE_PID" ] && kill -USR1 "$TOPO_PROBE_PID"; }

# times from pair_probe's event lines: "@ T_MS RT_MS vip HOST add|del", "@ T RT answer NAME SEQ"
topo_fault_ms() { awk -v f="$TOPO_FAULT" 'BEGIN { printf "%.3f", f * 1000 }'; }
vip_event_ms() {
  awk -v f="$(topo_fault_ms)" -v h="$2" -v k="${3:-add}" \
    '$1 == "@" && $4 == "vip" && $5 == h && $6 == k && $3 >= f { printf "%.2f\n", $3 - f; exit }' "$1"
}
answer_event_ms() {
  awk -v f="$(topo_fault_ms)" -v n="$2" \
    '$1 == "@" && $4 == "answer" && $5 == n && $3 >= f { printf "%.2f\n", $3 - f; exit }' "$1"
}
vip_both_samples() {
  awk -v f="$(topo_fault_ms)" '$1 ~ /^[0-9]/ && $2 >= f && $5 == 1 && $6 == 1 && $9 == "U" && $10 == "U" { n++ }
    END { print n + 0 }' "$1"
}
