#!/usr/bin/env bash
# A SET whose value cannot be kept is refused and changes nothing; the state
# directory's health is in the MIB and raises siphaStateDirFailure (cleared by the
# first save that works again). The state directory is a 64 KiB tmpfs, filled up and
# then remounted read-only, inside a mount namespace of this test's own. Also: a
# SIGHUP with another instance's configuration file is refused whole.
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: needs root (tmpfs mounts)"
  exit 0
fi
# Mounts made here die with the test's own mount namespace.
if [ -z "${SIPHA_TEST_MNTNS:-}" ]; then
  exec unshare --mount --propagation private env SIPHA_TEST_MNTNS=1 bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
t_setup
trap 'umount -l "$T/state" 2>/dev/null; t_cleanup' EXIT
t_start_trapd || exit 1
t_start_snmpd || exit 1
t_instance_conf 1 sip-a primary
mount -t tmpfs -o size=64k,mode=0700 sipha-state "$T/state" || { echo "FAIL  cannot mount a tmpfs"; exit 1; }
t_check "agent registers" t_start_agent 1
P=SIPHA-MIB
state=$T/state/instance-1.state
status() { t_get_v2 "$P::siphaInstStateDirStatus.1"; }
# set_error OID TYPE VALUE: the SET's error status name as snmpset reports it ("" = none)
set_error() { t_set_v3 "$@" 2>&1 | sed -n 's/.*Reason: \([a-zA-Z]*\).*/\1/p' | head -1; }

t_eq "state directory ok at start" ok "$(status)"
t_check "SET sip-nic-monitoring true" t_set_v3 "$P::siphaInstSipNicMonitoring.1" i 1
t_wait 5 grep -q "^options " "$state"
opts_saved=$(sed -n 's/^options //p' "$state")

# --- full: the SET is refused, nothing changes --------------------------------------
dd if=/dev/zero of="$T/state/filler" bs=4k count=64 2>/dev/null # stops at ENOSPC
t_eq "full directory: SET sip-pass-check false refused with resourceUnavailable" \
  resourceUnavailable "$(set_error "$P::siphaInstSipPassCheck.1" i 2)"
t_eq "refused SET changed nothing" true "$(t_get_v2 "$P::siphaInstSipPassCheck.1")"
t_eq "state directory failed" failed "$(status)"
t_eq "state file unchanged" "$opts_saved" "$(sed -n 's/^options //p' "$state")"
t_check "siphaStateDirFailure trap" t_wait 5 grep -q "siphaStateDirFailure" "$T/traps.log"
t_check "00-52118 alarm in the event log" \
  bash -c "snmpwalk -v2c -c '$COMMUNITY' ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaEventId | grep -q 00-52118"
t_eq "one failure notification for the episode" 1 "$(t_trap_count siphaStateDirFailure)"
t_check "a non-persistent SET (admin command) still works" t_set_v3 "$P::siphaInstAdminCommand.1" i 4

# --- space again: the next save works, the alarm clears ------------------------------
rm -f "$T/state/filler"
t_check "space again: SET sip-pass-check false accepted" t_set_v3 "$P::siphaInstSipPassCheck.1" i 2
t_eq "state directory ok again" ok "$(status)"
t_check "siphaAlarmCleared trap" t_wait 5 grep -q "siphaAlarmCleared" "$T/traps.log"
t_check "the new value reaches the state file" \
  t_wait 5 bash -c "[ \"\$(sed -n 's/^options //p' '$state')\" != '$opts_saved' ]"

# --- read-only: refused; recovery is seen by the retry timer without a SET ----------
mount -o remount,ro "$T/state"
t_eq "read-only directory: SET refused" \
  resourceUnavailable "$(set_error "$P::siphaInstSipPassCheck.1" i 1)"
t_eq "refused SET changed nothing" false "$(t_get_v2 "$P::siphaInstSipPassCheck.1")"
t_eq "state directory failed" failed "$(status)"
mount -o remount,rw "$T/state"
t_check "writable again: ok within the 10 s retry" t_wait 15 bash -c "[ \"\$(snmpget -v2c -c '$COMMUNITY' -r 0 -t 2 ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaInstStateDirStatus.1)\" = ok ]"

# --- the accepted values survive a restart -------------------------------------------
kill "$AGENT_PID_1"; wait "$AGENT_PID_1" 2>/dev/null
t_check "agent restarts" t_start_agent 1
t_eq "sip-nic-monitoring kept" true "$(t_get_v2 "$P::siphaInstSipNicMonitoring.1")"
t_eq "sip-pass-check kept (the accepted SET, not the refused ones)" false \
  "$(t_get_v2 "$P::siphaInstSipPassCheck.1")"

# --- SIGHUP with another instance's file: refused whole ------------------------------
cp "$T/inst-1.xml" "$T/inst-1.good"
t_instance_conf 2 sip-other backup
cp "$T/inst-2.xml" "$T/inst-1.xml"
kill -HUP "$AGENT_PID_1"
t_check "reload of instance 2's file refused" t_wait 5 grep -q "reload refused" "$T/agent-1.log"
t_eq "name unchanged" sip-a "$(t_get_v2 "$P::siphaInstName.1" | tr -d '"')"
t_eq "priority unchanged" 199 "$(t_get_v2 "$P::siphaInstPriority.1")"
t_summary
