#!/usr/bin/env bash
# Two sipha-agent instances under one snmpd: one walk shows both, rows in correct
# lexicographic order, and GETNEXT/GETBULK cross from one agent's rows to the other's.
source "$(dirname "$0")/lib.sh"
t_setup
t_start_snmpd || exit 1
t_instance_conf 1 sip-a primary
t_instance_conf 2 sip-b backup
t_check "agent 1 registers" t_start_agent 1
t_check "agent 2 registers" t_start_agent 2

t_eq "instance 1 name" 'sip-a' "$(t_get_v2 SIPHA-MIB::siphaInstName.1)"
t_eq "instance 2 name" 'sip-b' "$(t_get_v2 SIPHA-MIB::siphaInstName.2)"
t_eq "instance 1 role" primary "$(t_get_v2 SIPHA-MIB::siphaInstRole.1)"
t_eq "instance 2 role" backup "$(t_get_v2 SIPHA-MIB::siphaInstRole.2)"
t_check "GET of a missing instance: noSuch*" grep -q "^No Such" <<<"$(t_get_v2 SIPHA-MIB::siphaInstName.3)"

t_walk_v2 -On > "$T/walk.txt"
t_bulk() { snmpbulkwalk -v2c -c "$COMMUNITY" -Cr7 -r 0 -t 2 "${MIBOPTS[@]}" -On "udp:127.0.0.1:$SNMP_PORT" SIPHA-MIB::siphaMIB; }
t_bulk > "$T/bulk.txt"
in_order() {
  python3 - "$1" <<'PY'
import sys
oids = [tuple(int(x) for x in l.split(' ', 1)[0].strip('.').split('.')) for l in open(sys.argv[1]) if l.startswith('.') and 'No more variables' not in l]
sys.exit(0 if len(oids) > 50 and oids == sorted(oids) and len(set(oids)) == len(oids) else 1)
PY
}
t_check "walk is in strict lexicographic order" in_order "$T/walk.txt"
t_check "bulkwalk is in strict lexicographic order" in_order "$T/bulk.txt"
t_eq "walk and bulkwalk agree" "$(md5sum < "$T/walk.txt")" "$(md5sum < "$T/bulk.txt")"
# Column-major walk: the name column of instance 1 is followed by that of instance 2,
# then the role column of instance 1 — the agents interleave.
base=.1.3.6.1.4.1.32473.1.1.1.1
order=$(grep -E "^$base\.(2|3)\.[12] " "$T/walk.txt" | cut -d' ' -f1 | tr '\n' ' ')
t_eq "instances interleave column by column" "$base.2.1 $base.2.2 $base.3.1 $base.3.2 " "$order"
t_check "both agents' DN rows are walked" grep -q "^.1.3.6.1.4.1.32473.1.1.4.1.2.2.1 " "$T/walk.txt"
t_check "contact rows are walked" grep -q "^.1.3.6.1.4.1.32473.1.1.5.1.2.1.1 " "$T/walk.txt"
t_check "event rows are walked" grep -q "^.1.3.6.1.4.1.32473.1.1.6.1.2.1.1 " "$T/walk.txt"
# GETNEXT from the last column value of instance 1 lands on instance 2.
nxt=$(snmpgetnext -v2c -c "$COMMUNITY" "${MIBOPTS[@]}" -On "udp:127.0.0.1:$SNMP_PORT" "$base.2.1" | cut -d' ' -f1)
t_eq "GETNEXT crosses from agent 1 to agent 2" "$base.2.2" "$nxt"
t_summary
