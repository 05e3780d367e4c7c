#!/usr/bin/env bash
# Benchmark 11 — the etcd arbiter's lease, on a three-member etcd cluster (Debian's
# etcd-server, all members on loopback, started here) with sipha's own key holder
# (etcd/etcd_holder.c, driven by bench/etcd_pairs.c; the HA engine is not wired to it
# yet, so these are the lease's figures, which bound what the engine can do):
#   - crash -> the peer holds the key: a holds its pair's key and crashes (no
#     release), b takes every 100 ms from that instant (as a backup that just lost its
#     peer would) until it holds the key; TTL 2 s (etcd 3.4's minimum);
#   - 100 pairs on one cluster (200 holders, 100 keys held, reads every 200 ms): the
#     calls per second and the cluster's CPU (three members, schedstat), 5 windows of 2 s;
#   - then the leader member is killed: the holds lost, and the longest time from a
#     loss to the key held again (a holder that lost its hold takes again at once);
#     once with TTL 2 s, once with TTL 5 s.
source "$(dirname "$0")/common.sh"
b_setup
command -v etcd >/dev/null || { echo "b_etcd: etcd missing (make deps installs etcd-server)"; exit 1; }
[ -x "$BENCH_BIN/etcd_pairs" ] || { echo "b_etcd: $BENCH_BIN/etcd_pairs missing (bench/run.sh builds it)"; exit 1; }

declare -A CPORT PPORT PID
cluster='' urls=''
for m in 1 2 3; do
  CPORT[$m]=$(b_free_port) PPORT[$m]=$(b_free_port)
  cluster+="${cluster:+,}m$m=http://127.0.0.1:${PPORT[$m]}"
  urls+="${urls:+,}http://127.0.0.1:${CPORT[$m]}"
done
# start_member M: member M of the cluster (again: its data directory holds the rest)
start_member() {
  local m=$1
  etcd --name "m$m" --data-dir "$T/m$m" --log-level warn \
    --listen-client-urls "http://127.0.0.1:${CPORT[$m]}" \
    --advertise-client-urls "http://127.0.0.1:${CPORT[$m]}" \
    --listen-peer-urls "http://127.0.0.1:${PPORT[$m]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${PPORT[$m]}" \
    --initial-cluster "$cluster" --initial-cluster-state new >> "$T/m$m.log" 2>&1 &
  PID[$m]=$!
  B_PIDS+=("$!")
}
for m in 1 2 3; do start_member "$m"; done
healthy() {
  local m
  for m in 1 2 3; do
    curl -sf -m 1 "http://127.0.0.1:${CPORT[$m]}/health" | grep -q '"health":"true"' || return 1
  done
}
b_wait 30 healthy || { echo "b_etcd: the cluster did not become healthy"; tail -5 "$T"/m*.log; exit 1; }

# the leader's member number (each member's status names the leader's id)
leader() {
  local m st
  for m in 1 2 3; do
    st=$(curl -sf -m 1 -X POST -d '{}' "http://127.0.0.1:${CPORT[$m]}/v3/maintenance/status") || continue
    python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s["leader"] == s["header"]["member_id"] else 1)' "$st" && { echo "$m"; return 0; }
  done
  return 1
}

RUNS=$(b_reps 5 20)
echo "crash of the holder -> the peer holds the key (TTL 2 s, $RUNS runs)"
mapfile -t CRASH < <("$BENCH_BIN/etcd_pairs" crash -e "$urls" -n "$RUNS" -t 2 -r 100 | sed -n 's/^crash_ms=//p')
[ "${#CRASH[@]}" -eq "$RUNS" ] || { echo "b_etcd: only ${#CRASH[@]} of $RUNS crash runs ended"; exit 1; }
b_record etcd_crash_takeover "etcd lease: holder crashed -> peer holds the key (TTL 2 s, peer takes every 100 ms)" ms "<=" 3000 "<= TTL + 1 s" "${CRASH[*]}" "lease mechanics alone (bench/etcd_pairs.c), 3-member cluster on loopback"

kv() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" "$T/load.out"; }

# load_run TTL: 100 pairs for 20 s with that lease TTL; the leader is killed 12 s in
# and started again afterwards. With CPU=1, the members' CPU is read 2-12 s in.
PAIRS=100 SECS=20
load_run() {
  echo "$PAIRS pairs on one cluster, TTL $1 s, for $SECS s; the leader is killed 12 s in"
  "$BENCH_BIN/etcd_pairs" load -e "$urls" -p "$PAIRS" -t "$1" -r 200 -d "$SECS" > "$T/load.out" 2>&1 &
  local load=$! l c0 c1 t0 t1
  sleep 2 # every pair has taken its key
  if [ "${CPU_WANTED:-}" = 1 ]; then
    CPU=()
    for _ in 1 2 3 4 5; do # five windows of 2 s
      c0=$(b_cpu_ns_sum "${PID[1]}" "${PID[2]}" "${PID[3]}"); t0=$(b_now)
      sleep 2
      c1=$(b_cpu_ns_sum "${PID[1]}" "${PID[2]}" "${PID[3]}"); t1=$(b_now)
      CPU+=("$(b_calc %.2f "($c1 - $c0) / 1e7 / ($t1 - $t0)")")
    done
  else
    sleep 10
  fi
  l=$(leader) || { echo "b_etcd: no leader found"; kill "$load"; return 1; }
  kill -9 "${PID[$l]}"
  wait "$load" || { echo "b_etcd: etcd_pairs load failed"; cat "$T/load.out"; return 1; }
  cat "$T/load.out"
  start_member "$l"
  b_wait 30 healthy || { echo "b_etcd: member m$l did not come back"; return 1; }
}

CPU_WANTED=1 load_run 2 || exit 1
b_record etcd_100_pairs_cpu "etcd cluster CPU (3 members summed), 100 pairs held (TTL 2 s, reads every 200 ms)" "%" "" "" "" "${CPU[*]}" "% of one core, 2 s windows; $(kv calls_per_s) calls/s from 200 holders"
b_record etcd_leader_loss_ttl2 "etcd leader killed under 100 pairs, TTL 2 s: longest loss -> key held again" ms "" "" "" "$(kv max_regain_ms)" "pairs that lost their hold: $(kv pairs_lost) of 100 ($(kv losses) losses); left without their key at the end: $(kv holders_without_key); longest time no member answered: $(kv max_stall_ms) ms"
load_run 5 || exit 1
b_record etcd_leader_loss_ttl5 "etcd leader killed under 100 pairs, TTL 5 s: pairs that lost their hold" "" "" "" "" "$(kv pairs_lost)" "of 100 ($(kv losses) losses); longest loss -> held again: $(kv max_regain_ms) ms; longest time no member answered: $(kv max_stall_ms) ms"
