#!/usr/bin/env bash
# sipha-trapgen against a real snmptrapd that loads SIPHA-MIB: every notification
# arrives translated, with its instance and row indexes and its event id, over v2c,
# SNMPv3 authPriv traps and informs; bad arguments and a silent sink fail cleanly.
# Only 127.0.0.1; snmptrapd is killed on every exit path (lib.sh: trap EXIT).
source "$(dirname "$0")/lib.sh"
t_setup

TG="$BUILD/sipha-trapgen"
P=SIPHA-MIB
ENGINE=80007ed9047369706861746573742d31   # the test's own v3 trap sender engine ID
V3_USER=trapuser V3_AUTH=trapgen-auth-pass V3_PRIV=trapgen-priv-pass
INF_USER=informuser INF_AUTH=inform-auth-pass INF_PRIV=inform-priv-pass

for need in "$TG" "$ROOT/mib/SIPHA-MIB.txt"; do
  if [ ! -f "$need" ]; then
    echo "FAIL  missing $need (run make all)"; echo "test_trapgen: 0 passed, 1 failed"; exit 1
  fi
done

start_trapd() {
  cat > "$T/trapgen-trapd.conf" <<CONF
disableAuthorization yes
authCommunity log public
createUser -e 0x$ENGINE $V3_USER SHA-256 "$V3_AUTH" AES "$V3_PRIV"
createUser $INF_USER SHA "$INF_AUTH" AES "$INF_PRIV"
CONF
  chmod 600 "$T/trapgen-trapd.conf"
  snmptrapd -f -Lf "$T/traps.log" -C -c "$T/trapgen-trapd.conf" "${MIBOPTS[@]}" \
    -F 'TRAP %P | %v\n' "udp:127.0.0.1:$TRAP_PORT" &
  T_PIDS+=("$!")
  t_wait 5 grep -q "NET-SNMP version" "$T/traps.log"
}
start_trapd || { echo "FAIL  snmptrapd did not start"; tail "$T/traps.log"; exit 1; }
SINK="udp:127.0.0.1:$TRAP_PORT"

TAB=$'\t'
# The trap line of notification $1 sent for instance $2 (last one).
trap_line() {
  grep -F "snmpTrapOID.0 = OID: $P::$1$TAB" "$T/traps.log" | grep -F "$P::siphaInstName.$2 =" | tail -n1
}
# Number of notifications received; "missing" (never equal to a count) without a log.
trap_lines() { if [ -f "$T/traps.log" ]; then grep -c '^TRAP ' "$T/traps.log"; else echo missing; fi; }
have_traps() { local n; n=$(trap_lines); [ "$n" != missing ] && [ "$n" -ge "$1" ]; }
# v3_arrived NAME INSTANCE USER KIND — a TRAP2/INFORM of NAME for INSTANCE from USER
v3_arrived() { trap_line "$1" "$2" | grep -q "$4, SNMP v3, user $3,"; }

# ---- --list and the MIB agree -------------------------------------------------
"$TG" --list > "$T/list" 2>"$T/list.err"
t_eq "--list exits 0" 0 $?
# as many as the MIB defines
N_NOTIFS=$(grep -cE '^[a-zA-Z]+ +NOTIFICATION-TYPE *$' "$ROOT/mib/SIPHA-MIB.txt")
t_eq "--list prints the MIB's $N_NOTIFS notifications" "$N_NOTIFS" "$(wc -l < "$T/list")"
t_check "--list line: name OID event id severity" \
  grep -Eq '^siphaVipFailure +1\.3\.6\.1\.4\.1\.32473\.1\.0\.13 +00-52029 +standard$' "$T/list"
t_check "--list: 00-04200 is an alarm" grep -Eq '^siphaListenerBindFailure .* 00-04200 alarm$' "$T/list"
mismatch=""
while read -r name oid _ _; do
  got=$(snmptranslate "${MIBOPTS[@]}" "$oid" 2>/dev/null)
  [ "$got" = "$P::$name" ] || mismatch+=" $name($oid->$got)"
done < "$T/list"
t_eq "every notification OID is its SIPHA-MIB name" "" "$mismatch"

# ---- v2c: every notification ----------------------------------------------------
"$TG" "$SINK" all > "$T/v2c.out" 2>&1
t_eq "v2c all: exit 0" 0 $?
t_check "v2c all: $N_NOTIFS traps arrive" t_wait 10 have_traps "$N_NOTIFS"
while read -r name _ event _; do
  line=$(trap_line "$name" 1)
  if [ -z "$line" ]; then t_fail "v2c $name arrives translated"; continue; fi
  [ "$name" = siphaAlarmCleared ] && event=00-04200   # it speaks of the cleared alarm
  if grep -q "TRAP2, SNMP v2c, community public" <<<"$line" &&
     grep -Eq "$P::siphaEventId\.1\.[0-9]+ = STRING: \"?$event" <<<"$line" &&
     grep -Eq "$P::siphaInstName\.1 = STRING: \"?sip-a" <<<"$line" &&
     ! grep -Eq '(\.1\.3\.6\.1\.4\.1|enterprises|iso)\.32473|SNMPv2-SMI::enterprises' <<<"$line"; then
    t_pass "v2c $name arrives translated, instance 1, event $event"
  else
    t_fail "v2c $name: $line"
  fi
done < "$T/list"

# Row indexes of what each notification speaks of (instance 1; NIC 2 is the SIP NIC).
check_row() { t_check "v2c $1 carries $2" grep -Eq "$P::$2" <<<"$(trap_line "$1" 1)"; }
check_row siphaVipFailure 'siphaVipAddress\.1\.1 = '
check_row siphaVipFailure 'siphaVipActual\.1\.1 = INTEGER: absent'
check_row siphaVipSuccess 'siphaVipActual\.1\.1 = INTEGER: present'
check_row siphaNicFailure 'siphaNicOperState\.1\.2 = INTEGER: down'
check_row siphaNicRecovery 'siphaNicOperState\.1\.2 = INTEGER: up'
check_row siphaServiceDnOutOfService 'siphaDnState\.1\.1 = INTEGER: outOfService'
check_row siphaServiceDnInService 'siphaDnUri\.1\.1 = STRING: "?sip:gw-1@192\.0\.2\.50'
check_row siphaListenerBindFailure 'siphaInstListenerBound\.1 = INTEGER: false'
check_row siphaAlarmCleared 'siphaEventAlarmState\.1\.1 = INTEGER: cleared'
check_row siphaSplitBrainDetected 'siphaInstPeerRole\.1 = INTEGER: primary'
check_row siphaContactSourceLost 'siphaInstContactSourceState\.1 = INTEGER: down'

# ---- SNMPv3 authPriv traps ----------------------------------------------------------
v3=(-v 3 -u "$V3_USER" -a SHA-256 -A "$V3_AUTH" -x AES -X "$V3_PRIV" -l authPriv -e "$ENGINE")
"$TG" "${v3[@]}" -i 2 "$SINK" siphaVipFailure siphaNicFailure siphaAlarmCleared > "$T/v3.out" 2>&1
t_eq "v3 authPriv traps: exit 0" 0 $?
for name in siphaVipFailure siphaNicFailure siphaAlarmCleared; do
  t_check "v3 authPriv $name arrives (user $V3_USER)" t_wait 5 v3_arrived "$name" 2 "$V3_USER" TRAP2
done
line=$(trap_line siphaVipFailure 2)
t_check "v3 siphaVipFailure is about instance 2 (sip-b), VIP 1" \
  grep -Eq "siphaInstName\.2 = STRING: \"?sip-b.*$P::siphaVipAddress\.2\.1 = " <<<"$line"

"$TG" -v 3 -u "$V3_USER" -a SHA-256 -A "wrong-auth-pass" -X "$V3_PRIV" -e "$ENGINE" -i 3 \
  "$SINK" siphaPeerLost > /dev/null 2>&1
sleep 1
t_eq "v3 trap with a wrong passphrase is not accepted" "" "$(trap_line siphaPeerLost 3)"

# ---- informs: acknowledged, or a clear failure ----------------------------------------
out=$("$TG" --inform -t 3 -r 1 "$SINK" siphaSwitchover 2>&1)
t_eq "v2c inform acknowledged: exit 0" 0 $?
t_check "v2c inform reports the acknowledgement" grep -q "acknowledged" <<<"$out"
out=$("$TG" --inform -v 3 -u "$INF_USER" -A "$INF_AUTH" -X "$INF_PRIV" -t 3 -r 1 -i 5 "$SINK" siphaPeerFound 2>&1)
t_eq "v3 authPriv inform (engine discovery) acknowledged: exit 0" 0 $?
t_check "v3 inform arrives as an INFORM" v3_arrived siphaPeerFound 5 "$INF_USER" INFORM
DEAD_PORT=$(t_free_port udp)
start=$SECONDS
out=$("$TG" --inform -t 1 -r 0 "udp:127.0.0.1:$DEAD_PORT" siphaSwitchover 2>&1)
rc=$?
t_eq "inform to a silent sink: exit 1" 1 "$rc"
t_check "inform to a silent sink says so" grep -q "no acknowledgement" <<<"$out"
t_check "inform timeout honours -t (under 10 s)" test $((SECONDS - start)) -lt 10

# ---- bad arguments: usage and exit 2, nothing sent ------------------------------------
before=$(trap_lines)
bad() { # bad DESCRIPTION ARGS... — exit 2 and a message on stderr
  local d=$1; shift
  "$TG" "$@" > "$T/bad.out" 2> "$T/bad.err"
  local rc=$?
  if [ "$rc" = 2 ] && [ -s "$T/bad.err" ]; then t_pass "$d"; else t_fail "$d (exit $rc)"; fi
}
bad "no arguments" 
bad "sink without a name" "$SINK"
bad "unknown notification" "$SINK" siphaVipFailure siphaNoSuchTrap
t_check "unknown notification lists the valid names" grep -q "valid names: all siphaRoleChange.*siphaAlarmCleared" "$T/bad.err"
bad "bad version" -v 1 "$SINK" all
bad "instance 0" -i 0 "$SINK" all
bad "instance 256 (siphaInstIndex is 1..255)" -i 256 "$SINK" all
bad "instance not a number" -i 1x "$SINK" all
bad "v3 without user" -v 3 "$SINK" all
bad "v3 short passphrase" -v 3 -u u -A short -X "$V3_PRIV" "$SINK" all
bad "v3 unknown auth protocol" -v 3 -u u -a MD5 -A "$V3_AUTH" "$SINK" all
bad "v3 authPriv without privacy passphrase" -v 3 -u u -A "$V3_AUTH" -l authPriv "$SINK" all
bad "bad engine id" -v 3 -u u -A "$V3_AUTH" -e 0x12zz "$SINK" all
bad "community with v3" -v 3 -c public -u u "$SINK" all
bad "v3 options with v2c" -u u "$SINK" all
bad "unknown option" --bogus "$SINK" all
bad "--list with other arguments" --list "$SINK"
sleep 0.5
t_eq "bad arguments sent nothing" "$before" "$(trap_lines)"

t_summary
