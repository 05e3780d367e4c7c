#!/usr/bin/env bash
# The pair's contacts in etcd (<arbiter kind="etcd">, contacts on by default): two
# sipha-agents in generic mode beside one etcd member on loopback (started here, its
# own data directory); the primary's contacts come from <contact> elements: 30 that
# outlive the test and one that expires after 8 s.
#   - the primary writes them under /sipha/pair-1-2/contacts/ ("<aor> <uri>", a JSON
#     value with the unix expiry, each on a lease);
#   - the issue's case: the backup stopped (SIGTERM), then the primary killed (kill -9),
#     then the backup started alone after the short contact expired: its
#     siphaContactTable holds each of the 30 live contacts exactly once (synced), not
#     the expired one; it becomes primary once the dead holder's lease ends, keeps them,
#     and leaves them in etcd;
#   - the old primary back: one primary, and once the HA link has synced, no contact
#     twice in either instance's table.
source "$(dirname "$0")/lib.sh"
NAME=$(basename "$0" .sh)
for tool in etcd sipp curl python3; do
  command -v "$tool" >/dev/null || { echo "FAIL  $NAME: '$tool' is missing (make deps)"; exit 1; }
done
t_setup
t_start_snmpd || exit 1
t_start_trapd || exit 1
P=SIPHA-MIB
DIR=/sipha/pair-1-2/contacts/  # the default key's parent
N=30

# ---- one etcd member on loopback
t_start_etcd

# etcd_contacts: "<aor> <uri>" of every key under $DIR, one a line, through the JSON
# gateway (paged by 1000: more than this test writes)
etcd_contacts() {
  local from end
  from=$(printf %s "$DIR" | base64 -w0)
  end=$(printf %s "${DIR%/}0" | base64 -w0)
  curl -sf -m 2 -X POST "$ETCD_URL/v3/kv/range" \
       -d "{\"key\":\"$from\",\"range_end\":\"$end\",\"limit\":\"1000\"}" |
    python3 -c 'import base64, json, sys
d = sys.argv[1]
for kv in json.load(sys.stdin).get("kvs", []):
    print(base64.b64decode(kv["key"]).decode()[len(d):])' "$DIR"
}
# etcd_value AOR URI: the key's value
etcd_value() {
  local key
  key=$(printf '%s%s %s' "$DIR" "$1" "$2" | base64 -w0)
  curl -sf -m 2 -X POST "$ETCD_URL/v3/kv/range" -d "{\"key\":\"$key\"}" |
    python3 -c 'import base64, json, sys
print(base64.b64decode(json.load(sys.stdin)["kvs"][0]["value"]).decode())'
}
etcd_count_is() { [ "$(etcd_contacts | wc -l)" -eq "$1" ]; }
# etcd_long_once: each of the N long contacts once in etcd (the short one may linger
# until its lease ends)
etcd_long_once() { [ "$(etcd_contacts | grep '^sip:c' | sort -u | wc -l)" -eq $N ] &&
                   [ "$(etcd_contacts | grep -c '^sip:c')" -eq $N ]; }
t_wait 20 etcd_contacts || { echo "FAIL  $NAME: etcd did not start:"; tail "$T/etcd.log"; exit 1; }

# ---- the pair: instance 1 has the contacts, instance 2 none
t_peer_key
t_sip_peer 5061 && t_sip_peer 5062 || exit 1
ARBITER="<arbiter kind=\"etcd\" endpoints=\"$ETCD_URL\"/>"
CONTACTS=""
for i in $(seq -w 1 $N); do
  CONTACTS+="<contact aor=\"sip:c$i@example.com\" uri=\"sip:c$i@10.0.0.$((10#$i)):5060\" expires=\"3600\"/>
  "
done
CONTACTS+="<contact aor=\"sip:short@example.com\" uri=\"sip:short@10.0.1.1:5060\" expires=\"8\"/>"
T_CONF_CONTACT="" t_pair_conf 1 sip-a primary 2 sip-b "$ARBITER
  $CONTACTS"
T_CONF_CONTACT="" t_pair_conf 2 sip-b backup 1 sip-a "$ARBITER"
sed -i 's/sip-pass-check="true"/sip-pass-check="false"/' "$T/inst-1.xml" "$T/inst-2.xml"
started=$SECONDS
t_check "agent 1 registers" t_start_agent 1
t_check "agent 2 registers" t_start_agent 2

rows_are() { [ "$(t_contacts "$1" | wc -l)" -eq "$2" ]; }
# long_rows_are INDEX COUNT: rows of the long contacts (sip:cNN) in that instance
long_rows_are() { [ "$(t_contacts "$1" | grep -c '^sip:c')" -eq "$2" ]; }
# no_twice INDEX: no (aor, uri) twice in that instance's table
no_twice() { [ -z "$(t_contacts "$1" | awk '{ print $1, $2 }' | sort | uniq -d)" ]; }
# every_once INDEX ORIGIN: each of the N long contacts exactly once, of that origin,
# and nothing else
every_once() {
  local got want
  got=$(t_contacts "$1" | sort) || return 1
  want=$(for i in $(seq -w 1 $N); do echo "sip:c$i@example.com sip:c$i@10.0.0.$((10#$i)):5060 $2"; done | sort)
  [ "$got" = "$want" ]
}

t_check "pair settles: 1 primary, 2 backup" t_wait 15 t_roles_are primary/backup
t_check "the primary wrote its $((N + 1)) contacts into etcd" t_wait 5 etcd_count_is $((N + 1))
v=$(etcd_value sip:c07@example.com sip:c07@10.0.0.7:5060)
exp=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["expires"])' "$v" 2>/dev/null)
now=$(date +%s)
if [ -n "$exp" ] && [ "$exp" -gt $((now + 3500)) ] && [ "$exp" -le $((now + 3600)) ]; then
  t_pass "a value holds the unix expiry ($v)"
else t_fail "a value holds the unix expiry (got '$v', now $now)"; fi
t_check "the backup has them over the HA link" t_wait 5 rows_are 2 $((N + 1))
t_check "agent 1 logged writing them" grep -q "etcd contacts: all written to $DIR" "$T/agent-1.log"

# ---- the issue's case: backup stopped, primary killed, backup started alone
kill -TERM "$AGENT_PID_2"
t_check "the backup stops" t_wait 6 bash -c "! kill -0 $AGENT_PID_2 2>/dev/null"
kill -9 "$AGENT_PID_1"
t_check "etcd still holds the dead primary's contacts" etcd_count_is $((N + 1))
# the short contact has expired by now (its key may live on with its lease)
while [ $((SECONDS - started)) -le 9 ]; do sleep 0.2; done
t0=$(date +%s%N)
t_check "agent 2 restarts alone" t_start_agent 2
if t_wait 10 every_once 2 synced; then
  t_pass "the backup started alone holds each of the $N live contacts once, synced ($(( ($(date +%s%N) - t0) / 1000000 )) ms after its start)"
else t_fail "the backup started alone: $(t_contacts 2 | wc -l) rows: $(t_contacts 2 | head -3 | tr '\n' ';')"; fi
no_short() { ! t_contacts "$1" | grep -q short; }
t_check "the expired one was not learnt" no_short 2
t_check "agent 2 logged what it learnt" grep -Eq "etcd contacts: $N learnt from $DIR \(0 held already, [01] expired" "$T/agent-2.log"
t_check "it leads once the dead holder's lease has ended" t_wait 10 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv -r 0 -t 1 udp:127.0.0.1:$SNMP_PORT $P::siphaInstRole.2)\" = primary ]"
t_check "as primary it wrote all (and swept)" t_wait 5 grep -q "etcd contacts: all written to $DIR" "$T/agent-2.log"
t_check "as primary it keeps each contact once" every_once 2 synced
t_check "etcd keeps the $N live contacts" t_wait 5 etcd_long_once

# ---- the old primary back: one primary, the HA link syncs, nothing twice
t_check "agent 1 restarts" t_start_agent 1
t_check "one primary again" t_wait 15 bash -c "r=\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv -r 0 -t 1 udp:127.0.0.1:$SNMP_PORT $P::siphaInstRole.1 $P::siphaInstRole.2 | sort | tr '\n' ' '); [ \"\$r\" = 'backup primary ' ]"
linked() { [ "$(t_get_v2 "$P::siphaInstPeerLinkState.1")" = up ] && [ "$(t_get_v2 "$P::siphaInstPeerLinkState.2")" = up ]; }
t_check "the HA link is up" t_wait 10 linked
sleep 2  # a full copy each way
t_check "no contact twice in instance 1's table" no_twice 1
t_check "no contact twice in instance 2's table" no_twice 2
t_check "instance 1 holds the $N long contacts" t_wait 5 long_rows_are 1 $N
t_check "instance 2 holds the $N long contacts" long_rows_are 2 $N
t_check "agent 1 read them from etcd, already held" grep -q "etcd contacts: 0 learnt from $DIR ($N held already" "$T/agent-1.log"
t_check "etcd holds each long contact once" etcd_long_once
t_summary
