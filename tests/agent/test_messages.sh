#!/usr/bin/env bash
# What an operator reads: --version; -t on the files a configuration names (one line
# per problem, non-zero exit); an agent that parses no MIB file at start whatever the
# MIB environment; role and status changes logged from -> to with their reason, the
# start and the options in words; a master restart without a refused registration;
# a run of identical lines collapsed; and the README's commands against a real snmpd
# without a warning line.
source "$(dirname "$0")/lib.sh"
t_setup
A="$BUILD/sipha-agent"
P=SIPHA-MIB

# --- --version, -V ---
want=$(cd "$ROOT" && { git describe --tags --match 'v[0-9]*' 2>/dev/null || cat VERSION; } | sed 's/^v//')
out=$("$A" --version 2>&1); rc=$?
t_eq "--version exits 0" 0 "$rc"
t_check "--version prints 'sipha-agent $want'" grep -q "^sipha-agent $want " <<<"$out"
t_eq "-V prints the same" "$out" "$("$A" -V 2>&1)"

# --- -t: the files a configuration names ---
t_start_snmpd || exit 1
t_peer_key
t_pair_conf 1 sip-a primary 2 sip-b ""
# t_check_t DESCRIPTION CONFIG [EXPECTED-LINE-PART...]: -t exits non-zero with one
# line per expected part (each containing it) and the summary; none: exit 0, OK.
t_check_t() {
  local d=$1 conf=$2; shift 2
  local out rc n=$#
  out=$("${T_AS[@]}" "$A" -t -c "$conf" 2>&1); rc=$?
  if [ "$n" -eq 0 ]; then
    if [ "$rc" -eq 0 ] && grep -q "configuration OK" <<<"$out"; then t_pass "$d"; else t_fail "$d: rc $rc: $out"; fi
    return
  fi
  local part bad=""
  for part in "$@"; do grep -qF -- "$part" <<<"$out" || bad="missing '$part'"; done
  local problems
  problems=$(grep -c "^sipha-agent: $conf: <" <<<"$out")
  local summary="the configuration is valid, but $n problem"
  if [ "$rc" -ne 0 ] && [ -z "$bad" ] && [ "$problems" -eq "$n" ] && grep -qF "$summary" <<<"$out" &&
     [ "$(wc -l <<<"$out")" -eq $((n + 1)) ]; then
    t_pass "$d"
  else
    t_fail "$d: rc $rc, $problems problem lines, $bad: $out"
  fi
}
T_AS=()
K="$T/halink.key"
C="$T/inst-1.xml"
t_check_t "-t: every file right: OK" "$C"
mv "$K" "$K.away"
t_check_t "-t: missing key file: one line" "$C" "<peer key-file>: $K: No such file or directory"
mv "$K.away" "$K"
chmod 644 "$K"
t_check_t "-t: world-readable key file: one line" "$C" \
  "<peer key-file>: $K: mode 0644, must not be readable by group or others (chmod 600)"
chmod 600 "$K"
chown nobody "$K"
t_check_t "-t: key file of another user: one line" "$C" \
  "<peer key-file>: $K: owned by nobody, must belong to root or to the user running the agent (root)"
chmod 604 "$K"
t_check_t "-t: both at once: two lines" "$C" "mode 0604" "owned by nobody"
chown root "$K"; chmod 600 "$K"
printf '#!/bin/sh\nexit 0\n' > "$T/vip-up"; chmod 644 "$T/vip-up"
sed "s|up-script=\"/bin/true\"|up-script=\"$T/vip-up\"|" "$C" > "$T/script.xml"
t_check_t "-t: VIP script not executable: one line" "$T/script.xml" \
  "<vip 192.0.2.101 up-script>: $T/vip-up: not executable by this user (mode 0644)"

# As the agent's user would run it (an unprivileged user): an unreadable key file, a
# state directory it cannot write, an AgentX socket in a directory it cannot enter.
PUB=$(mktemp -d /tmp/sipha-msg.XXXXXX)
chmod 755 "$PUB"
trap 't_cleanup; rm -rf "$PUB"' EXIT
cp "$K" "$PUB/halink.key"; chmod 600 "$PUB/halink.key"        # root's, 0600
install -d -m 0700 "$PUB/state"                               # root's
sed -e "s|key-file=\"$K\"|key-file=\"$PUB/halink.key\"|" -e "s|<state dir=\"$T/state\"/>|<state dir=\"$PUB/state\"/>|" \
  "$C" > "$PUB/inst-1.xml"
chmod 644 "$PUB/inst-1.xml"
T_AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
t_check_t "-t as user nobody: unreadable key, state dir, AgentX socket: three lines" "$PUB/inst-1.xml" \
  "<peer key-file>: $PUB/halink.key: Permission denied" \
  "<state dir>: $PUB/state: not writable by this user (mode 0700)" \
  "<agentx socket>: $AGENTX: Permission denied: the agent's user must be able to search every directory"
T_AS=()
t_check_t "-t as root on the same file: OK" "$PUB/inst-1.xml"

# --- the log of a start, whatever the MIB environment ---
t_sip_peer 5061 || exit 1
t_instance_conf 1 sip-a primary
# MIBS/MIBDIRS as an operator's shell may have them (lib.sh empties them for the
# tools): unset, and "load everything".
env -u MIBS -u MIBDIRS -u MIBFILES "$A" -f -c "$T/inst-1.xml" > "$T/agent-1.log" 2>&1 &
AGENT_PID_1=$!; T_PIDS+=("$AGENT_PID_1")
t_check "agent registers" t_wait 10 t_has "$P::siphaInstName.1"
t_check "start: status running" t_wait 5 grep -q "siphaStatusChange" "$T/agent-1.log"
mibnoise='Cannot find module|MIB search path|Did not find|Unlinked OID|Undefined identifier|Cannot adopt OID|Bad operator|Unknown token'
t_check "start, MIBS unset: no MIB parsing in the log" bash -c "! grep -Eq '$mibnoise' '$T/agent-1.log'"
t_instance_conf 2 sip-b primary
MIBS=ALL MIBDIRS="/usr/share/snmp/mibs:$ROOT/build/ietf-mibs" "$A" -f -c "$T/inst-2.xml" > "$T/agent-2.log" 2>&1 &
AGENT_PID_2=$!; T_PIDS+=("$AGENT_PID_2")
t_check "agent 2 registers" t_wait 10 t_has "$P::siphaInstName.2"
t_check "start, MIBS=ALL: no MIB parsing in the log" bash -c "! grep -Eq '$mibnoise' '$T/agent-2.log'"
t_eq "start, MIBS=ALL: the log's first line is the connection" "sipha[2]: connected to the AgentX master" \
  "$(head -n 1 "$T/agent-2.log")"
kill "$AGENT_PID_2"
t_eq "start: the log's first line is the connection" "sipha[1]: connected to the AgentX master" "$(head -n 1 "$T/agent-1.log")"
t_check "role change: from unknown to primary, with its reason" \
  grep -Eq "^sipha\[1\] 00-52100 siphaRoleChange HA role changed: from unknown to primary, epoch [0-9]+, reason: startup$" "$T/agent-1.log"
t_check "status change: from initializing to running, with its reason" \
  grep -q "^sipha\[1\] 00-52101 siphaStatusChange status changed: from initializing to running (role primary), reason: role decided$" "$T/agent-1.log"
t_check "started: what it is, options in words" \
  grep -q "^sipha\[1\]: sip-a started as primary, status running; options: sip-pass-check on, control-vip-scripts off, sip-iptakeover-monitoring off, tlib-nic-monitoring off, sip-nic-monitoring off$" "$T/agent-1.log"
t_check "no option flags in hex" bash -c "! grep -q '0x' '$T/agent-1.log'"
# The event table holds the same text.
t_check "siphaEventText has from and to" bash -c \
  "snmpwalk -v2c -c $COMMUNITY -r 0 -t 2 ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::siphaEventText.1 | grep -q 'from initializing to running'"

# --- a master restart: the rows come back, nothing refused, nothing repeated ---
lines_before=$(wc -l < "$T/agent-1.log")
kill -9 "$SNMPD_PID"; wait "$SNMPD_PID" 2>/dev/null
rm -f "$AGENTX"
: > "$T/snmpd.log"
t_start_snmpd || exit 1
t_check "master restarted: rows back" t_wait 10 t_has "$P::siphaInstName.1"
sleep 1 # the registrations of the reconnect are long done
after=$(tail -n +$((lines_before + 1)) "$T/agent-1.log")
t_check "master restarted: reconnect logged" grep -q "connected to the AgentX master" <<<"$after"
t_eq "master restarted: no refused registration in the agent's log" 0 "$(grep -c 'registering pdu failed' <<<"$after")"
t_eq "master restarted: no duplicate registration in snmpd's log" 0 "$(grep -c 'duplicate registration' "$T/snmpd.log")"
t_check "master restarted: every table answers" bash -c \
  "for o in siphaInstName.1 siphaNicName.1.1 siphaVipAddress.1.1 siphaDnName.1.1 siphaContactAor.1.1; do
     v=\$(snmpget -v2c -c $COMMUNITY -r 0 -t 2 ${MIBOPTS[*]} -Oqv udp:127.0.0.1:$SNMP_PORT $P::\$o) && ! grep -q '^No Such' <<<\"\$v\" || exit 1
   done"

# --- a run of identical lines (a second agent for the same instance: the master
# refuses each of its six tables): the first line, then one line with the count ---
sed "s|<state dir=\"$T/state\"/>|<state dir=\"$T/state-dup\"/>|" "$T/inst-1.xml" > "$T/dup.xml"
"$A" -f -c "$T/dup.xml" > "$T/agent-dup.log" 2>&1 &
DUP=$!; T_PIDS+=("$DUP")
t_check "duplicate instance: its registrations are refused" t_wait 10 grep -q "registering pdu failed" "$T/agent-dup.log"
sleep 0.5
t_eq "duplicate instance: one line of the refusal as it comes" 1 "$(grep -c '^registering pdu failed: 263!$' "$T/agent-dup.log")"
t_eq "duplicate instance: one line with the count of the rest" 1 \
  "$(grep -c '^registering pdu failed: 263! (repeated 5 more times)$' "$T/agent-dup.log")"
kill "$DUP"

# --- the README's commands, on this master (its port instead of 161), the MIB files
# where the README has them (here under $HOME/.snmp/mibs, first on the tools'
# default path), in a shell without MIBS/MIBDIRS: an answer and no warning ---
H="$T/home"
mkdir -p "$H/.snmp/mibs"
cp "$ROOT/mib/SIPHA-MIB.txt" "$ROOT"/build/ietf-mibs/*.txt "$H/.snmp/mibs/"
mapfile -t cmds < <(grep -E '^snmp(walk|table|get|set) .* -m SIPHA-MIB 127\.0\.0\.1 ' "$ROOT/README.md")
t_check "README: the commands are there" test "${#cmds[@]}" -ge 4
printf 'createUser %s SHA-256 "%s" AES "%s"\n' "$READER_USER" reader-auth-pass reader-priv-pass >> "$T/snmpd.conf"
sed -i "s|^createUser $ADMIN_USER .*|createUser $ADMIN_USER SHA-256 \"admin-auth-pass\" AES \"admin-priv-pass\"|; /^createUser $READER_USER SHA-256 \"$READER_AUTH\"/d" "$T/snmpd.conf"
kill "$SNMPD_PID"; wait "$SNMPD_PID" 2>/dev/null
rm -rf "$AGENTX" "${SNMP_PERSISTENT_DIR:?}"/*
t_start_snmpd || exit 1
t_check "README: master with the README's users, rows back" t_wait 10 t_has "$P::siphaInstName.1"
for c in "${cmds[@]}"; do
  c=${c/ 127.0.0.1 / udp:127.0.0.1:$SNMP_PORT }
  name=${c%% *}
  res=$(env -u MIBS -u MIBDIRS -u MIBFILES -u SNMPCONFPATH HOME="$H" bash -c "$c" 2>"$T/cmd.err"); rc=$?
  if [ "$rc" -eq 0 ] && [ ! -s "$T/cmd.err" ] && grep -q "sip-a\|primary\|switchover" <<<"$res"; then
    t_pass "README: $name ... answers, nothing on stderr"
  else
    t_fail "README: '$c': rc $rc, stderr: $(head -n 3 "$T/cmd.err"), out: $(head -n 2 <<<"$res")"
  fi
done
t_summary
