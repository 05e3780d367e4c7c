#!/usr/bin/env bash
# Two sipha-agents with <arbiter kind="etcd"> beside one etcd member on loopback
# (started here, its own data directory): the primary is always the key's holder.
# Start (1 primary, holding the key with its epoch); etcd frozen past the lease (the
# primary keeps the role while its peer hears it, and takes the key again); a
# switchover SET (the key moves with the role); kill -9 of the primary (the backup
# leads once the dead holder's lease has ended, within TTL + 1 s, and holds the key);
# the killed agent back (it stays backup); a graceful stop of the primary (it releases
# the key, the peer leads at once, without waiting for the lease). Throughout, the
# roles are sampled every few tens of ms: two primaries in any sample fail the test.
source "$(dirname "$0")/lib.sh"
NAME=$(basename "$0" .sh)
for tool in etcd sipp curl python3; do
  command -v "$tool" >/dev/null || { echo "FAIL  $NAME: '$tool' is missing (make deps)"; exit 1; }
done
t_setup
t_start_snmpd || exit 1
t_start_trapd || exit 1
P=SIPHA-MIB
KEY=/sipha/pair-1-2/primary  # the default: the pair's two instance indexes
TTL_S=3                      # the default lease TTL

# ---- one etcd member on loopback
t_start_etcd

# key_value: the key's value ("" when absent), through etcdctl or the JSON gateway
key_value() {
  if command -v etcdctl >/dev/null; then
    ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" --command-timeout=2s get --print-value-only "$KEY"
    return
  fi
  curl -sf -m 2 -X POST "$ETCD_URL/v3/kv/range" -d "{\"key\":\"$(printf %s "$KEY" | base64 -w0)\"}" |
    python3 -c 'import base64, json, sys
kvs = json.load(sys.stdin).get("kvs") or [{}]
print(base64.b64decode(kvs[0].get("value", "")).decode())'
}
# The port opens before the member has elected itself: ready once a read answers.
t_wait 20 key_value || { echo "FAIL  $NAME: etcd did not start:"; tail "$T/etcd.log"; exit 1; }

# ---- the pair
t_peer_key
t_sip_peer 5061 && t_sip_peer 5062 || exit 1  # each instance's own SIP listener
ARBITER="<arbiter kind=\"etcd\" endpoints=\"$ETCD_URL\"/>"
t_pair_conf 1 sip-a primary 2 sip-b "$ARBITER"
t_pair_conf 2 sip-b backup 1 sip-a "$ARBITER"
# No traffic rule: nothing but the test may move the role (no SIP traffic flows here).
sed -i 's/sip-pass-check="true"/sip-pass-check="false"/' "$T/inst-1.xml" "$T/inst-2.xml"
t_check "agent 1 registers" t_start_agent 1
t_check "agent 2 registers" t_start_agent 2

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# holder_is NAME: the key names instance NAME, with that instance's epoch
holder_is() {
  local v; v=$(key_value) || return 1
  [ "${v% *}" = "$1" ]
}
epoch_of() { t_get_v2 "$P::siphaInstEpoch.$1"; }

# ---- the sampler: both roles in one GET, numeric (no MIB loading: a sample every
# 20-40 ms); each line "ms role1 role2" (2 = primary)
ROLE_OID=.1.3.6.1.4.1.32473.1.1.1.1.3
sampler() {
  while :; do
    local r
    r=$(snmpget -v2c -c "$COMMUNITY" -r 0 -t 1 -m '' -Oqv "udp:127.0.0.1:$SNMP_PORT" \
               "$ROLE_OID.1" "$ROLE_OID.2" 2>/dev/null | tr '\n' ' ')
    echo "$(( $(date +%s%N) / 1000000 )) $r" >> "$T/roles.log"
    sleep 0.01
  done
}
sampler &
SAMPLER_PID=$!
T_PIDS+=("$SAMPLER_PID")

# ---- start: agent 1 takes the key, then the role
t_check "pair settles: 1 primary, 2 backup" t_wait 15 t_roles_are primary/backup
t_check "the primary holds the key" t_wait 3 holder_is sip-a
t_eq "the key carries the primary's epoch" "sip-a $(epoch_of 1)" "$(key_value)"
# the hold in the MIB, on both instances
t_eq "MIB: arbiter kind" "etcd etcd" "$(t_get_v2 "$P::siphaInstArbiterKind.1") $(t_get_v2 "$P::siphaInstArbiterKind.2")"
t_eq "MIB: endpoint in use" "$ETCD_URL" "$(t_get_v2 "$P::siphaInstArbiterEndpoint.1" | tr -d '"')"
t_eq "MIB: the key held by 1, not by 2" "true false" \
  "$(t_get_v2 "$P::siphaInstArbiterLockHeld.1") $(t_get_v2 "$P::siphaInstArbiterLockHeld.2")"
holder_seen_by_2() { [ "$(t_get_v2 "$P::siphaInstArbiterHolder.2" | tr -d '"')" = "sip-a $(epoch_of 1)" ]; }
t_eq "MIB: the holder as 1 shows it" "sip-a $(epoch_of 1)" "$(t_get_v2 "$P::siphaInstArbiterHolder.1" | tr -d '"')"
t_check "MIB: the holder as 2 reads it" t_wait 3 holder_seen_by_2
t_eq "MIB: lease TTL" "3 seconds 3 seconds" "$(t_get_v2 "$P::siphaInstArbiterLeaseTtl.1") $(t_get_v2 "$P::siphaInstArbiterLeaseTtl.2")"
lease_hex=$(t_get_v2 "$P::siphaInstArbiterLeaseId.1" | tr -d '"')
t_check "MIB: a lease id, 16 hex digits ($lease_hex)" grep -Eq '^[0-9a-f]{16}$' <<<"$lease_hex"
if command -v etcdctl >/dev/null; then
  t_check "MIB: the lease is the key's" bash -c "ETCDCTL_API=3 etcdctl --endpoints=$ETCD_URL -w fields get $KEY | grep -qi '\"Lease\" : $((16#$lease_hex))'"
fi
t_eq "MIB: no loss yet" "0" "$(t_get_v2 "$P::siphaInstArbiterLockLosses.1")"

# ---- etcd frozen past the lease: the primary's hold lapses (not renewed in time) but,
# its peer hearing it, it keeps the role, nobody else leads, and it holds the key again
# once etcd is back
kill -STOP "$ETCD_PID"
sleep $(( TTL_S + 1 ))
t_check "etcd frozen: the primary's hold lapsed" grep -q "hold on key $KEY lost: lease not renewed" "$T/agent-1.log"
t_check "etcd frozen: roles unchanged" t_roles_are primary/backup
kill -CONT "$ETCD_PID"
t_check "etcd back: the primary holds the key again" t_wait 5 holder_is sip-a
t_check "etcd back: roles unchanged" t_roles_are primary/backup
t_check "MIB: the lapse counted as a loss" test "$(t_get_v2 "$P::siphaInstArbiterLockLosses.1")" -ge 1
t_check "MIB: the outage counted as a failure" test "$(t_get_v2 "$P::siphaInstArbiterFailures.1")" -ge 1
# the notifications name the member: one trap line holds every varbind
arbiter_trap() { grep "$1" "$T/traps.log" | grep -q "siphaInstArbiterEndpoint.1 = STRING: \"\\?$ETCD_URL"; }
t_check "siphaArbiterLost names the member" t_wait 5 arbiter_trap "siphaArbiterLost"
t_check "siphaArbiterFound names the member" t_wait 5 arbiter_trap "siphaArbiterFound"

# ---- switchover SET on the primary: the key moves with the role
start=$(date +%s%N)
t_check "switchover SET on the primary" t_set_v3 "$P::siphaInstAdminCommand.1" i switchover
if t_wait 5 t_roles_are backup/primary; then
  t_pass "switchover: 2 primary after $(ms_since "$start") ms"
else t_fail "switchover (roles $(t_roles))"; fi
t_check "the new primary holds the key" t_wait 3 holder_is sip-b
t_eq "the key carries the new primary's epoch" "sip-b $(epoch_of 2)" "$(key_value)"
sleep 1

# ---- kill -9 of the primary: its key outlives it by its lease, then 1 leads
start=$(date +%s%N)
kill -9 "$AGENT_PID_2"
limit=$(( (TTL_S + 1) * 1000 + 2000 ))  # TTL + 1 s, plus a margin for a loaded host
if t_wait $(( limit / 1000 + 1 )) bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv -r 0 -t 1 udp:127.0.0.1:$SNMP_PORT $P::siphaInstRole.1)\" = primary ]"; then
  ms=$(ms_since "$start")
  if [ "$ms" -le "$limit" ]; then t_pass "kill -9 of the primary: 1 primary after $ms ms (lease $TTL_S s)"
  else t_fail "kill -9 of the primary: 1 primary only after $ms ms (limit $limit)"; fi
  # the dead holder renewed at most TTL/4 before the kill: its lease ends >= 3/4 TTL later
  if [ "$ms" -ge $(( TTL_S * 1000 / 2 )) ]; then t_pass "the backup waited for the dead holder's lease ($ms ms)"
  else t_fail "the backup led after $ms ms, before the dead holder's lease could end"; fi
else t_fail "kill -9 of the primary: 1 never became primary"; fi
t_check "the survivor holds the key" t_wait 3 holder_is sip-a
t_eq "the key carries the survivor's epoch" "sip-a $(epoch_of 1)" "$(key_value)"

# ---- the killed agent comes back: the key is taken, it stays backup
t_check "agent 2 restarts" t_start_agent 2
t_check "restarted instance is backup" t_wait 10 t_roles_are primary/backup
sleep 1
t_check "still one primary, the holder" t_roles_are primary/backup
t_check "the key still names sip-a" holder_is sip-a

# ---- graceful stop of the primary: it releases the key, 2 leads without the lease's wait
start=$(date +%s%N)
kill -TERM "$AGENT_PID_1"
if t_wait 4 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv -r 0 -t 1 udp:127.0.0.1:$SNMP_PORT $P::siphaInstRole.2)\" = primary ]"; then
  ms=$(ms_since "$start")
  if [ "$ms" -lt 1500 ]; then t_pass "graceful stop: 2 primary after $ms ms (key released, no lease wait)"
  else t_fail "graceful stop: 2 primary only after $ms ms (the key was not released?)"; fi
else t_fail "graceful stop: 2 never became primary"; fi
t_check "the stopped agent released the key" grep -q "key $KEY released" "$T/agent-1.log"
t_check "the stopped agent exits" t_wait 6 bash -c "! kill -0 $AGENT_PID_1 2>/dev/null"
t_check "the new primary holds the key" t_wait 3 holder_is sip-b

# ---- never two primaries
kill "$SAMPLER_PID" 2>/dev/null
wait "$SAMPLER_PID" 2>/dev/null
samples=$(wc -l < "$T/roles.log")
both=$(awk '$2 == 2 && $3 == 2' "$T/roles.log" | wc -l)
t_check "the roles were sampled throughout ($samples samples)" test "$samples" -ge 200
if [ "$both" -eq 0 ]; then t_pass "never two primaries in $samples samples"
else t_fail "two primaries in $both of $samples samples: $(awk '$2 == 2 && $3 == 2' "$T/roles.log" | head -3 | tr '\n' ';')"; fi
t_summary
