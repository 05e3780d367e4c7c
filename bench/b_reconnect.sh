#!/usr/bin/env bash
# Benchmark 7 — master snmpd restart: rows back, no notification lost.
#
# A pair on loopback with one master each: instance 1 under master m1, instance 2
# under m2; the HA link between the agents on two loopback ports. Each run:
#   1. the backup's master is stopped (SIGTERM);
#   2. the primary's agent is killed (kill -9): the backup misses its heartbeats on
#      the HA link (UDP on loopback), takes over, and raises siphaPeerLost,
#      siphaRoleChange and siphaSwitchover while its own master is down — they wait
#      in the agent's queue;
#   3. the backup's master is started again: the time from its start to the agent's
#      rows answering through it (siphaInstName.INDEX) is the re-registration time;
#   4. the three notifications must then reach the trap receiver (a loopback port
#      per master, time-stamped by trap_receiver.py); any missing counts as lost.
# The killed agent is then restarted (it comes back as backup), so the roles swap
# every run.
source "$(dirname "$0")/common.sh"
b_setup

declare -A PORT SIPP LINK
TPORT1=$(b_free_port) TPORT2=$(b_free_port)
TPORT=("" "$TPORT1" "$TPORT2")
TRAPS="$T/traps.log"
b_start_trap_receiver "$TRAPS" "127.0.0.1:$TPORT1" "127.0.0.1:$TPORT2" || { echo "trap receiver did not start"; exit 1; }
b_peer_key
for i in 1 2; do
  PORT[$i]=$(b_free_port); SIPP[$i]=$(b_free_port); LINK[$i]=$(b_free_port)
  b_snmpd_conf "$T/m$i.conf" "$T/agentx-$i.sock" "udp:127.0.0.1:${PORT[$i]}" "udp:127.0.0.1:${TPORT[$i]}"
done
b_start_responder sip "127.0.0.1:${SIPP[1]}" "127.0.0.1:${SIPP[2]}"

pair_conf() { # INDEX NAME ROLE PEER-INDEX PEER-NAME
  {
    b_xml_head "$1" "$2" "$3" "$T/agentx-$1.sock" 127.0.0.1 "${SIPP[$1]}"
    cat <<XML
  <notifications queue-limit="1000"/>
  <peer name="$5" index="$4" address="127.0.0.1:${LINK[$4]}" bind="127.0.0.1:${LINK[$1]}"
        key-file="$T/halink.key"/>
</sipha>
XML
  } > "$T/agent$1.xml"
}
pair_conf 1 sip-a primary 2 sip-b
pair_conf 2 sip-b backup 1 sip-a
for i in 1 2; do b_start_snmpd "m$i" || exit 1; b_start_agent "agent$i"; done

tgt() { echo "udp:127.0.0.1:${PORT[$1]}"; }
col() { b_get "$(tgt "$1")" "$INST_TABLE.$2.$1"; }
settled() { # P: P primary, the other backup, both running with the peer link up
  local o=$((3 - $1))
  [ "$(col "$1" 3)/$(col "$1" 4)/$(col "$1" 24)" = "2/4/2" ] &&
    [ "$(col "$o" 3)/$(col "$o" 4)/$(col "$o" 24)" = "3/4/2" ]
}
wait_settled() {
  if b_wait 15 settled "$1"; then sleep 0.4; return 0; fi
  echo "  pair did not settle with $1 primary"
  return 1
}
ev() { python3 "$ROOT/bench/evtime.py" "$@"; }
switchovers() { grep -c "00-52102" "$T/agent$1.log"; }
more_switchovers() { [ "$(switchovers "$1")" -gt "$2" ]; } # INDEX COUNT-BEFORE

wait_settled 1 || { tail -5 "$T"/agent*.log; exit 1; }
N=$(b_reps 3 7)
echo "[7] master snmpd restart: $N runs"
p=1 reg="" lost="" late=""
for r in $(seq "$N"); do
  k=$((3 - p))
  pidvar=SNMPD_PID_m$k; mk=${!pidvar}
  pidvar=AGENT_PID_agent$p; victim=${!pidvar}
  { kill "$mk"; wait "$mk"; } 2>/dev/null
  before=$(switchovers "$k")
  tk=$EPOCHREALTIME
  { kill -9 "$victim"; wait "$victim"; } 2>/dev/null
  b_wait 5 more_switchovers "$k" "$before" ||
    echo "  run $r: instance $k did not log a switchover while its master was down"
  t0=$EPOCHREALTIME
  b_start_snmpd "m$k" || break
  if b_wait 10 b_answers "$(tgt "$k")" "$INST_TABLE.2.$k"; then
    t1=$EPOCHREALTIME
    reg+=" $(b_calc %.1f "($t1 - $t0) * 1000")"
  else echo "  run $r: rows of instance $k not back within 10 s"; fi
  missing=0 last=$t0
  for n in 15 1 3; do # siphaPeerLost, siphaRoleChange, siphaSwitchover
    if tt=$(ev --wait 5 trap "$TRAPS" "$tk" "${NOTIF#.}.$n" "$k"); then
      last=$(b_calc %.6f "($tt > $last) ? $tt : $last")
    else missing=$((missing + 1)); echo "  run $r: notification .$n of instance $k never arrived"; fi
  done
  dropped=$(col "$k" 39)
  [ "${dropped:-0}" = 0 ] || echo "  run $r: instance $k counts $dropped dropped notifications"
  lost+=" $((missing + ${dropped:-0}))"
  late+=" $(b_calc %.1f "($last - $t0) * 1000")"
  b_start_agent "agent$p"
  wait_settled "$k" || break
  p=$k
done
b_record reconnect_reg "master snmpd restart → agent rows answer again" ms "<=" 2000 \
  "re-registered within 2 s" "$reg" "from snmpd's start; AgentX ping-interval 1 s"
b_record reconnect_lost "notifications lost across the master restart" count "max<=" 0 \
  "none lost (every run)" "$lost" "3 raised per run while the master was down; missing + siphaInstNotifsDropped"
b_record reconnect_late "master restart → last queued notification at the receiver" ms "" "" "" "$late"
