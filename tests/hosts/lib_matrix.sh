# shellcheck shell=bash disable=SC2034 # globals here are read by the test that sources this
# lib_matrix.sh — the frame of the fault matrices (test_fault_matrix.sh, and
# test_etcd_matrix.sh with the etcd arbiter): a fresh pair per case, pair_probe sampling
# both hosts every 10 ms while the fault runs, analyze_samples.py judging the samples,
# one table at the end. Source it after tests/agent/lib.sh and lib_netns.sh (HERE, ROOT
# and BUILD set), then call matrix_init NAME.
#
#   matrix_init NAME     builds pair_probe and sip_responder into $BUILD/hosts (TOOLS),
#                        the namespaces (hn_setup), snmptrapd, snmpd on a and b, the
#                        service DN in c; exits on failure (NAME in the message)
#   fresh_pair           no fault left, no agent, no VIP, no state; a primary, b backup.
#                        MATRIX_RESET, when set, names a function run once the agents
#                        are stopped and the hosts cleaned (before the new agents start;
#                        non-zero fails the pair); MATRIX_READY one that must hold too
#                        (within 15 s) once the pair is ready
#   run_case NAME SECONDS FAULT-FUNC UNDO-FUNC ANALYZE-ARGS...   (below)
#   matrix_table         the table of every case run, and the count

matrix_init() {
  TOOLS=$BUILD/hosts
  mkdir -p "$TOOLS"
  cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror "$HERE/pair_probe.c" -o "$TOOLS/pair_probe" \
    -lnetsnmp -lmnl || { echo "FAIL  $1: cannot build pair_probe"; exit 1; }
  cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror "$ROOT/bench/sip_responder.c" \
    -o "$TOOLS/sip_responder" || { echo "FAIL  $1: cannot build sip_responder"; exit 1; }

  hn_setup || { echo "FAIL  $1: cannot build the namespaces"; exit 1; }
  cd "$T" || exit 1
  hn_start_trapd || { echo "FAIL  snmptrapd did not start"; exit 1; }
  local h
  for h in a b; do hn_start_snmpd "$h" || { echo "FAIL  snmpd on $h"; exit 1; }; done
  hn_start_sipp c "$HN_C_SIP" "$HN_DN_PORT" || { echo "FAIL  service DN (sipp) in c"; exit 1; }
  hn_learn siphaInstRole || { echo "FAIL  cannot translate siphaInstRole"; exit 1; }
}

# --- the pair ----------------------------------------------------------------------
declare -A RESP_PID=()
# The SIP server stand-in of HOST: answers OPTIONS on its SIP address (the listener the
# agent watches) and on the VIP (freebind: before the VIP is there), naming itself.
start_responder() {
  hn_bg "$1" "$T/$1/resp.out" "$TOOLS/sip_responder" -n "$1" \
    "${HN_SIP_IP[$1]}:$HN_SIP_PORT" "$HN_VIP:$HN_SIP_PORT"
  RESP_PID[$1]=$HN_PID
  t_wait 5 hn_udp_bound "$1" "${HN_SIP_IP[$1]}" "$HN_SIP_PORT"
}
stop_agents() {
  local h
  for h in a b; do [ -n "${HN_AGENT_PID[$h]:-}" ] && kill -CONT "${HN_AGENT_PID[$h]}" 2>/dev/null; done
  for h in a b; do [ -n "${HN_AGENT_PID[$h]:-}" ] && kill -TERM "${HN_AGENT_PID[$h]}" 2>/dev/null; done
  for h in a b; do
    [ -n "${HN_AGENT_PID[$h]:-}" ] || continue
    t_wait 6 hn_gone "${HN_AGENT_PID[$h]}" || kill -9 "${HN_AGENT_PID[$h]}" 2>/dev/null
    HN_AGENT_PID["$h"]=
  done
}
hn_gone() { ! kill -0 "$1" 2>/dev/null; }
roles_are() { [ "$(hn_roles)" = "$1" ]; }
vip_only_on() { [ "$(hn_vips)" = "$1" ]; }
pair_ready() { roles_are primary/backup && vip_only_on a && is_up a && is_up b; }
is_up() { [ "$(hn_get "$1" siphaInstPeerLinkState)" = up ]; }
# fresh_pair — clean slate: no fault left, no agent, no VIP, no state; a primary, b backup
fresh_pair() {
  stop_agents
  local h
  for h in a b; do
    ip -n "$(hn_ns "$h")" link set sip0 up
    ip -n "$(hn_ns "$h")" link set ha0 up
    ip netns exec "$(hn_ns "$h")" nft delete table inet matrix 2>/dev/null
    ip -n "$(hn_ns "$h")" addr del "$HN_VIP/$HN_VIP_PLEN" dev sip0 2>/dev/null
    rm -rf "$T/$h/state"; mkdir -p "$T/$h/state"
    { [ -n "${RESP_PID[$h]:-}" ] && kill -0 "${RESP_PID[$h]}" 2>/dev/null; } || start_responder "$h"
  done
  ip netns exec "$HN_C" nft delete table inet matrix 2>/dev/null
  if [ -n "${MATRIX_RESET:-}" ]; then "$MATRIX_RESET" || return 1; fi
  hn_instance_conf a primary
  hn_instance_conf b backup
  hn_start_agent a && hn_start_agent b || return 1
  t_wait 15 pair_ready || return 1
  [ -z "${MATRIX_READY:-}" ] || t_wait 15 "$MATRIX_READY"
}

# --- one case ------------------------------------------------------------------------
ROWS=() CASES_PASS=0 CASES_FAIL=0 CASE_CHECK=
# run_case NAME SECONDS FAULT-FUNC UNDO-FUNC ANALYZE-ARGS...
#   the probe runs SECONDS; the fault is injected 1 s in (FAULT-FUNC sets FAULT_MS);
#   UNDO-FUNC (or -) runs once the probe has ended. CASE_CHECK, when set before the
#   call (it is cleared after), names a function run once the probe has ended, before
#   UNDO-FUNC: it checks what the samples cannot show (e.g. that the fault took
#   effect) and, failing, prints why on one line and fails the case.
run_case() {
  local name=$1 secs=$2 fault=$3 undo=$4; shift 4
  local check=${CASE_CHECK:-}
  CASE_CHECK=
  if [ -n "${CASES:-}" ] && ! [[ $name =~ $CASES ]]; then return; fi
  echo "== case: $name"
  if ! fresh_pair; then
    CASES_FAIL=$((CASES_FAIL + 1)); ROWS+=("| $name | pair did not form ($(hn_roles), VIP on $(hn_vips)) | FAIL |")
    hn_dump; return
  fi
  local out="$T/probe-${name// /_}.txt"
  "$TOOLS/pair_probe" -a "$HN_A" -b "$HN_B" -c "$HN_C" -v "$HN_VIP" -i sip0 \
    -k "$COMMUNITY" -A "${HN_OID[siphaInstRole]}.1" -B "${HN_OID[siphaInstRole]}.2" \
    -d "$secs" -p 10 -o "$out" 2>"$out.err" &
  local probe=$!
  sleep 1
  # a random phase of the heartbeat: the fault lands anywhere in a 20 ms period
  sleep "0.0$((RANDOM % 20 + 10))"
  FAULT_MS=
  "$fault"
  [ -n "$FAULT_MS" ] || FAULT_MS=$(hn_now_ms)
  wait "$probe"
  local why=
  if [ -n "$check" ] && ! why=$("$check"); then why=${why:-$check failed}; else why=; fi
  [ "$undo" = - ] || "$undo"
  local row rc line
  row=$(python3 "$HERE/analyze_samples.py" "$out" --case "$name" --fault-ms "$FAULT_MS" "$@" --format md)
  rc=$?
  echo "$row"
  line=$(grep '^|' <<<"$row" | tail -n 1)
  if [ -n "$why" ]; then
    echo "FAIL  $name: $why"
    [ "$rc" -ne 0 ] || rc=1
    line="${line% | * |} | FAIL (${why//|//}) |"
  fi
  ROWS+=("$line")
  if [ "$rc" -eq 0 ]; then CASES_PASS=$((CASES_PASS + 1)); t_pass "case $name"
  else CASES_FAIL=$((CASES_FAIL + 1)); t_fail "case $name"; hn_dump; fi
}
now_ms() { hn_now_ms; }

# host_shows HOST OBJECT VALUE... — HOST's OBJECT is one of the VALUEs (else says so)
host_shows() {
  local h=$1 o=$2 v w; shift 2
  v=$(hn_get "$h" "$o")
  for w; do [ "$v" = "$w" ] && return 0; done
  echo "$o on $h is '$v', expected $*"
  return 1
}

# matrix_table — every case's row, and how many passed
matrix_table() {
  echo
  echo "| case | expected | observed | worst sample | fault→VIP ms | service gap ms | longest unanswered | neigh→primary | settle ms | role '?' samples | role changes | result |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  local r
  for r in "${ROWS[@]}"; do echo "$r"; done
  echo "matrix: $CASES_PASS passed, $CASES_FAIL failed"
}
