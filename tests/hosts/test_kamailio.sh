#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2034 # HN_* settings are read by lib_netns.sh
# test_kamailio.sh — a real SIP server behind the pair: on each "host" (network
# namespace, lib_netns.sh) a Kamailio running the shipped kamailio/sipha.cfg (node
# address and the VIP, JSON-RPC and evapi on the host's loopback), its snmpd and its
# sipha-agent with <sip-server kind="kamailio">. In the client namespace c: 100 phones
# (one sipp, tests/sip/reg-uas.xml) registered once through the VIP, and a caller
# (tests/sip/invite-uac.xml). For each fault on the primary:
#   set     SNMPv3 SET of siphaInstAdminCommand = switchover
#   nic     its SIP NIC set down
#   kill9   kill -9 of its agent
#   kamkill Kamailio's process group killed (its SIP listener goes away)
#   portheld Kamailio killed and its SIP port taken at once by another process, so
#           that it cannot start again: the port stays bound, but not by Kamailio
#           (the agent sees Kamailio's event stream gone for 5 s: 00-04200)
# the other host must become primary with the VIP, list the 100 contacts in its MIB
# (no duplicates), and answer 100 INVITEs to the 100 AORs through the VIP, with no
# phone having registered again. Between cases the pair is repaired and the new
# backup's Kamailio must hold the 100 contacts again (written by its agent). Prints a
# table of case x calls answered. Root only.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: needs root (network namespaces)"
  exit 0
fi
for tool in ip ss snmpd snmptrapd snmpget snmpset sipp kamailio curl setsid; do
  command -v "$tool" >/dev/null || { echo "FAIL  test_kamailio: '$tool' is missing (make deps)"; exit 1; }
done
[ -x "${BUILD:-$ROOT/build}/sipha-agent" ] || { echo "FAIL  test_kamailio: ${BUILD:-build}/sipha-agent missing (make)"; exit 1; }
# shellcheck source=../agent/lib.sh
source "$ROOT/tests/agent/lib.sh"
# shellcheck source=lib_netns.sh
source "$HERE/lib_netns.sh"

N=${SIPHA_KAM_PHONES:-100}
DOMAIN=sipha.test
PHONE_PORT=5080 CALLER_PORT=5084
HN_EXTRA_XML=$HN_KAM_SIP_XML
# The timing of failover is the fault matrix's business; here the heartbeat only has
# to be steady under the load of two Kamailios and the phones.
HN_INTERVAL_MS=50 HN_MISS_COUNT=5

hn_setup || { echo "FAIL  test_kamailio: cannot build the namespaces"; exit 1; }
cd "$T" || exit 1
kam_contacts() { hn_kam_contacts "$@"; }
kam_has_all() { [ "$(hn_kam_contacts "$1")" = "$N" ]; }
mib_contacts() { hn_mib_contacts "$@"; }
mib_has_all() { [ "$(hn_mib_contacts "$1")" = "$N" ]; }

roles_are() { [ "$(hn_roles)" = "$1" ]; }
vip_only_on() { [ "$(hn_vips)" = "$1" ]; }
primary_of() { local h; for h in a b; do [ "$(hn_role "$h")" = primary ] && { echo "$h"; return; }; done; }
took_over() { [ "$(hn_role "$1")" = primary ] && vip_only_on "$1"; }
is_running_backup() { [ "$(hn_role "$1")/$(hn_status "$1")" = backup/running ]; }
state_of() { echo "roles $(hn_roles), VIP on $(hn_vips), status $(hn_status a)/$(hn_status b)"; }

hn_start_trapd || { echo "FAIL  snmptrapd did not start"; exit 1; }
for h in a b; do hn_start_snmpd "$h" || { echo "FAIL  snmpd on $h"; exit 1; }; done
t_check "service DN (sipp UAS) in c bound on $HN_C_SIP:$HN_DN_PORT" hn_start_sipp c "$HN_C_SIP" "$HN_DN_PORT"
for h in a b; do t_check "Kamailio on $h answers JSON-RPC" hn_kam_start "$h"; done
hn_instance_conf a primary
hn_instance_conf b backup
t_check "agent a registers with its snmpd" hn_start_agent a
t_check "agent b registers with its snmpd" hn_start_agent b
if t_wait 15 roles_are primary/backup && t_wait 5 vip_only_on a; then t_pass "pair formed: a primary with the VIP"
else t_fail "pair formed ($(state_of))"; fi
source_up() { [ "$(hn_get "$1" siphaInstContactSourceState)" = up ]; }
sources_up() { source_up a && source_up b; }
t_check "both agents reach their Kamailio (siphaInstContactSourceState up)" t_wait 10 sources_up

# ------------------------------------------------------------------ the phones
{
  echo SEQUENTIAL
  for ((i = 0; i < N; i++)); do printf 'u%03d;%s;%s;%s;X-No-Path\n' "$i" "$DOMAIN" "$PHONE_PORT" "$PHONE_PORT"; done
} > "$T/users.csv"
{
  echo SEQUENTIAL
  for ((i = 0; i < N; i++)); do printf 'u%03d;%s\n' "$i" "$DOMAIN"; done
} > "$T/callees.csv"
# Registered once, for an hour, through the VIP; then they only answer calls. -nr: no
# retransmissions, so a REGISTER sent twice can only be a new registration. Every
# message they send is traced: REGISTERs are counted from there.
hn_bg c "$T/phones.out" sipp "$HN_VIP:$HN_SIP_PORT" -sf "$ROOT/tests/sip/reg-uas.xml" -oocsn uas \
    -inf "$T/users.csv" -i "$HN_C_SIP" -p "$PHONE_PORT" -m "$N" -l "$N" -r 100 -d 3600000 -nr \
    -mp 16000 -cp 5081 -nostdin -trace_msg -message_file "$T/phones.msg" \
    -trace_err -error_file "$T/phones.err"
registers() { local n; n=$(grep -c '^REGISTER sip:' "$T/phones.msg" 2>/dev/null); echo "${n:-0}"; }
all_registered() { [ "$(registers)" -ge "$N" ]; }
t_check "$N phones registered through the VIP ($N REGISTERs sent)" t_wait 20 all_registered
t_check "a's MIB lists the $N contacts" t_wait 10 mib_has_all a
t_check "b's agent wrote the $N contacts into b's Kamailio" t_wait 15 kam_has_all b
regs0=$(registers)

# calls — N INVITEs from c to the N AORs through the VIP; prints "answered failed"
calls() {
  local k=$1
  hn_in c timeout 120 sipp "$HN_VIP:$HN_SIP_PORT" -sf "$ROOT/tests/sip/invite-uac.xml" \
      -inf "$T/callees.csv" -i "$HN_C_SIP" -p "$CALLER_PORT" -m "$N" -l 20 -r 50 \
      -mp 16100 -cp 5085 -nostdin -trace_err -error_file "$T/calls-$k.err" -timeout 90s \
      -timeout_error > "$T/calls-$k.out" 2>&1
  t_sipp_counts "$T/calls-$k.out"
}

# ------------------------------------------------------------------ the cases
TABLE=()
run_case() {
  local k=$1 p o answered failed
  p=$(primary_of); o=$(hn_other "${p:-a}"); p=${p:-a}
  case $k in
    set) hn_v3 snmpset "$p" "SIPHA-MIB::siphaInstAdminCommand.${HN_INDEX[$p]}" i switchover > "$T/set.out" 2>&1 ;;
    nic) ip -n "$(hn_ns "$p")" link set sip0 down ;;
    kill9) kill -9 "${HN_AGENT_PID[$p]}" ;;
    kamkill) hn_kam_kill "$p" ;;
    portheld)
      hn_kam_kill "$p"
      hn_bg "$p" "$T/$p/holder.log" python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(100):  # until the killed Kamailio has let go of it
    try:
        s.bind((sys.argv[1], int(sys.argv[2]))); break
    except OSError:
        time.sleep(0.01)
time.sleep(600)' "${HN_SIP_IP[$p]}" "$HN_SIP_PORT"
      HOLDER=$HN_PID
      sleep 0.5
      hn_kam_start "$p" > /dev/null 2>&1 # fails: the port is taken
      ;;
  esac
  if t_wait 15 took_over "$o"; then t_pass "$k: $o primary with the VIP"
  else t_fail "$k: $o did not take over ($(state_of))"; fi
  if t_wait 15 mib_has_all "$o"; then t_pass "$k: $o's MIB lists the $N contacts"
  else t_fail "$k: $o's MIB lists $(mib_contacts "$o") contacts, want $N"; fi
  local sip0 sip1
  sip0=$(hn_get "$o" siphaInstSipMessagesIn)
  read -r answered failed < <(calls "$k")
  sip1=$(hn_get "$o" siphaInstSipMessagesIn)
  # the real server's traffic counts: at least the N INVITEs sent to the VIP
  if [[ $sip0 =~ ^[0-9]+$ && $sip1 =~ ^[0-9]+$ ]] && [ $((sip1 - sip0)) -ge "$N" ]; then
    t_pass "$k: $o counted the calls' SIP traffic to the VIP ($((sip1 - sip0)) messages)"
  else t_fail "$k: $o's siphaInstSipMessagesIn went from '$sip0' to '$sip1', want +$N or more"; fi
  local rereg=$(($(registers) - regs0))
  t_eq "$k: calls answered through the VIP" "$N/0" "$answered/$failed"
  t_eq "$k: phones that registered again" 0 "$rereg"
  TABLE+=("$(printf '%-8s %3s/%s answered, %s re-registrations' "$k" "$answered" "$N" "$rereg")")
  # repair p: it comes back as the backup and its Kamailio gets the contacts again
  case $k in
    nic) ip -n "$(hn_ns "$p")" link set sip0 up ;;
    kill9) hn_start_agent "$p" > /dev/null 2>&1 ;;
    kamkill) hn_kam_start "$p" > /dev/null 2>&1 ;;
    portheld)
      if grep -qE "$(hn_trap_re siphaListenerBindFailure "$p")" "$T/traps.log"; then
        t_pass "$k: $p raised siphaListenerBindFailure (00-04200)"
      else t_fail "$k: no siphaListenerBindFailure from $p"; fi
      kill "$HOLDER"
      sleep 0.5
      hn_kam_start "$p" > /dev/null 2>&1
      ;;
  esac
  if t_wait 20 is_running_backup "$p" && t_wait 20 kam_has_all "$p"; then
    t_pass "$k: $p repaired, backup, its Kamailio holds the $N contacts"
  else t_fail "$k: $p not repaired ($(state_of); its Kamailio holds $(kam_contacts "$p"))"; fi
}
for k in ${SIPHA_KAM_CASES:-set nic kill9 kamkill portheld}; do run_case "$k"; done

echo "case     calls"
for r in "${TABLE[@]}"; do echo "$r"; done
t_summary
