#!/usr/bin/env bash
# Configuration: loaded from an http:// URL; SIGHUP applies a changed file; an invalid
# file is refused at start (file, line, element; non-zero exit) and on SIGHUP (the
# running configuration stays).
source "$(dirname "$0")/lib.sh"
t_setup
t_start_snmpd || exit 1
P=SIPHA-MIB
t_instance_conf 1 sip-a primary

# Invalid at start: exit status and message.
sed 's/priority="199"/priority="high"/' "$T/inst-1.xml" > "$T/bad.xml"
out=$("$BUILD/sipha-agent" -t -c "$T/bad.xml" 2>&1); rc=$?
t_check "invalid file: non-zero exit" test "$rc" -ne 0
t_check "invalid file: names file, line and element" grep -Eq "bad.xml:[0-9]+: element <instance>" <<<"$out"
out=$("$BUILD/sipha-agent" -t -c "$T/inst-1.xml" 2>&1)
t_check "valid file: -t says OK" grep -q "configuration OK" <<<"$out"

# Served over HTTP from loopback.
HTTP_PORT=$(t_free_port tcp)
(cd "$T" && exec python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1) > "$T/http.log" 2>&1 &
T_PIDS+=("$!")
t_wait 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT"
"$BUILD/sipha-agent" -f -c "http://127.0.0.1:$HTTP_PORT/inst-1.xml" >> "$T/agent-1.log" 2>&1 &
AGENT_PID_1=$!; T_PIDS+=("$AGENT_PID_1")
t_check "agent starts from an http:// URL" t_wait 10 t_has "$P::siphaInstName.1"
t_eq "priority from the served file" 199 "$(t_get_v2 "$P::siphaInstPriority.1")"

# SIGHUP with a changed file: applied.
sed -i 's/priority="199"/priority="150"/; s/name="sip-a"/name="sip-a2"/' "$T/inst-1.xml"
kill -HUP "$AGENT_PID_1"
t_check "reload applies the new priority" t_wait 5 bash -c "[ \"\$(snmpget -v2c -c $COMMUNITY ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaInstPriority.1)\" = 150 ]"
t_eq "reload applies the new name" sip-a2 "$(t_get_v2 "$P::siphaInstName.1")"

# SIGHUP with an invalid file: refused, old values kept, agent alive.
cp "$T/bad.xml" "$T/inst-1.xml"
kill -HUP "$AGENT_PID_1"
t_check "invalid reload is logged with file and line" t_wait 5 grep -q "reload failed, old configuration kept: .*inst-1.xml:[0-9]*: element <instance>" "$T/agent-1.log"
t_eq "priority kept" 150 "$(t_get_v2 "$P::siphaInstPriority.1")"
t_check "agent alive" kill -0 "$AGENT_PID_1"

# The server is gone: reload fails cleanly, the agent keeps running.
kill "${T_PIDS[-2]}" 2>/dev/null
kill -HUP "$AGENT_PID_1"
t_check "unreachable URL on reload: logged" t_wait 15 bash -c "grep -c 'reload failed' '$T/agent-1.log' | grep -q 2"
t_check "agent still answers" t_has "$P::siphaInstName.1"
t_summary
