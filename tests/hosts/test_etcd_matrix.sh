#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2034 # HN_* settings are read by lib_netns.sh
# test_etcd_matrix.sh — the fault matrix with the etcd arbiter (issue 11): the pair of
# lib_netns.sh, both agents with <arbiter kind="etcd"> on the three-member cluster of
# lib_etcd.sh (in c, on the management network), lease TTL 2 s. Each case on a fresh
# pair (a primary holding the key, b backup, every member up, the key taken anew);
# pair_probe samples both hosts every 10 ms (lib_matrix.sh, as test_fault_matrix.sh)
# and analyze_samples.py fails the case on
#   I1  two primaries in any sample from the fault on, or the VIP on both hosts (a
#       crashed agent's VIP allowed until its lifetime ends, 3 s + 1 s; a frozen
#       one's until 200 ms after SIGCONT, as in test_fault_matrix.sh),
#   I2  no primary while a host is fit, from the case's allowance on (the lease's
#       wait where the role must wait for it),
# a wrong end state, a takeover before a dead holder's lease can have ended or too long
# after it, an old primary that stays primary too long; and each case checks the key
# (it names the primary, with its epoch) and that the fault took effect. One table at
# the end. Root only.
#
#   1 full partition of the pair (HA link, SIP and management addresses), etcd
#     reachable from both: the key's holder stays the only primary; healed, the same
#   2 etcd split: member 1 (the leader) cut off from members 2 and 3; a reaches only
#     member 1, b only members 2 and 3, the pair cut: a steps down at its guard, b leads
#     once a's lease has ended on the majority side, with the key
#   3 etcd majority lost (the leader and another member killed), the pair intact: the
#     primary keeps the role through the lapse of its hold, then takes the key again
#   4 the primary's agent frozen (SIGSTOP) past the lease, then SIGCONT: b leads once
#     the lease has ended, the resumed a is never primary again
#   5 the etcd leader restarted (kill -9, start) during a SET switchover: one primary
#     at the end, the key's holder
#   6 kill -9 of the primary's agent (its key stays until the lease ends): b leads
#     once the lease has ended, not before; a restarted comes back as backup
#
# Environment: BUILD (default ROOT/build), CASES (an extended regex of case names),
# HN_ETCD_TTL (default 2; the bounds follow it).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
NAME=test_etcd_matrix
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: needs root (network namespaces)"
  echo "$NAME: 0 passed, 0 failed, 1 skipped"
  exit 0
fi
for tool in ip ss nft snmpd snmptrapd snmpget snmpset sipp python3 cc etcd curl base64; do
  command -v "$tool" >/dev/null || { echo "FAIL  $NAME: '$tool' is missing (make deps)"; exit 1; }
done
[ -x "$BUILD/sipha-agent" ] || { echo "FAIL  $NAME: $BUILD/sipha-agent missing (make)"; exit 1; }
HN_ETCD_TTL=${HN_ETCD_TTL:-2}
# shellcheck source=../agent/lib.sh
source "$ROOT/tests/agent/lib.sh"
# shellcheck source=lib_netns.sh
source "$HERE/lib_netns.sh"
# shellcheck source=lib_matrix.sh
source "$HERE/lib_matrix.sh"
# shellcheck source=lib_etcd.sh
source "$HERE/lib_etcd.sh"
matrix_init "$NAME"
HN_ETCD_CGROUPS=1 hn_etcd_setup || { echo "FAIL  $NAME: no etcd cluster"; exit 1; }
HN_EXTRA_XML=$(hn_etcd_xml)

# --- times (ms), from the lease TTL -------------------------------------------------
TTL_MS=$((HN_ETCD_TTL * 1000))
# A holder renews every TTL/4, so a dead or frozen holder's lease ends at least 3/4 TTL
# after its last renewal; 100 ms for the timers' slack.
LEASE_MIN_MS=$((TTL_MS * 3 / 4 - 100))
# ... and at most TTL after it, found by etcd within 0.5 s, the backup asking every
# 100 ms: TTL + 1 s, and 500 ms for the scripts and a loaded host.
TAKEOVER_MAX_MS=$((TTL_MS + 1500))
VIP_ALLOW_MS=$(( ${HN_VIP_LIFETIME:-3} * 1000 + 1000 ))  # a dead/frozen agent's VIP lives on

# --- the pair with its key ------------------------------------------------------------
# every member up and healthy, no cut left, the key deleted (no agent runs now)
etcd_reset() {
  hn_etcd_heal
  local m
  for m in 1 2 3; do hn_etcd_running "$m" || hn_etcd_start "$m"; done
  t_wait 30 hn_etcd_all_healthy || { echo "etcd is not healthy again"; return 1; }
  hn_etcd_delete_key || { echo "cannot delete the key"; return 1; }
}
# key_names HOST — the key is HOST's, with HOST's epoch
key_names() {
  local v e
  v=$(hn_etcd_holder) || return 1
  e=$(hn_get "$1" siphaInstEpoch) || return 1
  [ "$v" = "${HN_NAME[$1]} $e" ]
}
key_is_a() { key_names a; }
MATRIX_RESET=etcd_reset MATRIX_READY=key_is_a

# The agents' logs from the fault on
declare -A LOG_AT=()
mark_logs() { local h; for h in a b; do LOG_AT[$h]=$(wc -l < "$T/$h/agent.log"); done; }
logged() { tail -n +"$((LOG_AT[$1] + 1))" "$T/$1/agent.log" | grep -q -- "$2"; }
# must HOST PATTERN WHAT — HOST logged PATTERN since the fault (else says WHAT did not happen)
must() { logged "$1" "$2" || { echo "$3 (no '$2' in $1's log)"; return 1; }; }
# the key names HOST (waits up to 10 s), else says what it names
key_ends_with() {
  t_wait 10 key_names "$1" && return 0
  echo "the key is '$(hn_etcd_holder)', not ${HN_NAME[$1]}'s (epoch $(hn_get "$1" siphaInstEpoch))"
  return 1
}
# the roles are R (waits up to 5 s), else says what they are
roles_end() { t_wait 5 roles_are "$1" && return 0; echo "roles $(hn_roles), expected $1"; return 1; }

# cut_off HOST [MEMBER...] — HOST drops what it sends to its peer's addresses (HA link, SIP
# and management networks) and to those etcd members
cut_off() {
  local h=$1 o m drop; o=$(hn_other "$1"); shift
  drop="ip daddr { ${HN_HA_IP[$o]}, ${HN_SIP_IP[$o]}, ${HN_MGMT_IP[$o]} } drop;"
  for m; do drop+=" ip daddr ${HN_ETCD_IP[$m]} drop;"; done
  ip netns exec "${HN_NS[$h]}" nft -f - <<NFT
table inet matrix {
  chain out { type filter hook output priority 0; $drop }
}
NFT
}
heal_hosts() { local h; for h in a b; do ip netns exec "${HN_NS[$h]}" nft delete table inet matrix 2>/dev/null; done; return 0; }

# --- 1: full partition, etcd reachable from both ------------------------------------
f_partition() {
  mark_logs
  FAULT_MS=$(now_ms)
  cut_off a; cut_off b
  sleep $((2 * HN_ETCD_TTL))  # two leases: a renews through it, b is refused throughout
  heal_hosts
}
c_partition() {
  must b "refused, held by '${HN_NAME[a]} " "b never asked for the key (did it lose its peer?)" &&
    roles_end primary/backup && key_ends_with a
}

# --- 2: etcd split, each host on its own side --------------------------------------------
SPLIT_LEADER=
f_etcd_split() {
  hn_etcd_move_leader 1; SPLIT_LEADER=$(hn_etcd_leader)
  sleep 0.5
  mark_logs
  FAULT_MS=$(now_ms)
  hn_etcd_isolate 1
  cut_off a 2 3
  cut_off b 1
}
c_etcd_split() {
  [ "$SPLIT_LEADER" = 1 ] || { echo "member 1 did not lead at the cut (leader: ${SPLIT_LEADER:-none})"; return 1; }
  ! hn_etcd_healthy 1 || { echo "member 1 still has a leader: not cut off"; return 1; }
  hn_etcd_healthy 2 || { echo "members 2 and 3 have no leader"; return 1; }
  must a "hold on key $HN_ETCD_KEY lost" "a's hold never lapsed" &&
    key_ends_with b && host_shows a siphaInstRole backup
}
u_etcd_split() { heal_hosts; hn_etcd_heal; }

# --- 3: etcd majority lost, the pair intact ------------------------------------------------
MAJ_KILLED=
f_etcd_majority() {
  local l o
  l=$(hn_etcd_leader) || l=1
  o=$((l % 3 + 1))
  MAJ_KILLED="$l $o"
  mark_logs
  FAULT_MS=$(now_ms)
  hn_etcd_kill "$l"; hn_etcd_kill "$o"
  sleep $((HN_ETCD_TTL + 2))  # past the lease: the primary's hold lapses
  t_wait 5 hn_etcd_dead "$l"; t_wait 5 hn_etcd_dead "$o"
  hn_etcd_start "$l"; hn_etcd_start "$o"
}
c_etcd_majority() {
  t_wait 20 hn_etcd_all_healthy || { echo "etcd not healthy after restarting members $MAJ_KILLED"; return 1; }
  # (nobody else writes the key here: a lost the key it had just taken again)
  ! logged a "lost: the key was deleted" ||
    { echo "a's hold ended with 'the key was deleted' once etcd was back"; return 1; }
  must a "hold on key $HN_ETCD_KEY lost" "a's hold never lapsed (members $MAJ_KILLED killed)" &&
    key_ends_with a && must a "key $HN_ETCD_KEY held as '${HN_NAME[a]} " "a did not take the key again" &&
    roles_end primary/backup
}

# --- 4: the primary's agent frozen past the lease ------------------------------------------
# Its VIP leaves with its lifetime while it is frozen; on SIGCONT the agent, primary
# until its late timers have run, may put the VIP back for a few ms before it steps
# down (the kernel's deletion reaches it first): tolerated up to 200 ms after SIGCONT,
# as test_fault_matrix.sh's SIGSTOP case does.
FREEZE_S=$((HN_ETCD_TTL + 2))
f_freeze() {
  mark_logs
  FAULT_MS=$(now_ms)
  kill -STOP "${HN_AGENT_PID[a]}"
  sleep "$FREEZE_S"
  kill -CONT "${HN_AGENT_PID[a]}"
}
c_freeze() { key_ends_with b && roles_end backup/primary; }

# --- 5: the etcd leader restarted during a SET switchover -------------------------------
SW_LEADER=
f_switchover_leader_restart() {
  SW_LEADER=$(hn_etcd_leader) || SW_LEADER=1
  mark_logs
  FAULT_MS=$(now_ms)
  hn_v3 snmpset a "SIPHA-MIB::siphaInstAdminCommand.1" i switchover >/dev/null 2>&1 &
  local set=$!
  sleep "$(printf '0.%03d' $((RANDOM % 30)))"  # the SET reaches a's agent some 15-30 ms after snmpset starts
  hn_etcd_restart "$SW_LEADER"
  wait "$set"
}
c_switchover_leader_restart() {
  t_wait 20 hn_etcd_all_healthy || { echo "etcd not healthy after restarting member $SW_LEADER"; return 1; }
  local r p; r=$(hn_roles)
  case $r in primary/backup) p=a ;; backup/primary) p=b ;; *) echo "roles $r"; return 1 ;; esac
  key_ends_with "$p"
}

# --- 6: kill -9 of the primary's agent: its key stays until the lease ends --------------
vip_gone_from() { ! hn_vip_on "$1"; }
f_crash_restart() {
  mark_logs
  FAULT_MS=$(now_ms)
  kill -9 "${HN_AGENT_PID[a]}"
  t_wait $((HN_ETCD_TTL + 5)) hn_vip_on b
  # its VIP gone with its lifetime (the matrix's kill -9 case covers that part)
  t_wait $((${HN_VIP_LIFETIME:-3} + 2)) vip_gone_from a
  hn_start_agent a  # its configuration as before: initial-role primary
}
c_crash_restart() {
  roles_end backup/primary && key_ends_with b
}

# --- the cases -----------------------------------------------------------------------------
CASE_CHECK=c_partition
run_case "pair partitioned, etcd reached by both" $((2 * HN_ETCD_TTL + 4)) f_partition - \
  --expect primary=a --allow-ms 0 --max-role-changes 0 --require-neigh
# b leads once a's lease has ended on the majority side: its new leader, elected 1-2 s
# after the cut (randomized election timeout; another 1-2 s when a round fails), gives
# every lease an election timeout (1 s) on top of its TTL, found expired within 0.5 s;
# 4.3-6.1 s in trials. I2 from TTL + 1 s + 4 s + 0.5 s + 1 s.
CASE_CHECK=c_etcd_split
run_case "etcd split (a with the minority, b the majority), pair cut" $((HN_ETCD_TTL + 10)) f_etcd_split u_etcd_split \
  --expect primary=b --fit b --i1-allow-ms 0 --allow-ms $((TTL_MS + 6500)) --max-step-down-ms "$TTL_MS" \
  --min-takeover-ms "$LEASE_MIN_MS" --max-role-changes 1 --require-neigh
# (the members are back TTL + 2 s after the fault, healthy 1-3 s later; the probe runs
# on for the primary to hold the key again)
CASE_CHECK=c_etcd_majority
run_case "etcd majority lost, pair intact" $((HN_ETCD_TTL + 12)) f_etcd_majority - \
  --expect primary=a --allow-ms 0 --max-role-changes 0 --require-neigh
CASE_CHECK=c_freeze
run_case "primary agent frozen past the lease" $((FREEZE_S + 5)) f_freeze - \
  --expect primary=b --i1-allow-ms 0 --allow-ms "$TAKEOVER_MAX_MS" --allow-both-vip-until-ms $((FREEZE_S * 1000 + 200)) \
  --min-takeover-ms "$LEASE_MIN_MS" --max-vip-ms "$TAKEOVER_MAX_MS" --max-step-down-ms 250 \
  --max-role-changes 1 --require-neigh
# I2: no primary for up to TTL + 6 s, ending with one (the release and the take wait
# for a new leader, 1-2 s or twice that, and a take for the revoke of a lease given up;
# 0.9-1.6 s in trials)
CASE_CHECK=c_switchover_leader_restart
run_case "etcd leader restarted during a SET switchover" $((HN_ETCD_TTL + 9)) f_switchover_leader_restart - \
  --expect primary=any --allow-ms 0 --handover-ms $((TTL_MS + 6000)) --max-role-changes 1 --require-neigh
CASE_CHECK=c_crash_restart
run_case "kill -9 of the primary agent, restarted" $((HN_ETCD_TTL + 9)) f_crash_restart - \
  --expect primary=b --fit b --i1-allow-ms 0 --allow-ms "$TAKEOVER_MAX_MS" --allow-both-vip-until-ms "$VIP_ALLOW_MS" \
  --min-takeover-ms "$LEASE_MIN_MS" --max-vip-ms "$TAKEOVER_MAX_MS" --max-role-changes 1 --require-neigh

stop_agents
matrix_table
t_summary
