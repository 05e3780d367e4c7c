#!/usr/bin/env bash
# SNMPTT: nms/snmptt/ against Debian's snmptt. snmptrapd (configured with
# snmptrapd-sipha.conf, -On) hands every trap to snmptthandler; the snmptt daemon
# (nms/snmptt/snmptt.ini, only paths, user and fork changed) translates it with
# sipha.snmptt.conf. sipha-trapgen sends every notification (v2c) and two more as
# SNMPv3 authPriv traps; each formatted line must be the expected one
# (snmptt-expected.txt); an unknown SIPHA-MIB notification lands in the catch-all
# event; nothing lands in the unknown-trap log. Then every notification again through
# a snmptrapd that does not load SIPHA-MIB (values arrive as integers): SNMPTT's own
# translation must give the same words (the ini's net_snmp_perl_cache_enable = 0 is
# what makes them right). Only 127.0.0.1.
source "$(dirname "$0")/lib.sh"
set -u
t_setup
TG="$BUILD/sipha-trapgen"
n_need snmptt snmptthandler snmptrapd snmptrap "$TG" "$ROOT/build/ietf-mibs/SNMPv2-SMI.txt"
t_check "Net-SNMP Perl module (libsnmp-perl) loads" perl -MSNMP -e 1
SD="$NMS/snmptt"
CONF="$SD/sipha.snmptt.conf"
EXPECTED="$ROOT/tests/nms/snmptt-expected.txt"

# ---- the event file covers every notification, with its OID ---------------------
"$TG" --list > "$T/list"
NOTES=$(wc -l < "$T/list")
t_eq "snmptt-expected.txt has a line for each notification" "$NOTES" "$(grep -c '^sipha' "$EXPECTED")"
missing=""
while read -r name oid _; do
  grep -Eq "^EVENT $name \.${oid//./\\.} \"sipha\" (Normal|Warning|Minor|Major|Critical)\$" "$CONF" ||
    missing+=" $name"
done < "$T/list"
t_eq "an EVENT with the right OID for each of the $NOTES notifications" "" "$missing"
t_eq "as many FORMAT lines as EVENT lines" "$(grep -c '^EVENT ' "$CONF")" "$(grep -c '^FORMAT ' "$CONF")"

# ---- snmptt (daemon mode) and snmptrapd, from the shipped files --------------------
mkdir -p "$T/spool" "$T/log"
sed -e "s|^daemon_fork = 1|daemon_fork = 0|" -e "s|^daemon_uid = snmptt|daemon_uid =|" \
    -e "s|^pid_file = .*|pid_file = $T/snmptt.pid|" \
    -e "s|^spool_directory = .*|spool_directory = $T/spool/|" \
    -e "s|= /var/log/snmptt/|= $T/log/|" \
    -e "s|^/etc/snmp/sipha.snmptt.conf|$CONF|" "$SD/snmptt.ini" > "$T/snmptt.ini"
t_eq "test snmptt.ini changes 8 lines of the shipped one (paths, user, fork)" 8 \
  "$(diff "$SD/snmptt.ini" "$T/snmptt.ini" | grep -c '^>')"
MIBDIRS="$MIBPATH" snmptt --daemon --ini="$T/snmptt.ini" > "$T/snmptt.out" 2>&1 &
T_PIDS+=("$!")
t_check "snmptt daemon loads sipha.snmptt.conf" \
  t_wait 20 grep -q "Finished loading .* lines from $CONF" "$T/log/snmpttsystem.log"

ENGINE=80007ed90473697068612d7472617067656e      # sipha-trapgen's default v3 engine ID
V3_AUTH=nms-trap-auth-pass V3_PRIV=nms-trap-priv-pass
sed -e "s|^#createUser -e 0x80001F8880\.\.\. siphaTrap SHA-256 \"AUTHPASS\" AES \"PRIVPASS\"|createUser -e 0x$ENGINE siphaTrap SHA-256 \"$V3_AUTH\" AES \"$V3_PRIV\"|" \
    -e "s|^#authUser log,execute siphaTrap priv|authUser log,execute siphaTrap priv|" \
    -e "s|^traphandle default /usr/sbin/snmptthandler\$|traphandle default /usr/sbin/snmptthandler --ini=$T/snmptt.ini|" \
    "$SD/snmptrapd-sipha.conf" > "$T/snmptrapd.conf"
chmod 600 "$T/snmptrapd.conf"
t_eq "test snmptrapd.conf: v3 user enabled, handler given the test ini (3 lines)" 3 \
  "$(diff "$SD/snmptrapd-sipha.conf" "$T/snmptrapd.conf" | grep -c '^>')"
snmptrapd -f -On -Lf "$T/trapd.log" -C -c "$T/snmptrapd.conf" "${MIBOPTS[@]}" \
  "udp:127.0.0.1:$TRAP_PORT" &
T_PIDS+=("$!")
t_check "snmptrapd starts" t_wait 10 grep -q "NET-SNMP version" "$T/trapd.log"
SINK="udp:127.0.0.1:$TRAP_PORT"
LOG="$T/log/snmptt.log"
lines() { if [ -f "$LOG" ]; then grep -c . "$LOG"; else echo 0; fi; }
have() { [ "$(lines)" -ge "$1" ]; }

# ---- every notification, v2c -------------------------------------------------------
t_check "sipha-trapgen sends all (v2c, community sipha-traps)" "$TG" -c sipha-traps "$SINK" all
t_check "$NOTES translated lines in snmptt.log" t_wait 30 have "$NOTES"
# line NAME SEVERITY N — the formatted text of the N-th line for NAME with SEVERITY and
# category sipha; "<n lines>" when there are not N of them.
line() {
  local l n
  l=$(grep -F " $1 $2 \"sipha\" " "$LOG")
  n=$(grep -c . <<<"$l")
  if [ "$n" -eq "$3" ]; then l=$(tail -n 1 <<<"$l"); echo "${l#* - }"; else echo "<$n lines>"; fi
}
while IFS='|' read -r name sev text; do
  case "$name" in ''|'#'*) continue ;; esac
  t_eq "$name ($sev)" "$text" "$(line "$name" "$sev" 1)"
done < "$EXPECTED"

# ---- SNMPv3 authPriv traps, instance 2 ---------------------------------------------
V3_NAMES=(siphaSplitBrainDetected siphaListenerBindFailure)
t_check "sipha-trapgen sends two SNMPv3 authPriv traps for instance 2" \
  "$TG" -v 3 -u siphaTrap -a SHA-256 -A "$V3_AUTH" -x AES -X "$V3_PRIV" -l authPriv -e "$ENGINE" \
  -i 2 "$SINK" "${V3_NAMES[@]}"
t_check "$((NOTES + 2)) lines" t_wait 20 have $((NOTES + 2))
t_check "v3 siphaSplitBrainDetected about sip-b" \
  grep -Eq ' siphaSplitBrainDetected Critical "sipha" .* - sipha sip-b: ALARM split brain: this instance is primary \(epoch [0-9]+\) and its peer sip-a is primary \[00-52115\]$' "$LOG"
t_check "v3 siphaListenerBindFailure about sip-b" \
  grep -Eq ' siphaListenerBindFailure Critical "sipha" .* - sipha sip-b: ALARM SIP listener ipv4 [0-9A-F ]+ port [0-9]+ cannot be opened \(bound: false\)' "$LOG"

# ---- a notification this file does not know: the catch-all ---------------------------
t_check "snmptrap sends an unknown notification under siphaNotifications" \
  snmptrap -v 2c -c sipha-traps "${MIBOPTS[@]}" "$SINK" '' .1.3.6.1.4.1.32473.1.0.99 \
  SIPHA-MIB::siphaInstName.1 s sip-a
t_check "$((NOTES + 3)) lines" t_wait 20 have $((NOTES + 3))
t_check "catch-all siphaOther line names the OID and the varbinds" \
  grep -Eq ' [^ ]*\.99 Warning "sipha" [^ ]+ - sipha: notification [^ ]*\.99 not known to this file: siphaInstName\.1:sip-a$' "$LOG"
t_eq "no more than $((NOTES + 3)) lines" $((NOTES + 3)) "$(lines)"

# ---- snmptrapd without SIPHA-MIB: SNMPTT translates the integers itself ----------------
PORT2=$(t_free_port udp)
snmptrapd -f -On -Lf "$T/trapd2.log" -C -c "$T/snmptrapd.conf" -M "$ROOT/build/ietf-mibs" -m SNMPv2-MIB \
  "udp:127.0.0.1:$PORT2" &
T_PIDS+=("$!")
t_check "second snmptrapd (no SIPHA-MIB) starts" t_wait 10 grep -q "NET-SNMP version" "$T/trapd2.log"
t_check "sipha-trapgen sends all to it" "$TG" -c sipha-traps "udp:127.0.0.1:$PORT2" all
t_check "$((2 * NOTES + 3)) lines" t_wait 30 have $((2 * NOTES + 3))
# The same words, from the integers: only the UNITS that snmptrapd adds when it knows
# the MIB ("65 seconds") are missing.
while IFS='|' read -r name sev text; do
  case "$name" in ''|'#'*) continue ;; esac
  n=2; case " ${V3_NAMES[*]} " in *" $name "*) n=3 ;; esac   # the v3 traps came between
  t_eq "$name from integers" "${text// seconds/}" "$(line "$name" "$sev" "$n")"
done < "$EXPECTED"
t_eq "nothing in the unknown-trap log" "" "$(cat "$T/log/snmpttunknown.log" 2>/dev/null)"
t_summary
