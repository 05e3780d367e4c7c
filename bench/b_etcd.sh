#!/usr/bin/env bash
# Benchmark 11 — the etcd arbiter's lease, on a three-member etcd cluster (Debian's
# etcd-server, all members on loopback, started here) with sipha's own key holder
# (etcd/etcd_holder.c, driven by bench/etcd_pairs.c: the lease's own figures; the
# real pair with the engine is bench/b_etcd_agents.sh):
#   - crash -> the peer holds the key: a holds its pair's key and crashes (no
#     release), b takes every 100 ms from that instant (as a backup that just lost its
#     peer would) until it holds the key; TTL 2 s (etcd 3.4's minimum);
#   - 100 pairs on one cluster (200 holders, 100 keys held, reads every 200 ms, TTL
#     3 s): the calls per second and the cluster's CPU (three members, schedstat),
#     5 windows of 2 s;
#   - the leader member killed under those 100 pairs, KILLS times (5; quick 2) at each
#     of TTL 2, 3 and 5 s: the time until a member names a new leader, the holds
#     that lapsed (no renewal answered before the guard), and the longest time from a
#     lapse to the key held again (a holder that lost its hold takes again at once).
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
  disown "$!" # no "Killed" report from bash when a run kills it on purpose
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

# load_run TTL KILL_AT: 100 pairs with that lease TTL; the leader is killed KILL_AT s in,
# then the run goes on 6 s and the member is started again. Sets ELECT_MS (kill -> a
# member names a new leader, polled every 20 ms). With CPU_WANTED=1, the members' CPU
# is read in five 2 s windows from 2 s in (KILL_AT must be 12 or more).
PAIRS=100
load_run() {
  local ttl=$1 at=$2 load l c0 c1 t0 t1 k
  "$BENCH_BIN/etcd_pairs" load -e "$urls" -p "$PAIRS" -t "$ttl" -r 200 -d $((at + 6)) > "$T/load.out" 2>&1 &
  load=$!
  sleep 2 # every pair has taken its key
  if [ "${CPU_WANTED:-}" = 1 ]; then
    CPU=()
    for _ in 1 2 3 4 5; do
      c0=$(b_cpu_ns_sum "${PID[1]}" "${PID[2]}" "${PID[3]}"); t0=$(b_now)
      sleep 2
      c1=$(b_cpu_ns_sum "${PID[1]}" "${PID[2]}" "${PID[3]}"); t1=$(b_now)
      CPU+=("$(b_calc %.2f "($c1 - $c0) / 1e7 / ($t1 - $t0)")")
    done
    sleep $((at - 12))
  else
    sleep $((at - 2))
  fi
  l=$(leader) || { echo "b_etcd: no leader found"; kill "$load"; return 1; }
  t0=$(b_now)
  kill -9 "${PID[$l]}"
  ELECT_MS=
  for ((k = 0; k < 500; k++)); do
    if leader > /dev/null; then ELECT_MS=$(b_calc %.0f "($(b_now) - $t0) * 1000"); break; fi
    sleep 0.02
  done
  wait "$load" || { echo "b_etcd: etcd_pairs load failed"; cat "$T/load.out"; return 1; }
  start_member "$l"
  b_wait 30 healthy || { echo "b_etcd: member m$l did not come back"; return 1; }
}

echo "$PAIRS pairs on one cluster, TTL 3 s (the default): calls and the cluster's CPU"
CPU_WANTED=1 load_run 3 12 || exit 1
b_record etcd_100_pairs_cpu "etcd cluster CPU (3 members summed), 100 pairs held (TTL 3 s, reads every 200 ms)" "%" "" "" "" "${CPU[*]}" "% of one core, 2 s windows; $(kv calls_per_s) calls/s from 200 holders"

# The leader killed, KILLS times at each TTL: how long the cluster has no leader, and
# how many of the 100 holds lapse (no renewal answered before the guard). A holder
# whose hold lapsed takes again at once, as a primary whose peer still hears it does.
KILLS=$(b_reps 2 5)
elect=()
for ttl in 2 3 5; do
  lost=() regain=0 stall=0
  for ((r = 0; r < KILLS; r++)); do
    load_run "$ttl" 6 || exit 1
    echo "  TTL $ttl s, leader kill $((r + 1)): new leader after ${ELECT_MS:-?} ms; holds lapsed $(kv pairs_lost) of $PAIRS, longest lapse -> held again $(kv max_regain_ms) ms"
    [ -n "$ELECT_MS" ] && elect+=("$ELECT_MS")
    lost+=("$(kv pairs_lost)")
    [ "$(kv max_regain_ms)" -gt "$regain" ] && regain=$(kv max_regain_ms)
    [ "$(kv max_stall_ms)" -gt "$stall" ] && stall=$(kv max_stall_ms)
  done
  b_record "etcd_leader_loss_ttl$ttl" "etcd leader killed under 100 pairs, TTL $ttl s: holds that lapsed (of 100, per kill)" "" "" "" "" "${lost[*]}" "longest lapse -> key held again: $regain ms; longest time no member answered: $stall ms"
done
b_record etcd_leader_elect "etcd leader killed (3 members, election timeout 1 s): kill -> a new leader" ms "" "" "" "${elect[*]}" "polled every 20 ms; all kills of the three TTLs"
