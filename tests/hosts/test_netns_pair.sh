#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2034 # HN_T0 is read by lib_netns.sh
# test_netns_pair.sh — a real HA pair on two "hosts" (network namespaces), each with
# its own snmpd, SIP listener (sipp) and sipha-agent, and a client namespace with
# snmptrapd, the operator's SNMP tools and the probed service DN (see lib_netns.sh for
# the topology). Real faults, in order:
#   1. the pair forms: a primary, b backup, the VIP on a only;
#   2. operator switchover (SNMPv3 SET from c to the primary's snmpd) and back (to the
#      other snmpd): roles and VIP move within 2 s;
#   3. the primary's SIP NIC set down: 00-52027 at c, serviceUnavailable, the other
#      host primary with the VIP within 2 s; NIC up: 00-52028;
#   4. kill -9 of the primary's agent: the backup primary with the VIP within 2.5 s;
#   5. the killed agent (configured initial-role primary) restarted: backup, its
#      host's VIP removed;
#   6. the HA link cut on both sides: both primary (no arbiter); restored: one primary
#      (higher epoch), split-brain notifications, the VIP only on the primary;
#   7. the VIP deleted by hand on the primary: the up script puts it back, no switchover.
# Times of 2, 3 and 4 are printed ("time ...") for the benchmarks. Root only.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: needs root (network namespaces)"
  exit 0
fi
for tool in ip ss snmpd snmptrapd snmpget snmpset sipp; do
  command -v "$tool" >/dev/null || { echo "FAIL  test_netns_pair: '$tool' is missing (make deps)"; exit 1; }
done
[ -x "$ROOT/build/sipha-agent" ] || { echo "FAIL  test_netns_pair: build/sipha-agent missing (make)"; exit 1; }
for s in vip-up.sh vip-down.sh; do
  [ -x "$HERE/$s" ] || { echo "FAIL  test_netns_pair: tests/hosts/$s is not executable"; exit 1; }
done
# shellcheck source=../agent/lib.sh
source "$ROOT/tests/agent/lib.sh"
# shellcheck source=lib_netns.sh
source "$HERE/lib_netns.sh"

hn_setup || { echo "FAIL  test_netns_pair: cannot build the namespaces"; exit 1; }
cd "$T" || exit 1
hn_start_trapd || { echo "FAIL  snmptrapd did not start"; exit 1; }
for h in a b; do hn_start_snmpd "$h" || { echo "FAIL  snmpd on $h"; exit 1; }; done
reach() { hn_snmp_from "$1" "$2" snmpget SNMPv2-MIB::sysUpTime.0; }
reach_mgmt() { reach c "${HN_MGMT_IP[a]}" && reach c "${HN_MGMT_IP[b]}"; }
t_check "c reaches a's and b's snmpd (SNMPv3) over the management network" reach_mgmt
t_check "service DN (sipp UAS) in c bound on $HN_C_SIP:$HN_DN_PORT" hn_start_sipp c "$HN_C_SIP" "$HN_DN_PORT"
for h in a b; do
  t_check "SIP listener (sipp UAS) on $h bound on ${HN_SIP_IP[$h]}:$HN_SIP_PORT" \
    hn_start_sipp "$h" "${HN_SIP_IP[$h]}" "$HN_SIP_PORT"
done
hn_start_addrmon || { echo "FAIL  test_netns_pair: ip monitor"; exit 1; }
hn_instance_conf a primary
hn_instance_conf b backup
t_check "agent a registers with its snmpd" hn_start_agent a
t_check "agent b registers with its snmpd" hn_start_agent b

# state checks used below
roles_are() { [ "$(hn_roles)" = "$1" ]; }
vip_only_on() { [ "$(hn_vips)" = "$1" ]; }
pair_is() { vip_only_on "$2" && roles_are "$1"; }  # pair_is primary/backup a
primary_of() { local h; for h in a b; do [ "$(hn_role "$h")" = primary ] && { echo "$h"; return; }; done; }
trap_since() { [ "$(hn_traps "$1")" -gt "$2" ]; }   # trap_since REGEX COUNT-BEFORE
is() { [ "$(hn_get "$1" "$2" "${4:-}")" = "$3" ]; }  # is HOST OBJECT VALUE [ROW]
RESULTS=()
# timed WHAT MS [FROM-HOST TO-HOST] — records a poll time, with the kernel's times of
# the VIP leaving FROM-HOST and reaching TO-HOST when given
timed() {
  local r="$1: $2 ms (poll)"
  [ -n "${3:-}" ] && r+=", VIP del on $3 +$(hn_vip_event_ms "$3" del) ms"
  [ -n "${4:-}" ] && r+=", VIP add on $4 +$(hn_vip_event_ms "$4" add) ms"
  RESULTS+=("$r")
  echo "time  $r"
}
# handover_order FROM TO WHAT — the VIP went down on FROM before it came up on TO
handover_order() {
  if hn_vip_handover_ordered "$1" "$2"; then t_pass "$3: VIP down on $1 before up on $2"
  else t_fail "$3: VIP up on $2 before it went down on $1 ($(hn_vip_events | head -4 | tr '\n' ';'))"; fi
}
# state_of — roles/VIPs/status, for failure messages
state_of() { echo "roles $(hn_roles), VIP on $(hn_vips), status $(hn_status a)/$(hn_status b)"; }

# ------------------------------------------------------------------ 1. the pair forms
if t_wait 15 pair_is primary/backup a; then
  t_pass "1. pair formed: a primary, b backup, VIP on a only"
else t_fail "1. pair formed ($(state_of))"; fi
both_link_up() { is a siphaInstPeerLinkState up && is b siphaInstPeerLinkState up; }
t_check "1. both see the peer link up" t_wait 5 both_link_up
t_eq "1. both running, listener bound" running/running/true/true \
  "$(hn_status a)/$(hn_status b)/$(hn_get a siphaInstListenerBound)/$(hn_get b siphaInstListenerBound)"
t_eq "1. VIP row on a: expected present, ok" "present/ok" "$(hn_get a siphaVipExpected 1)/$(hn_get a siphaVipStatus 1)"
t_eq "1. VIP row on b: expected absent, ok" "absent/ok" "$(hn_get b siphaVipExpected 1)/$(hn_get b siphaVipStatus 1)"
dn_in_service() { is a siphaDnState inService 1 && is b siphaDnState inService 1; }
t_check "1. the service DN in c answers both hosts' probes over the SIP network" t_wait 8 dn_in_service
sleep 1 # let the backup's contact pull and the DN probes settle

# ------------------------------------------------------------------ 2. operator switchover
# switchover HOST ROLES VIP-HOST WHAT — siphaInstAdminCommand = switchover SET from c on
# HOST's snmpd (SNMPv3 authPriv), then wait until the roles of a/b are ROLES and the VIP
# is on VIP-HOST only; times it and checks the VIP left the other host first.
switchover() {
  local h=$1 want=$2 vip=$3 what=$4
  HN_T0=$(hn_now_ms)
  if ! hn_v3 snmpset "$h" "SIPHA-MIB::siphaInstAdminCommand.${HN_INDEX[$h]}" i switchover >"$T/set.out" 2>&1; then
    t_fail "$what: snmpset refused: $(tr '\n' ' ' < "$T/set.out")"; return
  fi
  if hn_wait_ms 6 pair_is "$want" "$vip"; then
    timed "$what" "$HN_MS" "$(hn_other "$vip")" "$vip"
    if [ "$HN_MS" -le 2000 ]; then t_pass "$what within 2 s ($HN_MS ms)"
    else t_fail "$what took $HN_MS ms (limit 2000)"; fi
    handover_order "$(hn_other "$vip")" "$vip" "$what"
  else t_fail "$what ($(state_of) after $HN_MS ms)"; fi
}
switchover a backup/primary b "2. switchover SET on a's snmpd: b primary, VIP moved to b"
if hn_wait_ms 5 is a siphaInstAdminResult success; then
  t_pass "2. admin result on a: success ($HN_MS ms after the SET)"
else t_fail "2. admin result on a: '$(hn_get a siphaInstAdminResult)' after $HN_MS ms"; fi
switchover_traps() { trap_since "$(hn_trap_re siphaSwitchover a)" 0 && trap_since "$(hn_trap_re siphaSwitchover b)" 0; }
t_check "2. switchover notifications from both at c" t_wait 3 switchover_traps
sleep 0.5
switchover b primary/backup a "2. switchover SET on b's snmpd: a primary again, VIP back on a"
epochs_agree() { local e; e=$(hn_get a siphaInstEpoch); [ -n "$e" ] && is b siphaInstEpoch "$e"; }
t_check "2. epochs agree after the switchovers" t_wait 3 epochs_agree
sleep 0.5

# ------------------------------------------------------------------ 3. SIP NIC failure
P=$(primary_of); B=$(hn_other "${P:-a}"); P=${P:-a}
nic_fail_re="$(hn_trap_re siphaNicFailure "$P").*00-52027"
nic_rec_re="$(hn_trap_re siphaNicRecovery "$P").*00-52028"
n_fail=$(hn_traps "$nic_fail_re")
n_rec=$(hn_traps "$nic_rec_re")
nic_failed_over() {
  trap_since "$nic_fail_re" "$n_fail" && [ "$(hn_status "$P")" = serviceUnavailable ] &&
    [ "$(hn_role "$B")" = primary ] && vip_only_on "$B"
}
HN_T0=$(hn_now_ms)
ip -n "$(hn_ns "$P")" link set sip0 down
if hn_wait_ms 6 nic_failed_over; then
  timed "3. SIP NIC down on $P -> 00-52027 at c, $P serviceUnavailable, $B primary with the VIP" "$HN_MS" "$P" "$B"
  handover_order "$P" "$B" "3. SIP NIC failure"
  if [ "$HN_MS" -le 2000 ]; then t_pass "3. SIP NIC failure on $P handled within 2 s ($HN_MS ms)"
  else t_fail "3. SIP NIC failure handled after $HN_MS ms (limit 2000)"; fi
else
  t_fail "3. SIP NIC failure on $P: trap $(hn_traps "$nic_fail_re")>$n_fail?, $(state_of)"
fi
t_eq "3. $P is backup" backup "$(hn_role "$P")"
t_eq "3. $P's SIP NIC row says down" down "$(hn_get "$P" siphaNicOperState 2)"
ip -n "$(hn_ns "$P")" link set sip0 up
t_check "3. SIP NIC up again: 00-52028 (siphaNicRecovery) at c" t_wait 5 trap_since "$nic_rec_re" "$n_rec"
t_check "3. $P running again" t_wait 5 is "$P" siphaInstStatus running
t_check "3. roles stay: $B primary, VIP only on $B" t_wait 3 vip_only_on "$B"
sleep 1
# back to a, so that step 4 kills the instance configured initial-role="primary" and
# step 5 checks that it defers to the primary on restart
[ "$P" = a ] && switchover b primary/backup a "3. switchover SET on b's snmpd after the NIC recovery: a primary"
sleep 0.5

# ------------------------------------------------------------------ 4. kill -9 of the primary's agent
P=$(primary_of); P=${P:-b}; B=$(hn_other "$P")
took_over() { [ "$(hn_role "$B")" = primary ] && hn_vip_on "$B"; }
HN_T0=$(hn_now_ms)
kill -9 "${HN_AGENT_PID[$P]}"
if hn_wait_ms 8 took_over; then
  timed "4. kill -9 of $P's agent -> $B primary with the VIP" "$HN_MS" "" "$B"
  if [ "$HN_MS" -le 2500 ]; then t_pass "4. kill -9 of the primary ($P): $B took over within 2.5 s ($HN_MS ms)"
  else t_fail "4. $B took over only after $HN_MS ms (limit 2500)"; fi
else t_fail "4. $B did not take over after kill -9 of $P ($(state_of))"; fi
t_check "4. siphaPeerLost from $B at c" t_wait 3 trap_since "$(hn_trap_re siphaPeerLost "$B")" 0
t_eq "4. switchover reason on $B" peerLost "$(hn_get "$B" siphaInstLastSwitchoverReason)"
gone() { ! kill -0 "$1" 2>/dev/null; }
t_wait 3 gone "${HN_AGENT_PID[$P]}"

# ------------------------------------------------------------------ 5. restart of the killed agent
t_check "5. $P's agent restarts" hn_start_agent "$P"
if t_wait 10 is "$P" siphaInstRole backup; then
  t_pass "5. restarted $P comes back as backup"
else t_fail "5. restarted $P role $(hn_role "$P")"; fi
t_check "5. VIP removed from $P (left there by the killed agent), still on $B" t_wait 6 vip_only_on "$B"
t_eq "5. $B still primary" primary "$(hn_role "$B")"
t_eq "5. VIP row on $P: absent/ok" "absent/ok" "$(hn_get "$P" siphaVipExpected 1)/$(hn_get "$P" siphaVipStatus 1)"
sleep 1

# ------------------------------------------------------------------ 6. HA link cut and restored
P=$(primary_of); P=${P:-b}; B=$(hn_other "$P")
sb_re='OID: SIPHA-MIB::siphaSplitBrain(Detected|Resolved)[[:space:]]'
rc_re='OID: SIPHA-MIB::siphaRoleChange[[:space:]]'
n_sb=$(hn_traps "$sb_re")
n_rc=$(hn_traps "$rc_re")
epoch_before=$(hn_get "$P" siphaInstEpoch)
HN_T0=$(hn_now_ms)
ip -n "$HN_A" link set ha0 down
ip -n "$HN_B" link set ha0 down
if hn_wait_ms 8 roles_are primary/primary; then
  timed "6. HA link cut -> backup $B primary too" "$HN_MS" "" "$B"
  t_pass "6. HA link cut: $B primary too, both primary ($HN_MS ms)"
else t_fail "6. HA link cut: $(state_of)"; fi
t_check "6. both hosts hold the VIP while cut" t_wait 4 vip_only_on ab
t_eq "6. $B sees the peer link down" down "$(hn_get "$B" siphaInstPeerLinkState)"
epoch_b=$(hn_get "$B" siphaInstEpoch)
if [ -n "$epoch_b" ] && [ -n "$epoch_before" ] && [ "$epoch_b" -gt "$epoch_before" ]; then
  t_pass "6. $B took a higher epoch ($epoch_b > $epoch_before)"
else t_fail "6. $B's epoch '$epoch_b' not above '$epoch_before'"; fi
sleep 1
HN_T0=$(hn_now_ms)
ip -n "$HN_A" link set ha0 up
ip -n "$HN_B" link set ha0 up
one_primary() { local r; r=$(hn_roles); [ "$r" = primary/backup ] || [ "$r" = backup/primary ]; }
if hn_wait_ms 10 one_primary; then
  timed "6. HA link restored -> one primary" "$HN_MS" "$P"
  t_pass "6. link restored: exactly one primary ($(hn_roles), $HN_MS ms)"
else t_fail "6. link restored: $(state_of)"; fi
t_eq "6. the higher epoch ($B) stays primary" primary "$(hn_role "$B")"
t_check "6. VIP only on the primary ($B)" t_wait 5 vip_only_on "$B"
if t_wait 5 trap_since "$sb_re" "$n_sb"; then
  t_pass "6. split-brain notifications at c ($(grep -oE 'siphaSplitBrain(Detected|Resolved)' "$T/traps.log" | sort | uniq -c | tr -s ' \n' ' '))"
elif trap_since "$rc_re" "$((n_rc + 1))"; then
  t_pass "6. role-change notifications at c (no split-brain notification)"
else t_fail "6. no split-brain or role-change notification at c"; fi
both_running() { is a siphaInstStatus running && is b siphaInstStatus running; }
both_up_running() { both_link_up && both_running; }
t_check "6. both running, peer link up" t_wait 5 both_up_running
sleep 1

# ------------------------------------------------------------------ 7. VIP removed by hand
P=$(primary_of); P=${P:-b}; B=$(hn_other "$P")
runs_before=$(hn_get "$P" siphaVipScriptRuns 1)
sw_before="$(hn_get a siphaInstSwitchovers)/$(hn_get b siphaInstSwitchovers)"
vf_re=$(hn_trap_re siphaVipFailure "$P")
n_vf=$(hn_traps "$vf_re")
HN_T0=$(hn_now_ms)
ip -n "$(hn_ns "$P")" addr del "$HN_VIP/$HN_VIP_PLEN" dev sip0
runs_up() { local r; r=$(hn_get "$P" siphaVipScriptRuns 1); [ -n "$r" ] && [ "$r" -gt "${runs_before:-0}" ]; }
if hn_wait_ms 6 hn_vip_on "$P"; then
  timed "7. VIP deleted on the primary -> put back by the up script" "$HN_MS" "" "$P"
  t_pass "7. VIP back on $P ($HN_MS ms)"
else t_fail "7. VIP not back on $P ($(state_of))"; fi
t_check "7. siphaVipScriptRuns on $P increased (was $runs_before)" t_wait 3 runs_up
t_eq "7. no switchover: roles unchanged" "$( [ "$P" = a ] && echo primary/backup || echo backup/primary)" "$(hn_roles)"
t_eq "7. no switchover: counters unchanged" "$sw_before" "$(hn_get a siphaInstSwitchovers)/$(hn_get b siphaInstSwitchovers)"
t_eq "7. VIP status ok on $P, no siphaVipFailure" "ok/$n_vf" "$(hn_get "$P" siphaVipStatus 1)/$(hn_traps "$vf_re")"
t_check "7. VIP not on the backup $B" vip_only_on "$P"

# ------------------------------------------------------------------ the end
echo "--- measured"
for r in "${RESULTS[@]}"; do echo "time  $r"; done
echo "(poll: first poll that saw every condition; VIP del/add: timestamps of the kernel's address events)"
for h in a b; do
  if ! kill -0 "${HN_AGENT_PID[$h]}" 2>/dev/null; then t_fail "agent $h died during the test"; fi
done
[ "$T_FAIL" -ne 0 ] && hn_dump
t_summary
