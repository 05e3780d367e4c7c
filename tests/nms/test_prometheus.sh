#!/usr/bin/env bash
# Prometheus: nms/prometheus/ against the real tools. Debian's
# prometheus-snmp-generator regenerates snmp.yml from generator.yml byte for byte;
# Debian's prometheus-snmp-exporter loads it and scrapes a running pair (SNMPv3
# authPriv and v2c) through a private snmpd: role, status and switchover metrics
# carry the values snmpget reads, before and after real switchovers; promtool checks
# the alert rules and the example configuration, runs their unit tests, and evaluates
# the rules on the exporter's own output in three real states of the pair (healthy,
# after a switchover storm, both primary).
source "$(dirname "$0")/lib.sh"
set -u
t_setup
n_need prometheus-snmp-exporter prometheus-snmp-generator promtool curl python3 \
       "$BUILD/sipha-agent" "$ROOT/build/ietf-mibs/SNMPv2-SMI.txt"
PD="$NMS/prometheus"
PY="$ROOT/tests/nms/prom_scrape.py"
P=SIPHA-MIB

# ---- the module is what the generator makes of generator.yml --------------------
mkdir -p "$T/gen"
cp "$PD/generator.yml" "$T/gen/"
(cd "$T/gen" && MIBDIRS="$MIBPATH" MIBS='' prometheus-snmp-generator --fail-on-parse-errors generate \
   -o "$T/gen/snmp.yml") > "$T/gen/log" 2>&1
t_eq "generator runs on generator.yml without MIB parse errors" 0 $?
t_check "snmp.yml is the generator's output for generator.yml (regenerate: nms/README.md)" \
  cmp "$T/gen/snmp.yml" "$PD/snmp.yml"
t_check "generator.yml: modules sipha and sipha_v2c differ only in version and auth" python3 -c '
import sys, yaml
m = yaml.safe_load(open(sys.argv[1]))["modules"]
a, b = dict(m["sipha"]), dict(m["sipha_v2c"])
assert a.pop("version") == 3 and b.pop("version") == 2
assert a.pop("auth")["security_level"] == "authPriv" and b.pop("auth") == {"community": "sipha-public"}
assert a == b' "$PD/generator.yml"
t_check "exporter accepts snmp.yml (--dry-run)" \
  prometheus-snmp-exporter --dry-run --config.file="$PD/snmp.yml"

# ---- promtool: rules, their unit tests, the example configuration ------------------
t_check "promtool check rules sipha-alerts.yml" promtool check rules "$PD/sipha-alerts.yml"
(cd "$PD" && promtool test rules sipha-alerts.test.yml) > "$T/unit.out" 2>&1
t_eq "promtool test rules sipha-alerts.test.yml" 0 $?
[ -s "$T/unit.out" ] && grep -q FAILED "$T/unit.out" && cat "$T/unit.out"
t_check "promtool check config prometheus.yml (with its rule file)" promtool check config "$PD/prometheus.yml"

# ---- a running pair, scraped through the exporter -------------------------------------
n_start_pair || { t_fail "pair starts"; t_summary; exit 1; }
# The test's copy of the module: the v3 passphrases of the test's snmpd instead of the
# placeholders (nothing else changes).
sed -e "s/password: CHANGE-ME-reader-auth/password: $READER_AUTH/" \
    -e "s/priv_password: CHANGE-ME-reader-priv/priv_password: $READER_PRIV/" "$PD/snmp.yml" > "$T/snmp.yml"
t_eq "test copy of snmp.yml differs in the two passphrases only" 2 \
  "$(diff "$PD/snmp.yml" "$T/snmp.yml" | grep -c '^>')"
EXP_PORT=$(t_free_port tcp)
prometheus-snmp-exporter --config.file="$T/snmp.yml" --web.listen-address="127.0.0.1:$EXP_PORT" \
  > "$T/exporter.log" 2>&1 &
T_PIDS+=("$!")
t_check "exporter listens" t_wait 10 curl -sf -o /dev/null "http://127.0.0.1:$EXP_PORT/"
TARGET="127.0.0.1:$SNMP_PORT"
is() { [ "$(t_get_v2 "$1")" = "$2" ]; }   # is OID VALUE: snmpget reads VALUE
SCRAPES=0
# scrape MODULE — writes the next $T/scrape-N.prom, sets SCRAPE to it
scrape() {
  SCRAPES=$((SCRAPES + 1)); SCRAPE="$T/scrape-$SCRAPES.prom"
  curl -sf --max-time 20 "http://127.0.0.1:$EXP_PORT/snmp?module=$1&target=$TARGET" > "$SCRAPE"
}
# val METRIC [LABEL=VALUE...] — the value of the one sample of METRIC in $SCRAPE whose
# labels include those given; nothing when there is none or more than one.
val() {
  local lines kv
  lines=$(grep "^$1{" "$SCRAPE"); shift
  for kv in "$@"; do
    lines=$(grep -F -e "{${kv%%=*}=\"${kv#*=}\"" -e ",${kv%%=*}=\"${kv#*=}\"" <<<"$lines")
  done
  [ -n "$lines" ] && [ "$(wc -l <<<"$lines")" -eq 1 ] && echo "${lines##* }"
}
# state METRIC INDEX — the state of the state-set METRIC whose sample is 1 for
# siphaInstIndex INDEX; nothing unless exactly one is.
state() {
  local lines
  lines=$(grep "^$1{" "$SCRAPE" | grep -F "siphaInstIndex=\"$2\"" | grep ' 1$')
  [ -n "$lines" ] && [ "$(wc -l <<<"$lines")" -eq 1 ] && sed -E "s/.*[{,]$1=\"([^\"]*)\".*/\1/" <<<"$lines"
}
# check_states WHAT: for both instances, every state-set column the rules read
# shows as 1 the state snmpget reads, and the switchover counter equals snmpget's.
check_states() {
  local i col got want bad=""
  for i in 1 2; do
    for col in siphaInstRole siphaInstStatus siphaInstPeerRole siphaInstPeerLinkState \
               siphaInstLastSwitchoverReason siphaInstListenerBound; do
      got=$(state "$col" "$i")
      want=$(t_get_v2 "$P::$col.$i")
      [ -n "$want" ] && [ "$got" = "$want" ] || bad+=" $col.$i=$got(snmpget $want)"
    done
    got=$(val siphaInstSwitchovers siphaInstIndex="$i" siphaInstName="$([ "$i" = 1 ] && echo sip-a || echo sip-b)")
    want=$(t_get_v2 "$P::siphaInstSwitchovers.$i")
    [ "$got" = "$want" ] || bad+=" siphaInstSwitchovers.$i=$got(snmpget $want)"
  done
  t_eq "$1: state sets and switchover counters match snmpget" "" "$bad"
}

t_check "v3 authPriv scrape (module sipha)" scrape sipha
V3=$SCRAPE
t_eq "sip-a primary" 1 "$(val siphaInstRole siphaInstIndex=1 siphaInstName=sip-a siphaInstRole=primary)"
t_eq "sip-a not backup" 0 "$(val siphaInstRole siphaInstIndex=1 siphaInstName=sip-a siphaInstRole=backup)"
t_eq "sip-b backup" 1 "$(val siphaInstRole siphaInstIndex=2 siphaInstName=sip-b siphaInstRole=backup)"
t_eq "sip-a status running" 1 "$(val siphaInstStatus siphaInstIndex=1 siphaInstStatus=running)"
t_eq "sip-b status running" 1 "$(val siphaInstStatus siphaInstIndex=2 siphaInstStatus=running)"
t_eq "sip-a no switchover yet" 0 "$(val siphaInstSwitchovers siphaInstIndex=1)"
t_eq "sip-a last switchover reason none" 1 \
  "$(val siphaInstLastSwitchoverReason siphaInstIndex=1 siphaInstLastSwitchoverReason=none)"
t_eq "DN row labelled with its name" 1 "$(val siphaDnState siphaInstName=sip-b siphaDnName=gw2 siphaDnState=inService)"
t_eq "VIP address rendered" 1 "$(val siphaVipAddress siphaInstIndex=1 siphaVipAddress=192.0.2.101)"
t_check "counter type for siphaInstSwitchovers" grep -qx '# TYPE siphaInstSwitchovers counter' "$V3"
check_states "healthy pair"
t_check "v2c scrape (module sipha_v2c)" scrape sipha_v2c
t_eq "v2c and v3 scrapes show the same roles" \
  "$(grep '^siphaInstRole{' "$V3")" "$(grep '^siphaInstRole{' "$SCRAPE")"
t_check "hand-written rule tests use the exporter's series shapes" \
  python3 "$PY" shapes "$PD/sipha-alerts.test.yml" "$V3"
HEALTHY="$V3"
sleep 1; scrape sipha; HEALTHY+=",$SCRAPE"

# ---- four switchovers: a storm ----------------------------------------------------
ok=1 first=1
for want in backup/primary primary/backup backup/primary primary/backup; do
  # asked on the current primary each time; the next one once the result is in
  prim=1; [ "$(n_roles)" = backup/primary ] && prim=2
  # a primary hands over only to a peer it knows as a running backup: wait for that
  t_wait 10 is "$P::siphaInstPeerRole.$prim" backup || ok=0
  t_set_v3 "$P::siphaInstAdminCommand.$prim" i switchover > /dev/null 2>&1 || ok=0
  t_wait 10 n_roles_are "$want" || ok=0
  t_wait 10 is "$P::siphaInstAdminResult.$prim" success || ok=0
  if [ "$first" = 1 ]; then
    first=0
    scrape sipha
    t_eq "after one switchover: sip-b primary in the scrape" 1 \
      "$(val siphaInstRole siphaInstIndex=2 siphaInstRole=primary)"
    t_eq "after one switchover: sip-a backup in the scrape" 1 \
      "$(val siphaInstRole siphaInstIndex=1 siphaInstRole=backup)"
    check_states "after one switchover"
  fi
done
t_eq "four switchovers by SET, each completed" 1 "$ok"
scrape sipha; STORM="$SCRAPE"
t_eq "sip-a switchover counter 4" 4 "$(val siphaInstSwitchovers siphaInstIndex=1)"
t_eq "sip-b switchover counter 4" 4 "$(val siphaInstSwitchovers siphaInstIndex=2)"
t_eq "sip-a last switchover reason adminCommand" 1 \
  "$(val siphaInstLastSwitchoverReason siphaInstIndex=1 siphaInstLastSwitchoverReason=adminCommand)"
check_states "after four switchovers"
sleep 1; scrape sipha; STORM+=",$SCRAPE"

# ---- both primary: sip-b restarted with another HA link key ---------------------------
gone() { ! kill -0 "$1" 2>/dev/null; }
kill "$AGENT_PID_2"
t_check "sip-b (backup) stops on SIGTERM" t_wait 10 gone "$AGENT_PID_2"
( umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/other.key" )
sed -i "s|key-file=\"$T/halink.key\"|key-file=\"$T/other.key\"|" "$T/inst-2.xml"
t_check "sip-b restarts with a key that differs from sip-a's" t_start_agent 2
t_check "both instances primary (split brain)" t_wait 15 n_roles_are primary/primary
t_check "sip-a's HA link down" t_wait 10 is "$P::siphaInstPeerLinkState.1" down
scrape sipha; SPLIT="$SCRAPE"
t_eq "split: sip-a primary in the scrape" 1 "$(val siphaInstRole siphaInstIndex=1 siphaInstRole=primary)"
t_eq "split: sip-b primary in the scrape" 1 "$(val siphaInstRole siphaInstIndex=2 siphaInstRole=primary)"
check_states "split brain"
sleep 1; scrape sipha; SPLIT+=",$SCRAPE"
a2=$(val siphaInstHaLinkAuthFailures siphaInstIndex=1)
a1=$(SCRAPE=${SPLIT%%,*} val siphaInstHaLinkAuthFailures siphaInstIndex=1)
t_check "split: sip-a counts refused datagrams between the two scrapes ($a1 -> $a2)" test "$a2" -gt "$a1"

# ---- the rules on these scrapes -----------------------------------------------------
cp "$PD/sipha-alerts.yml" "$T/"
python3 "$PY" phases "$T/sipha-alerts.yml" "$T/phases.test.yml" --target "$TARGET" --pair nms-test \
  --phase "healthy=$HEALTHY" --phase "storm=$STORM" --phase "split=$SPLIT" \
  --expect "healthy SiphaTwoPrimaries" --expect "healthy SiphaNoPrimary" \
  --expect "healthy SiphaSwitchoverStorm" --expect "healthy SiphaPeerLinkDown" \
  --expect "healthy SiphaListenerDown" --expect "healthy SiphaServiceUnavailable" \
  --expect "healthy SiphaHaLinkAuthFailures" --expect "healthy SiphaStateNotSaved" \
  --expect "healthy SiphaContactSourceDown" \
  --expect "storm SiphaSwitchoverStorm pair=nms-test" --expect "storm SiphaTwoPrimaries" \
  --expect "storm SiphaNoPrimary" --expect "storm SiphaPeerLinkDown" \
  --expect "split SiphaTwoPrimaries value=2" --expect "split SiphaNoPrimary" \
  --expect "split SiphaSwitchoverStorm" \
  --expect "split SiphaPeerLinkDown siphaInstIndex=1;siphaInstIndex=2" \
  --expect "split SiphaHaLinkAuthFailures siphaInstIndex=1;siphaInstIndex=2" \
  > "$T/phases.out" 2>&1
t_eq "promtool test built from the scrapes" 0 $?
promtool test rules "$T/phases.test.yml" >> "$T/phases.out" 2>&1
rc=$?
t_eq "rules on the real scrapes: healthy none; storm SiphaSwitchoverStorm; split SiphaTwoPrimaries, SiphaPeerLinkDown, SiphaHaLinkAuthFailures" 0 "$rc"
[ "$rc" -eq 0 ] || tail -n 40 "$T/phases.out"
t_summary
