#!/usr/bin/env bash
# Two sipha-agents made one pair over the HA link (single-host HA: one snmpd, the
# link is SNMPv3 authPriv to that snmpd): coordinated switchover from either side,
# peer loss (kill -9 of the primary), both-primary resolution, contact sync.
source "$(dirname "$0")/lib.sh"
t_setup
t_start_trapd || exit 1
t_start_snmpd || exit 1
P=SIPHA-MIB
t_peer_key
t_sip_peer 5061 && t_sip_peer 5062 || exit 1  # each instance's own SIP listener
# Instance 1: a contact that outlives the test (synced to the backup) and one that
# expires after 4 s (gone on both sides).
t_pair_conf 1 sip-a primary 2 sip-b '<contact aor="sip:long1@example.com" uri="sip:long1@127.0.0.1:6001" expires="3600"/>
  <contact aor="sip:short1@example.com" uri="sip:short1@127.0.0.1:6000" expires="4"/>'
t_pair_conf 2 sip-b backup 1 sip-a
t_check "agent 1 registers" t_start_agent 1
t_check "agent 2 registers" t_start_agent 2


t_check "pair settles: 1 primary, 2 backup" t_wait 10 t_roles_are primary/backup
t_eq "peer link seen up by 1" up "$(t_get_v2 "$P::siphaInstPeerLinkState.1")"
t_eq "peer link seen up by 2" up "$(t_get_v2 "$P::siphaInstPeerLinkState.2")"

# Coordinated switchover asked on the primary.
start=$(date +%s%N)
t_check "switchover SET on the primary" t_set_v3 "$P::siphaInstAdminCommand.1" i switchover
if t_wait 5 t_roles_are backup/primary; then
  t_pass "switchover from the primary: 2 primary after $(( ($(date +%s%N) - start) / 1000000 )) ms"
else t_fail "switchover from the primary (roles $(t_roles))"; fi
t_check "admin result success on 1" t_wait 3 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaInstAdminResult.1)\" = success ]"
sleep 0.6
# Coordinated switchover asked on the backup (now instance 1).
start=$(date +%s%N)
t_check "switchover SET on the backup" t_set_v3 "$P::siphaInstAdminCommand.1" i switchover
if t_wait 5 t_roles_are primary/backup; then
  t_pass "switchover from the backup: 1 primary after $(( ($(date +%s%N) - start) / 1000000 )) ms"
else t_fail "switchover from the backup (roles $(t_roles))"; fi
same_epoch() { [ "$(t_get_v2 "$P::siphaInstEpoch.1")" = "$(t_get_v2 "$P::siphaInstEpoch.2")" ]; }
t_check "backup follows the primary's epoch" t_wait 3 same_epoch
t_check "exactly one switchover trap per role change" test "$(t_trap_count "$P::siphaSwitchover")" -ge 4

# Contacts: the backup (2) holds the primary's contacts as synced rows.
synced() { snmpwalk -v2c -c "$COMMUNITY" "${MIBOPTS[@]}" -Oqs "udp:127.0.0.1:$SNMP_PORT" "$P::siphaContactOrigin" | grep -c "^siphaContactOrigin.$1\..* synced"; }
t_check "backup has the primary's contacts (synced)" t_wait 5 bash -c "[ \$(snmpwalk -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqs udp:127.0.0.1:$SNMP_PORT $P::siphaContactAor | grep -c '^siphaContactAor.2\..*long1@') -ge 1 ]"
t_check "synced origin on the backup" test "$(synced 2)" -ge 1
t_check "short-lived contact expires on both sides" t_wait 8 bash -c "! snmpwalk -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqs udp:127.0.0.1:$SNMP_PORT $P::siphaContactAor | grep -q short1@"

# Peer loss: kill -9 of the primary's agent.
start=$(date +%s%N)
kill -9 "$AGENT_PID_1"
if t_wait 5 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaInstRole.2)\" = primary ]"; then
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ "$ms" -le 2500 ]; then t_pass "kill -9 of the primary: backup primary after $ms ms"; else t_fail "backup took over only after $ms ms"; fi
else t_fail "backup took over after kill -9"; fi
t_check "peerLost notification" t_wait 3 grep -q "$P::siphaPeerLost" "$T/traps.log"
# The killed instance comes back and defers to the primary.
t_check "agent 1 restarts" t_start_agent 1
t_check "restarted instance becomes backup" t_wait 6 t_roles_are backup/primary

# Both primary: freeze the primary's agent (its rows stop answering) until the
# backup takes over, then let it run again: the pair must resolve to one primary.
kill -STOP "$AGENT_PID_2"
t_check "frozen primary: the other takes over" t_wait 8 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv -t 3 udp:127.0.0.1:$SNMP_PORT $P::siphaInstRole.1)\" = primary ]"
kill -CONT "$AGENT_PID_2"
# shellcheck disable=SC2016 # the single-quoted parts are for the inner bash
t_check "both-primary resolved to exactly one primary" t_wait 8 bash -c '
  r=$(snmpget -v2c -c '"$COMMUNITY ${MIBOPTS[*]}"' -Oqv udp:127.0.0.1:'"$SNMP_PORT"' '"$P"'::siphaInstRole.1 '"$P"'::siphaInstRole.2 | tr "\n" /)
  [ "$r" = "primary/backup/" ] || [ "$r" = "backup/primary/" ]'
t_summary
