#!/usr/bin/env bash
# The pair's contacts in etcd with <sip-server kind="kamailio">: two agents, each beside
# a Kamailio stand-in (fake_kamailio.py: its JSON-RPC and evapi, the location table a
# file), one etcd member on loopback. The primary's Kamailio holds 20 registrations.
#   - the primary reads them from its Kamailio and writes them into etcd;
#   - the issue's case: the backup stopped (SIGTERM), its Kamailio's table lost (a
#     restart), the primary killed (kill -9), the backup started alone: the contacts it
#     reads from etcd go into its Kamailio (ul.add), each once, as after an HA-link
#     copy; once it leads (after the dead holder's lease), its Kamailio's table is read
#     back and each contact is its own (origin local), exactly once.
source "$(dirname "$0")/lib.sh"
NAME=$(basename "$0" .sh)
for tool in etcd sipp curl python3; do
  command -v "$tool" >/dev/null || { echo "FAIL  $NAME: '$tool' is missing (make deps)"; exit 1; }
done
t_setup
t_start_snmpd || exit 1
t_start_trapd || exit 1
P=SIPHA-MIB
DIR=/sipha/pair-1-2/contacts/
N=20

# ---- one etcd member on loopback
t_start_etcd
etcd_count() {
  local from end
  from=$(printf %s "$DIR" | base64 -w0)
  end=$(printf %s "${DIR%/}0" | base64 -w0)
  curl -sf -m 2 -X POST "$ETCD_URL/v3/kv/range" \
       -d "{\"key\":\"$from\",\"range_end\":\"$end\",\"count_only\":true}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("count", "0"))'
}
etcd_count_is() { [ "$(etcd_count)" = "$1" ]; }
t_wait 20 etcd_count || { echo "FAIL  $NAME: etcd did not start:"; tail "$T/etcd.log"; exit 1; }

# ---- a Kamailio stand-in per instance: K1 holds the registrations, K2 none
for i in 1 2; do
  mkdir -p "$T/k$i"
  echo ok > "$T/k$i/mode"
  : > "$T/k$i/hints"
  : > "$T/k$i/contacts"
  eval "RPORT_$i=$(t_free_port tcp) EPORT_$i=$(t_free_port tcp)"
done
for i in $(seq -w 1 $N); do echo "u$i sip:u$i@10.0.0.$((10#$i)):5060 3600"; done > "$T/k1/contacts"
start_fake() {  # INDEX
  local r="RPORT_$1" e="EPORT_$1"
  python3 "$ROOT/tests/agent/fake_kamailio.py" rpc "${!r}" "$T/k$1" 2>>"$T/fake-$1.log" &
  T_PIDS+=("$!")
  python3 "$ROOT/tests/agent/fake_kamailio.py" evapi "${!e}" "$T/k$1" 2>>"$T/fake-$1.log" &
  T_PIDS+=("$!")
  t_wait 5 bash -c "ss -Hltn 'sport = :${!r}' | grep -q . && ss -Hltn 'sport = :${!e}' | grep -q ."
}
if ! start_fake 1 || ! start_fake 2; then echo "FAIL  $NAME: the Kamailio stand-ins did not start"; exit 1; fi

# ---- the pair
t_peer_key
t_sip_peer 5061 && t_sip_peer 5062 || exit 1
ARBITER="<arbiter kind=\"etcd\" endpoints=\"$ETCD_URL\"/>"
kam() {  # INDEX
  local r="RPORT_$1" e="EPORT_$1"
  echo "<sip-server kind=\"kamailio\" rpc=\"http://127.0.0.1:${!r}/RPC\" events=\"127.0.0.1:${!e}\" reconcile=\"3600\"/>"
}
T_CONF_CONTACT="" t_pair_conf 1 sip-a primary 2 sip-b "$ARBITER
  $(kam 1)"
T_CONF_CONTACT="" t_pair_conf 2 sip-b backup 1 sip-a "$ARBITER
  $(kam 2)"
sed -i 's/sip-pass-check="true"/sip-pass-check="false"/' "$T/inst-1.xml" "$T/inst-2.xml"
t_check "agent 1 registers" t_start_agent 1
t_check "agent 2 registers" t_start_agent 2

# every_once INDEX ORIGIN: each of the N registrations exactly once, of that origin
every_once() {
  local got want
  got=$(t_contacts "$1" | sort) || return 1
  want=$(for i in $(seq -w 1 $N); do echo "u$i sip:u$i@10.0.0.$((10#$i)):5060 $2"; done | sort)
  [ "$got" = "$want" ]
}
# kam_once INDEX: that Kamailio's table holds each of the N once, and nothing else
kam_once() {
  local got want
  got=$(awk '{ print $1, $2 }' "$T/k$1/contacts" | sort)
  want=$(for i in $(seq -w 1 $N); do echo "u$i sip:u$i@10.0.0.$((10#$i)):5060"; done | sort)
  [ "$got" = "$want" ]
}

t_check "pair settles: 1 primary, 2 backup" t_wait 15 t_roles_are primary/backup
t_check "the primary has its Kamailio's $N registrations" t_wait 10 every_once 1 local
t_check "the primary wrote them into etcd" t_wait 5 etcd_count_is $N
t_check "the backup's Kamailio has them (HA link)" t_wait 10 kam_once 2

# ---- the issue's case, with Kamailio: backup stopped, its Kamailio emptied, primary
# killed, backup started alone
kill -TERM "$AGENT_PID_2"
t_check "the backup stops" t_wait 6 bash -c "! kill -0 $AGENT_PID_2 2>/dev/null"
: > "$T/k2/contacts"   # its Kamailio restarted: the location table is in memory
kill -9 "$AGENT_PID_1"
adds0=$(grep -c '^ul.add$' "$T/k2/requests" 2>/dev/null || true)
t0=$(date +%s%N)
t_check "agent 2 restarts alone" t_start_agent 2
if t_wait 10 kam_once 2; then
  t_pass "the contacts read from etcd are in the backup's Kamailio, each once ($(( ($(date +%s%N) - t0) / 1000000 )) ms after its start)"
else t_fail "the backup's Kamailio after a start alone: $(wc -l < "$T/k2/contacts") lines"; fi
adds=$(( $(grep -c '^ul.add$' "$T/k2/requests") - adds0 ))
if [ "$adds" -ge $N ] && [ "$adds" -le $((3 * N)) ]; then t_pass "written with ul.add ($adds calls)"
else t_fail "written with ul.add: $adds calls for $N contacts"; fi
t_check "agent 2 logged what it learnt" grep -q "etcd contacts: $N learnt from $DIR" "$T/agent-2.log"
t_check "it leads once the dead holder's lease has ended" t_wait 10 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv -r 0 -t 1 udp:127.0.0.1:$SNMP_PORT $P::siphaInstRole.2)\" = primary ]"
t_check "as primary each contact is its own, once (read back from its Kamailio)" t_wait 10 every_once 2 local
t_check "its Kamailio still holds each once" kam_once 2
t_check "etcd holds the $N" t_wait 5 etcd_count_is $N
t_summary
