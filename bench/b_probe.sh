#!/usr/bin/env bash
# Benchmark 8 — service DN probing: 10,000 DNs at one OPTIONS a second each.
#
# One sipha-agent (standalone, under a private snmpd on loopback) with 10,000
# <service-dn oos-check="1" oos-force="5"> all pointing at one SIP responder on
# loopback (sip_responder, C, batched) that answers every OPTIONS with 200 OK. After
# the agent has registered and 5 s of warm-up, the agent's CPU time (schedstat, all
# threads) is read over consecutive 3 s windows (30 s in all); CPU % is of one core.
# The responder's count gives the probes actually answered per second, and a walk
# of siphaServiceDnState at the end counts the DNs in service.
#
# When the agent does not keep up (under 90 % of the probes answered: e.g. stuck on
# its AgentX socket under the burst of 10,000 "DN in service" notifications), the
# CPU figure is not taken, and a second run measures the probing alone: the same
# agent with no master to connect to, so its notifications wait in its bounded
# queue instead of being sent.
source "$(dirname "$0")/common.sh"
b_setup

DNS=10000
SNMP_PORT=$(b_free_port) SIP_PORT=$(b_free_port) DN_PORT=$(b_free_port)
TARGET="udp:127.0.0.1:$SNMP_PORT"
b_snmpd_conf "$T/snmpd.conf" "$T/agentx.sock" "$TARGET" "udp:127.0.0.1:9"
b_start_snmpd snmpd || exit 1
b_start_responder sip "127.0.0.1:$SIP_PORT" "127.0.0.1:$DN_PORT"
# shellcheck disable=SC2154 # RESP_PID_sip is set by b_start_responder (common.sh, through eval)
answered() { kill -USR1 "$RESP_PID_sip"; sleep 0.05; awk '{print $2}' "$T/sip.stats"; }

# probe_conf NAME AGENTX-SOCKET
probe_conf() {
  {
    b_xml_head 1 "$1" primary "$2" 127.0.0.1 "$SIP_PORT"
    seq "$DNS" | awk -v p="$DN_PORT" '{printf "  <service-dn name=\"d%d\" uri=\"sip:d%d@127.0.0.1:%d\" oos-check=\"1\" oos-force=\"5\"/>\n", $1, $1, p}'
    echo "</sipha>"
  } > "$T/$1.xml"
}

# measure NAME: CPU % windows of agent NAME into CPU, the answered rate into RATE.
measure() {
  local pid t0 t1 now last a0 a1 tt0 tt1
  eval "pid=\$AGENT_PID_$1"
  CPU=""
  last=$(b_cpu_ns "$pid") a0=$(answered) tt0=$EPOCHREALTIME
  for _ in $(seq "$N"); do
    t0=$EPOCHREALTIME
    sleep "$W"
    t1=$EPOCHREALTIME
    now=$(b_cpu_ns "$pid")
    CPU+=" $(b_calc %.3f "($now - $last) / 1e9 / ($t1 - $t0) * 100")"
    last=$now
  done
  a1=$(answered) tt1=$EPOCHREALTIME
  RATE=$(b_calc %.0f "($a1 - $a0) / ($tt1 - $tt0)")
}

W=$(b_reps 2 3) N=$(b_reps 3 10)
probe_conf probe "$T/agentx.sock"
echo "[8] $DNS DNs probed every second: config $(stat -c %s "$T/probe.xml") bytes"
b_start_agent probe
b_wait 60 b_answers "$TARGET" "$DN_TABLE.1.2.1.$DNS" || { echo "agent did not register"; tail "$T/probe.log"; exit 1; }
sleep 5
measure probe
inservice=$(snmpbulkwalk -v2c -c "$RO_COMMUNITY" "${SNMP_CLIENT[@]}" -t 5 -Cr50 "$TARGET" "$DN_TABLE.1.6" 2>/dev/null | grep -c ' 2$')
note="${W} s windows; probes answered: $RATE/s; DNs in service at the end: $inservice of $DNS"
# The CPU figure means something only if the agent really probed: an agent that is
# stuck costs no CPU at all.
stuck=
if [ "$RATE" -lt $((DNS * 9 / 10)) ]; then
  # shellcheck disable=SC2154 # AGENT_PID_probe is set by b_start_agent (common.sh, through eval)
  stuck=$(cat "/proc/$AGENT_PID_probe/wchan" 2>/dev/null || echo exited)
  echo "  the agent probed at $RATE/s, not ~$DNS/s (kernel wait channel: $stuck): CPU not measured"
  note="not measured: the agent answered only $RATE probes/s (waiting in $stuck; log: $(grep -c 00-52106 "$T/probe.log") siphaServiceDnInService raised); $note"
  CPU=""
fi
b_record probe_cpu "$DNS DNs probed at 1/s each: agent CPU" "% of a core" "<" 5 "< 5 % of one core" "$CPU" "$note"
b_record probe_rate "probes answered per second (responder count)" "/s" ">=" $((DNS * 9 / 10)) \
  ">= $((DNS * 9 / 10))/s (the load really offered)" "$RATE"

if [ -n "$stuck" ]; then
  { kill -9 "$AGENT_PID_probe"; wait "$AGENT_PID_probe"; } 2>/dev/null
  echo "[8] again with no master (notifications queued, not sent): probing alone"
  probe_conf probe_nomaster "$T/no-master.sock"
  b_start_agent probe_nomaster
  b_wait 20 grep -q "probe\|started\|queued" "$T/probe_nomaster.log"
  sleep 8 # registration is not visible without a master: leave start-up and warm-up time
  measure probe_nomaster
  b_record probe_cpu_nomaster "$DNS DNs probed at 1/s each, agent without a master: CPU" "% of a core" \
    "<" 5 "< 5 % of one core" "$CPU" "${W} s windows; probes answered: $RATE/s; not the product's setup: isolates the probing cost"
fi
