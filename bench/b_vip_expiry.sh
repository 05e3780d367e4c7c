#!/usr/bin/env bash
# Benchmark 12 — how long a dead agent's VIP outlives its lifetime.
#
# The primary puts a finite lifetime on each VIP and renews it; when the agent dies,
# the kernel removes the address by itself (agent/vip_lifetime.c). This measures how
# late that removal comes after valid_lft reaches 0, with the same driver the test
# uses (tests/hosts/vip_net_driver.c: set a 2 s lifetime, poll every 5 ms until the
# address is gone), for IPv4 and IPv6:
#   quiet — nothing else touches the network configuration;
#   churn — meanwhile, a loop creates a namespace, puts a veth pair and an address in
#           it and deletes it again (as a host running containers or tests does),
#           since the kernel's expiry worker needs the rtnl lock that this also takes.
# One namespace A (the VIP on v0, its veth peer in namespace C); the churn's
# namespaces hold both ends of their veth; no packet leaves them.
source "$(dirname "$0")/common.sh"
if [ "$(id -u)" -ne 0 ]; then
  echo "b_vip_expiry.sh: SKIPPED (needs root for network namespaces)"
  printf '%s\t%s\t\t\t\t\t\t%s\n' vip_expiry "VIP expiry: all" "SKIPPED: needs root" >> "$BENCH_RECORDS"
  exit 0
fi
b_setup

NS_A=vexp-a-$$ NS_C=vexp-c-$$ CHURN_PREFIX=vexp-ch-$$-
LIFETIME=2
N=$(b_reps 3 12)
CHURN_MAX=2000      # namespaces the churn loop may create in all (it also stops on a flag)
DRV=$T/vip_net_driver

ns_cleanup() {
  local n
  rm -f "$T/churn.on"
  for n in "$NS_A" "$NS_C" $(ip netns list | awk -v p="$CHURN_PREFIX" 'index($1, p) == 1 {print $1}'); do
    ip netns del "$n" 2>/dev/null
  done
}
B_CLEANUP_HOOKS+=(ns_cleanup)

gcc -std=c11 -D_GNU_SOURCE -O2 -I"$ROOT"/agent -I"$ROOT"/mib -I"$ROOT"/monitors -I"$ROOT"/halink \
  -I"$ROOT"/engine -I"$ROOT"/base -o "$DRV" "$ROOT/tests/hosts/vip_net_driver.c" \
  "$ROOT/agent/vip_lifetime.c" "$ROOT/agent/vip_announce.c" "$ROOT"/base/{loop,array,addr,errbuf}.c \
  -lmnl || { echo "cannot build the driver"; exit 1; }

net_setup() {
  ip netns add "$NS_A" && ip netns add "$NS_C" &&
    ip -n "$NS_A" link add v0 type veth peer name c0 netns "$NS_C" &&
    ip -n "$NS_A" link set lo up && ip -n "$NS_A" addr add 10.77.0.1/24 dev v0 &&
    ip -n "$NS_A" addr add fd00:77::1/64 dev v0 nodad &&
    ip -n "$NS_A" link set v0 up && ip -n "$NS_C" link set c0 up
}
net_setup || { echo "cannot build the namespaces"; exit 1; }

# churn: until the flag goes or CHURN_MAX namespaces were made
churn() {
  local i=0 n t0=$SECONDS
  while [ -e "$T/churn.on" ] && [ "$i" -lt "$CHURN_MAX" ]; do
    n=$CHURN_PREFIX$i
    ip netns add "$n" && ip -n "$n" link add x0 type veth peer name x1 &&
      ip -n "$n" link set x0 up && ip -n "$n" addr add fd00:88::1/64 dev x0 nodad
    ip netns del "$n"
    i=$((i + 1))
  done
  echo "$i namespaces made and deleted in $((SECONDS - t0)) s" > "$T/churn.count"
}

# lateness FAMILY: N runs of the driver, their late_ms values into LATE
lateness() {
  local vip plen flags out r
  if [ "$1" = 6 ]; then vip=fd00:77::100 plen=64 flags="nodad noprefixroute"
  else vip=10.77.0.100 plen=24 flags=""; fi
  LATE=""
  for r in $(seq "$N"); do
    # shellcheck disable=SC2086 # the flags are words
    ip -n "$NS_A" addr add "$vip/$plen" dev v0 $flags || { echo "  run $r: cannot add $vip"; continue; }
    out=$(ip netns exec "$NS_A" "$DRV" expire v0 "$vip" "$LIFETIME")
    if [[ $out =~ late_ms=(-?[0-9]+) ]]; then LATE+=" ${BASH_REMATCH[1]}"
    else echo "  run $r: $out"; ip -n "$NS_A" addr del "$vip/$plen" dev v0 2>/dev/null; fi
  done
}

echo "[12] unrenewed VIP, lifetime $LIFETIME s: lateness after valid_lft reached 0 (N=$N each)"
lateness 4
b_record vip_expiry_v4 "IPv4 VIP, agent dead: gone after valid_lft reached 0, quiet host" ms "<=" 1000 \
  "<= 1 s (README)" "$LATE"
lateness 6
b_record vip_expiry_v6 "IPv6 VIP, agent dead: gone after valid_lft reached 0, quiet host" ms "<=" 1000 \
  "<= 1 s (README)" "$LATE"

touch "$T/churn.on"
runs_t0=$SECONDS
churn &
CHURN_PID=$!
lateness 4; l4=$LATE
lateness 6; l6=$LATE
rm -f "$T/churn.on"
runs_s=$((SECONDS - runs_t0))
wait "$CHURN_PID"
made="$(cat "$T/churn.count" 2>/dev/null || echo "? namespaces made and deleted") (the runs took $runs_s s)"
b_record vip_expiry_v4_churn "IPv4 VIP, agent dead: the same, namespaces created and deleted meanwhile" ms "" "" "" \
  "$l4" "$made"
b_record vip_expiry_v6_churn "IPv6 VIP, agent dead: the same, namespaces created and deleted meanwhile" ms "" "" "" \
  "$l6" "the same churn"
