#!/usr/bin/env bash
# sipha-ctl against a single-host pair (two sipha-agents under one private snmpd, as
# in test_pair.sh): status as text and JSON, read with the reader user's credentials
# from snmp.conf (none on the command line), against what snmpget reads: roles,
# status, peer, VIPs, an active alarm; an unreachable target; bad input (exit 2);
# switchover refused without authPriv, without write access and by the agent (no
# peer), then done with the admin v3 user. Only 127.0.0.1.
source "$(dirname "$0")/lib.sh"
t_setup
CTL="$BUILD/sipha-ctl"
if [ ! -x "$CTL" ]; then
  echo "FAIL  missing $CTL (run make all)"; echo "test_ctl: 0 passed, 1 failed"; exit 1
fi
t_start_snmpd || exit 1
P=SIPHA-MIB
TARGET="udp:127.0.0.1:$SNMP_PORT"
# Instances 21 and 22: their SIP listeners (5060 + index: 5081, 5082) and probed
# DNs (5070 + index: 5091, 5092) stay clear of the fixed ports of the other pair
# tests (instances 1 and 2), which may run on this host at the same time. The DNs
# answer, so sip-pass-check never moves the role on its own (no SIP traffic with
# every DN out of service: after 15 s) while the test looks at the roles.
A=21 B=22
t_peer_key
# shellcheck disable=SC2034 # read through ${!name} (pair_conf)
HALINK_PORT_21=$(t_free_port udp) HALINK_PORT_22=$(t_free_port udp)
t_sip_peer $((5070 + A)) || exit 1
t_sip_peer $((5070 + B)) || exit 1
t_sip_peer $((5060 + A)) || exit 1
t_sip_peer $((5060 + B)) || exit 1
SIPP_B=${T_PIDS[-1]}
# The HA link's timing is relaxed (a backup takes over after 300 ms of silence, not
# 45 ms): the test checks what sipha-ctl reports, and a busy shared host must not
# move the roles behind its back.
pair_conf() {  # INDEX NAME ROLE PEER-INDEX PEER-NAME
  local own="HALINK_PORT_$1" peer="HALINK_PORT_$4"
  t_instance_conf "$1" "$2" "$3" "<peer name=\"$5\" index=\"$4\" address=\"127.0.0.1:${!peer}\"
        bind=\"127.0.0.1:${!own}\" key-file=\"$T/halink.key\" interval-ms=\"50\"
        backup-interval-ms=\"200\" miss-count=\"6\"/>"
}
pair_conf $A sip-a primary $B sip-b
pair_conf $B sip-b backup $A sip-a
t_check "agent $A registers" t_start_agent $A
t_check "agent $B registers" t_start_agent $B
ctl_roles() { echo "$(t_get_v2 "$P::siphaInstRole.$A")/$(t_get_v2 "$P::siphaInstRole.$B")"; }
ctl_roles_are() { [ "$(ctl_roles)" = "$1" ]; }
link_up() { [ "$(t_get_v2 "$P::siphaInstPeerLinkState.$A")/$(t_get_v2 "$P::siphaInstPeerLinkState.$B")" = up/up ]; }
t_check "pair settles: sip-a primary, sip-b backup" t_wait 10 ctl_roles_are primary/backup
t_check "HA link up on both sides" t_wait 5 link_up

# The reader's credentials where an operator keeps them: snmp.conf (lib.sh points
# SNMPCONFPATH at $T/snmp-client, away from ~/.snmp and /etc/snmp).
cat > "$SNMPCONFPATH/snmp.conf" <<CONF
defVersion 3
defSecurityName $READER_USER
defSecurityLevel authPriv
defAuthType SHA-256
defAuthPassphrase $READER_AUTH
defPrivType AES
defPrivPassphrase $READER_PRIV
timeout 2
retries 0
CONF
chmod 600 "$SNMPCONFPATH/snmp.conf"
ADMIN=(-v3 -u "$ADMIN_USER" -l authPriv -a SHA-256 -A "$ADMIN_AUTH" -x AES -X "$ADMIN_PRIV")

# ---- status, text ------------------------------------------------------------
out=$("$CTL" status "$TARGET" 2>"$T/ctl.err"); rc=$?
t_eq "status exits 0" 0 "$rc"
echo "$out" > "$T/status.txt"
# field NAME FIELD: the value of FIELD in instance NAME's block of $T/status.txt
field() { awk -v n="$1" -v f="$2" '$1 == n { on = 1; next } /^[^ ]/ { on = 0 } on && $1 == f { $1 = ""; sub(/^ /, ""); print; exit }' "$T/status.txt"; }
t_eq "text: sip-a role" primary "$(field sip-a role)"
t_eq "text: sip-b role" backup "$(field sip-b role)"
t_eq "text: sip-a status = snmpget" "$(t_get_v2 "$P::siphaInstStatus.$A")" "$(field sip-a status)"
t_eq "text: sip-a peer" "sip-b: backup, $(t_get_v2 "$P::siphaInstPeerStatus.$A"); link up" "$(field sip-a peer)"
t_eq "text: sip-b peer" "sip-a: primary, $(t_get_v2 "$P::siphaInstPeerStatus.$B"); link up" "$(field sip-b peer)"
vip_line() {  # the VIP line snmpget's values make for instance $1
  local a e; a=$(t_get_v2 "$P::siphaVipActual.$1.1"); e=$(t_get_v2 "$P::siphaVipExpected.$1.1")
  echo "192.0.2.$((100 + $1)) on lo: $a (expected $e), $(t_get_v2 "$P::siphaVipStatus.$1.1")"
}
t_eq "text: sip-a VIP = snmpget" "$(vip_line $A)" "$(field sip-a VIP)"
t_eq "text: sip-b VIP = snmpget" "$(vip_line $B)" "$(field sip-b VIP)"
t_eq "text: no switchover yet" never "$(field sip-a switchover)"
t_eq "text: no alarm" none "$(field sip-b alarms)"
t_check "text: the instance line names index and target" grep -qx "sip-b  (instance $B at $TARGET)" "$T/status.txt"

# ---- status, JSON --------------------------------------------------------------
"$CTL" status --json "$TARGET" > "$T/status.json"; rc=$?
t_eq "status --json exits 0" 0 "$rc"
t_check "status --json is valid JSON" python3 -m json.tool "$T/status.json"
# py EXPRESSION: evaluated with d = the JSON, n = its nodes by name
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); n={x.get('name'): x for x in d['nodes']}; print($1)" "$T/status.json" 2>&1; }
t_eq "json: roles" "primary/backup" "$(py "n['sip-a']['role'] + '/' + n['sip-b']['role']")"
t_eq "json: primary" sip-a "$(py "d['primary']")"
t_eq "json: peers" "sip-b/sip-a/up/up" "$(py "'/'.join([n['sip-a']['peer']['name'], n['sip-b']['peer']['name'], n['sip-a']['peer']['link'], n['sip-b']['peer']['link']])")"
t_eq "json: status = snmpget" "$(t_get_v2 "$P::siphaInstStatus.$B")" "$(py "n['sip-b']['status']")"
t_eq "json: VIPs" "192.0.2.121 lo/192.0.2.122 lo" "$(py "n['sip-a']['vips'][0]['address'] + ' ' + n['sip-a']['vips'][0]['interface'] + '/' + n['sip-b']['vips'][0]['address'] + ' ' + n['sip-b']['vips'][0]['interface']")"
t_eq "json: VIP status = snmpget" "$(t_get_v2 "$P::siphaVipStatus.$A.1")" "$(py "n['sip-a']['vips'][0]['status']")"
t_eq "json: target and index" "$TARGET $A True" "$(py "n['sip-a']['target'] + ' ' + str(n['sip-a']['instance']) + ' ' + str(n['sip-a']['reachable'])")"
t_eq "json: no switchover yet" "0 None" "$(py "str(n['sip-a']['switchovers']) + ' ' + str(n['sip-a']['last_switchover'])")"
t_eq "json: no alarms" "[] []" "$(py "str(n['sip-a']['alarms']) + ' ' + str(n['sip-b']['alarms'])")"

# Command-line options override snmp.conf (v2c community instead of the v3 user).
t_check "v2c from the command line" bash -c "'$CTL' status -v2c -c '$COMMUNITY' '$TARGET' | grep -qx '  role         primary'"

# ---- an active alarm: sip-b's SIP server goes away (00-04200) ---------------------
kill "$SIPP_B"
alarm_rows() { snmpwalk -v2c -c "$COMMUNITY" -r 0 -t 2 "${MIBOPTS[@]}" -Oqs "$TARGET" "$P::siphaEventAlarmState" | sed -n "s/^siphaEventAlarmState\.$B\.\([0-9]*\) active$/\1/p"; }
has_alarm() { [ -n "$(alarm_rows)" ]; }
t_check "sip-b raises the listener alarm" t_wait 5 has_alarm
"$CTL" status "$TARGET" > "$T/status.txt"
t_check "text: the alarm on sip-b" grep -Eq "^00-04200 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z siphaListenerBindFailure: " <<<"$(field sip-b alarm)"
t_eq "text: no alarm on sip-a" none "$(field sip-a alarms)"
"$CTL" status --json "$TARGET" > "$T/status.json"
t_eq "json: the alarm on sip-b = the event table" "$(alarm_rows | head -n1) 00-04200 alarm siphaListenerBindFailure" \
  "$(py "' '.join(str(n['sip-b']['alarms'][0][k]) for k in ('event', 'id', 'severity', 'notification'))")"
t_check "sip-b's SIP server back" t_sip_peer $((5060 + B))
bound() { [ "$(t_get_v2 "$P::siphaInstListenerBound.$B")" = true ]; }
t_check "sip-b's listener bound again" t_wait 5 bound

# ---- an unreachable target -----------------------------------------------------
DEAD="udp:127.0.0.1:$(t_free_port udp)"
start=$SECONDS
out=$("$CTL" status -t 1 -r 0 "$TARGET" "$DEAD" 2>&1); rc=$?
t_eq "unreachable target: exit 1" 1 "$rc"
t_check "unreachable target shown as such" grep -q "^$DEAD  unreachable: no answer (timeout)" <<<"$out"
t_check "the reachable node is still shown" grep -qx "sip-a  (instance $A at $TARGET)" <<<"$out"
t_check "unreachable target answers within its timeout" test $((SECONDS - start)) -le 4
"$CTL" status --json -t 1 -r 0 "$DEAD" > "$T/dead.json"; rc=$?
t_eq "unreachable target, JSON: exit 1" 1 "$rc"
t_check "unreachable target, JSON valid" python3 -m json.tool "$T/dead.json"
t_eq "unreachable target, JSON" "False None" "$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['nodes'][0]['reachable'], d['primary'])" "$T/dead.json")"

# A wrong passphrase: the node answers, but cannot be read (exit 1, not "unreachable").
out=$("$CTL" status -A wrong-reader-auth "$TARGET" 2>&1); rc=$?
t_eq "wrong passphrase: exit 1" 1 "$rc"
t_check "wrong passphrase: says so" grep -q "^$TARGET  error: Authentication failure" <<<"$out"

# ---- bad input: exit 2, a message, nothing sent ----------------------------------
bad() {  # bad DESCRIPTION EXPECTED-MESSAGE ARGS...
  local d=$1 m=$2 out rc; shift 2
  out=$("$CTL" "$@" 2>&1); rc=$?
  if [ "$rc" = 2 ] && grep -q -- "$m" <<<"$out"; then t_pass "bad input: $d"; else t_fail "bad input: $d (exit $rc: $out)"; fi
}
bad "no command" "a command is needed"
bad "unknown command" "unknown command" reboot "$TARGET"
bad "unknown option" "unknown option: --jason" status --jason "$TARGET"
bad "no target" "no TARGET" status
bad "three targets" "at most two targets" status "$TARGET" "$TARGET" "$TARGET"
bad "unusable target" "cannot use target" status "nosuchdomain:::x"
bad "bad --wait" "--wait needs" switchover --wait soon "$TARGET"
bad "--json on switchover" "option of status" switchover --json "$TARGET"
bad "bad SNMP option" "bad SNMP options" status -v 7 "$TARGET"
bad "SNMPv3 without a user" "SNMPv3 needs a user" status -u "" "$TARGET"
t_check "--help exits 0 and documents the exit codes" bash -c "'$CTL' --help | grep -q '^  4  switchover asked'"

# ---- switchover refused -----------------------------------------------------------
bad "switchover over v2c" "needs SNMPv3 with authPriv; this session is SNMPv2c" \
  switchover -v2c -c "$COMMUNITY" "$TARGET"
bad "switchover with authNoPriv" "needs SNMPv3 with authPriv; this session is SNMPv3 authNoPriv" \
  switchover -l authNoPriv "$TARGET"
# authPriv, but the reader may not write: the master refuses the SET.
out=$("$CTL" switchover "$TARGET" 2>&1); rc=$?
t_eq "switchover as the reader: exit 3" 3 "$rc"
t_check "switchover as the reader: says why" grep -q "may not write siphaInstAdminCommand" <<<"$out"
t_eq "roles unchanged by the refusals" primary/backup "$(ctl_roles)"
# The backup's agent gone: the primary has no peer to hand over to and refuses.
pid=AGENT_PID_$B
kill -9 "${!pid}"
link_down() { [ "$(t_get_v2 "$P::siphaInstPeerLinkState.$A")" = down ]; }
t_check "sip-a sees its peer lost" t_wait 8 link_down
out=$("$CTL" switchover "${ADMIN[@]}" "$TARGET" 2>&1); rc=$?
t_eq "switchover without a peer: exit 3" 3 "$rc"
t_check "switchover without a peer: the agent's result and why" \
  grep -q "says siphaInstAdminResult refused (its HA link to the peer is not up); it is primary" <<<"$out"
t_check "agent $B restarts" t_start_agent $B
pair_back() {
  ctl_roles_are primary/backup && link_up &&
    [ "$(t_get_v2 "$P::siphaInstPeerRole.$A")/$(t_get_v2 "$P::siphaInstPeerStatus.$A")" = backup/running ]
}
t_check "pair back: sip-a primary, sip-b backup, link up" t_wait 10 pair_back

# ---- switchover as the admin -------------------------------------------------------
out=$("$CTL" switchover --wait 10 "${ADMIN[@]}" "$TARGET" 2>&1); rc=$?
printf '      %s\n' "${out//$'\n'/$'\n'      }"  # each line indented
t_eq "switchover exits 0" 0 "$rc"
t_eq "roles moved" backup/primary "$(ctl_roles)"
t_check "output names the new primary" grep -Eq "^switchover done in [0-9]+ ms: sip-b \(instance $B at $TARGET\) is primary, sip-a \(instance $A at $TARGET\) is backup$" <<<"$out"
"$CTL" status "$TARGET" > "$T/status.txt"
t_eq "status after: sip-b primary" primary "$(field sip-b role)"
t_check "status after: sip-a's last switchover adminCommand" \
  grep -Eq "^last [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z, reason adminCommand \(1 in all\)$" <<<"$(field sip-a switchover)"
"$CTL" status --json "$TARGET" > "$T/status.json"
t_eq "json after: primary" sip-b "$(py "d['primary']")"
t_eq "json after: sip-b's last switchover" adminCommand "$(py "n['sip-b']['last_switchover']['reason']")"
t_summary
