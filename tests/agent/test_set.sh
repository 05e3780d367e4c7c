#!/usr/bin/env bash
# Every writable object SET good and bad; the SNMPv3 authPriv user succeeds, the v2c
# community is refused; no state changes on any error.
source "$(dirname "$0")/lib.sh"
t_setup
t_start_snmpd || exit 1
t_instance_conf 1 sip-a primary
t_check "agent registers" t_start_agent 1
P=SIPHA-MIB

# t_set_err DESC EXPECTED-ERROR-TEXT ARGS... (v3 admin)
t_set_err() {
  local d=$1 want=$2; shift 2
  local out; out=$(T_SNMP_OPTS=-Ir t_set_v3 "$@" 2>&1)  # -Ir: let bad values reach the agent
  if grep -q -- "$want" <<<"$out"; then t_pass "$d"; else t_fail "$d (wanted '$want', got: $out)"; fi
}

# control-vip-scripts watches the arbiter: without one configured it cannot be on.
t_set_err "control-vip-scripts without an arbiter: inconsistentValue" "inconsistentValue" \
  "$P::siphaInstControlVipScripts.1" i 1
t_eq "control-vip-scripts unchanged" false "$(t_get_v2 "$P::siphaInstControlVipScripts.1")"
t_check "control-vip-scripts false accepted" t_set_v3 "$P::siphaInstControlVipScripts.1" i 2

for col in siphaInstSipPassCheck siphaInstIpTakeoverMonitoring \
           siphaInstTlibNicMonitoring siphaInstSipNicMonitoring; do
  before=$(t_get_v2 "$P::$col.1")
  new=true; [ "$before" = true ] && new=false
  t_check "$col: v3 authPriv SET $new" t_set_v3 "$P::$col.1" i "$([ $new = true ] && echo 1 || echo 2)"
  t_eq "$col: reads back $new" "$new" "$(t_get_v2 "$P::$col.1")"
  t_set_err "$col: wrong type refused" "wrongType" "$P::$col.1" u 1
  t_set_err "$col: value 3 refused" "wrongValue" "$P::$col.1" i 3
  t_set_err "$col: value 0 refused" "wrongValue" "$P::$col.1" i 0
  t_eq "$col: unchanged after errors" "$new" "$(t_get_v2 "$P::$col.1")"
  out=$(t_set_v2 "$P::$col.1" i 1 2>&1)
  if grep -Eq "noAccess|notWritable|authorizationError" <<<"$out"; then t_pass "$col: v2c SET refused"; else t_fail "$col: v2c SET refused ($out)"; fi
  t_eq "$col: unchanged after v2c" "$new" "$(t_get_v2 "$P::$col.1")"
done

# A multi-varbind SET with one bad varbind changes nothing at all.
before=$(t_get_v2 "$P::siphaInstSipPassCheck.1")
t_set_err "multi-varbind SET with one bad value refused" "wrongValue" \
  "$P::siphaInstSipPassCheck.1" i "$([ "$before" = true ] && echo 2 || echo 1)" "$P::siphaInstSipNicMonitoring.1" i 9
t_eq "multi-varbind: good varbind not applied" "$before" "$(t_get_v2 "$P::siphaInstSipPassCheck.1")"

# Read-only columns: outside the write view.
t_set_err "read-only column refused" "notWritable\|noAccess" "$P::siphaInstName.1" s x
t_set_err "priority is read-only" "notWritable\|noAccess" "$P::siphaInstPriority.1" u 5

# Admin command.
t_set_err "admin none(1) refused" "wrongValue" "$P::siphaInstAdminCommand.1" i 1
t_set_err "admin 7 refused" "wrongValue" "$P::siphaInstAdminCommand.1" i 7
t_set_err "admin 5 (not an operator command) refused" "wrongValue" "$P::siphaInstAdminCommand.1" i 5
t_set_err "HA link counter is read-only" "notWritable\\|noAccess" "$P::siphaInstHaLinkIn.1" u 5
t_set_err "admin wrong type" "wrongType" "$P::siphaInstAdminCommand.1" s switchover
t_eq "role unchanged by refused commands" primary "$(t_get_v2 "$P::siphaInstRole.1")"
# A lone instance (no peer configured) has nobody to hand the role to: the SET is
# accepted, the command refused, the role kept. becomePrimary on the primary succeeds.
t_check "admin becomeBackup accepted by SNMP" t_set_v3 "$P::siphaInstAdminCommand.1" i 4
t_check "lone instance: becomeBackup refused" t_wait 3 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaInstAdminResult.1)\" = refused ]"
t_eq "role kept" primary "$(t_get_v2 "$P::siphaInstRole.1")"
t_check "admin becomePrimary accepted" t_set_v3 "$P::siphaInstAdminCommand.1" i 3
t_check "becomePrimary on the primary: success" t_wait 3 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaInstAdminResult.1)\" = success ]"
t_eq "admin command reads back" becomePrimary "$(t_get_v2 "$P::siphaInstAdminCommand.1")"
t_check "admin time is set" test "$(t_get_v2 -Ot "$P::siphaInstAdminTime.1")" -gt 0

# Alarm clear: nothing listens on the instance's SIP port, so the listener alarm
# 00-04200 is active. Only it can be cleared, only to cleared(3), only once.
ev_rows() { snmpwalk -v2c -c "$COMMUNITY" "${MIBOPTS[@]}" -Oqs "udp:127.0.0.1:$SNMP_PORT" "$P::siphaEventId"; }
t_check "listener alarm 00-04200 logged" t_wait 5 bash -c "snmpwalk -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqs udp:127.0.0.1:$SNMP_PORT $P::siphaEventId | grep -q 00-04200"
alarm=$(ev_rows | grep 00-04200 | head -n1 | cut -d' ' -f1); alarm=${alarm##*.}
plain=$(ev_rows | grep -v 00-04200 | head -n1 | cut -d' ' -f1); plain=${plain##*.}
t_eq "the alarm is active" active "$(t_get_v2 "$P::siphaEventAlarmState.1.$alarm")"
t_set_err "clearing a non-alarm event is inconsistent" "inconsistentValue" "$P::siphaEventAlarmState.1.$plain" i 3
t_set_err "alarm state active(2) refused" "wrongValue" "$P::siphaEventAlarmState.1.$alarm" i 2
t_set_err "alarm state on a missing event" "noCreation\|noSuchName\|notWritable" "$P::siphaEventAlarmState.1.999999" i 3
t_eq "the alarm is still active" active "$(t_get_v2 "$P::siphaEventAlarmState.1.$alarm")"
t_check "alarm cleared by SET" t_set_v3 "$P::siphaEventAlarmState.1.$alarm" i cleared
t_eq "the alarm reads cleared" cleared "$(t_get_v2 "$P::siphaEventAlarmState.1.$alarm")"
t_set_err "clearing it again is inconsistent" "inconsistentValue" "$P::siphaEventAlarmState.1.$alarm" i 3
t_check "siphaAlarmCleared logged" bash -c "snmpwalk -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqs udp:127.0.0.1:$SNMP_PORT $P::siphaEventId | grep -q 00-52117"
t_summary
