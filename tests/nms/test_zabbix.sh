#!/usr/bin/env bash
# Zabbix: nms/zabbix/sipha_zabbix_template.yaml. No Zabbix server runs here; instead
# the template goes through the import code of Debian's Zabbix 6.0 frontend
# (zabbix_validate.php: schema validator, converters, item key, interval and trigger
# expression parsers), is checked against SIPHA-MIB with python3-yaml
# (zabbix_check.py static), its trap items and trap triggers are matched against the
# real text snmptrapd makes of every notification sipha-trapgen sends (symbolic and
# -On), and its discovery and item prototypes are run, as Zabbix's SNMP poller would,
# against a running pair.
source "$(dirname "$0")/lib.sh"
set -u
t_setup
ZT="$NMS/zabbix/sipha_zabbix_template.yaml"
ZUI=${ZABBIX_UI:-/usr/share/zabbix}
TG="$BUILD/sipha-trapgen"
n_need php python3 snmptrapd snmpwalk snmptranslate "$ZT" "$ZUI/include/classes/import/validators/C60XmlValidator.php" \
       "$TG" "$BUILD/sipha-agent" "$ROOT/build/ietf-mibs/SNMPv2-SMI.txt"
t_check "python3-yaml loads" python3 -c 'import yaml'

# collect FILE WHAT — shows a checker's failed checks and how many it made
collect() {
  grep '^FAIL ' "$1" | sed 's/^FAIL  /      failed: /'
  echo "      ($2: $(grep -c '^ok ' "$1") checks passed, $(grep -c '^FAIL ' "$1") failed)"
}

# ---- Zabbix's own import code ------------------------------------------------------
ZABBIX_UI="$ZUI" php "$ROOT/tests/nms/zabbix_validate.php" "$ZT" > "$T/zphp.out" 2>&1
rc=$?
t_eq "Zabbix 6.0 frontend import code accepts the template" 0 "$rc"
[ "$rc" -eq 0 ] || tail -n 5 "$T/zphp.out"
grep -q '^ok    Zabbix .* import validator accepts' "$T/zphp.out" && collect "$T/zphp.out" "Zabbix import validator and parsers"

# ---- against the MIB -----------------------------------------------------------------
MIBDIRS="$MIBPATH" python3 "$ROOT/tests/nms/zabbix_check.py" static "$ZT" > "$T/static.out" 2>&1
t_eq "template checked against SIPHA-MIB" 0 $?
collect "$T/static.out" "template against SIPHA-MIB"

# ---- trap items against real trap texts -------------------------------------------------
"$TG" --list > "$T/list"
start_trapd() { # start_trapd NAME PORT EXTRA-OPTIONS...
  local name=$1 port=$2; shift 2
  snmptrapd -f -Lf "$T/$name.log" -C -c "$T/zbx-trapd.conf" "${MIBOPTS[@]}" "$@" -F 'TRAP %v\n' \
    "udp:127.0.0.1:$port" &
  T_PIDS+=("$!")
  t_wait 10 grep -q "NET-SNMP version" "$T/$name.log"
}
printf 'authCommunity log sipha-traps\n' > "$T/zbx-trapd.conf"
PORT_NUM=$(t_free_port udp)
t_check "snmptrapd (symbolic OIDs) starts" start_trapd sym "$TRAP_PORT"
t_check "snmptrapd (-On, numeric OIDs) starts" start_trapd num "$PORT_NUM" -On
n=$(wc -l < "$T/list")
t_check "sipha-trapgen sends all to both" bash -c "'$TG' -c sipha-traps udp:127.0.0.1:$TRAP_PORT all &&
  '$TG' -c sipha-traps udp:127.0.0.1:$PORT_NUM all"
t_check "$n traps arrive at each" t_wait 20 bash -c "[ \$(grep -c '^TRAP ' '$T/sym.log') -ge $n ] &&
  [ \$(grep -c '^TRAP ' '$T/num.log') -ge $n ]"
python3 "$ROOT/tests/nms/zabbix_check.py" traps "$ZT" "$T/list" "$T/sym.log" "$T/num.log" > "$T/traps.out" 2>&1
t_eq "trap items and trap triggers on real trap texts" 0 $?
collect "$T/traps.out" "trap regular expressions"

# ---- discovery and item prototypes on a running pair ---------------------------------------
n_start_pair || { t_fail "pair starts"; t_summary; exit 1; }
python3 "$ROOT/tests/nms/zabbix_check.py" live "$ZT" "$T/live.txt" \
  -v3 -u "$READER_USER" -l authPriv -a SHA-256 -A "$READER_AUTH" -x AES -X "$READER_PRIV" \
  -r 0 -t 3 "udp:127.0.0.1:$SNMP_PORT" > "$T/live.out" 2>&1
t_eq "discovery and every item prototype read from the pair (SNMPv3 siphaReader)" 0 $?
collect "$T/live.out" "live polling"
got() { awk -v k="$1" -v n="$2" '$1 == k && $2 == n { print $3 }' "$T/live.txt"; }
t_eq "discovered instances" "sip-a sip-b" "$(awk '{print $2}' "$T/live.txt" | sort -u | tr '\n' ' ' | sed 's/ $//')"
t_eq "sip-a role primary (2)" 2 "$(got 'sipha.inst.role[1]' sip-a)"
t_eq "sip-b role backup (3)" 3 "$(got 'sipha.inst.role[2]' sip-b)"
t_eq "sip-b sees its peer primary (2)" 2 "$(got 'sipha.inst.peer.role[2]' sip-b)"
t_eq "sip-a status running (4)" 4 "$(got 'sipha.inst.status[1]' sip-a)"
t_eq "sip-a listener open (true = 1)" 1 "$(got 'sipha.inst.listener[1]' sip-a)"
t_eq "sip-a HA link up (2)" 2 "$(got 'sipha.inst.peer.link[1]' sip-a)"
t_eq "sip-a peer hears it (true = 1)" 1 "$(got 'sipha.inst.peer.hearsus[1]' sip-a)"
t_eq "sip-a backoff factor 1" 1 "$(got 'sipha.inst.backoff[1]' sip-a)"
t_summary
