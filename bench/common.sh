# shellcheck shell=bash
# common.sh — shared by the benchmark scripts (bench/b_*.sh): a private snmpd
# master on loopback, sipha-agent instances, the SIP responder and the trap
# receiver, CPU and memory readings from /proc, and result records.
#
# A benchmark script sources this file, calls b_setup, and reports with b_record.
# Everything it starts lives in $T (a temp dir) and is stopped on every exit path.
# Records go to $BENCH_RECORDS (one line per figure, read by bench/report.py).

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-$ROOT/build}
BENCH_BIN=${BENCH_BIN:-$BUILD/bench}
BENCH_RECORDS=${BENCH_RECORDS:-/dev/null}
# BENCH_QUICK=1 runs fewer repetitions (for trying the scripts out).
BENCH_QUICK=${BENCH_QUICK:-}
ADMIN_USER=siphaAdmin ADMIN_AUTH=sipha-bench-auth ADMIN_PRIV=sipha-bench-priv
RO_COMMUNITY=bench-ro
SIPHA_OID=.1.3.6.1.4.1.32473.1
# shellcheck disable=SC2034 # the b_*.sh scripts use them
{
  INST_TABLE=$SIPHA_OID.1.1.1    # siphaInstanceEntry
  DN_TABLE=$SIPHA_OID.1.4        # siphaServiceDnTable
  NOTIF=$SIPHA_OID.0             # siphaNotifications
}
# Client tools load no MIB: numeric OIDs only, so their start-up is not measured.
SNMP_CLIENT=(-m "" -On -Oq -r 0)
B_PIDS=()
B_CLEANUP_HOOKS=()

# b_reps QUICK FULL: the repetition count for this run.
b_reps() { if [ -n "$BENCH_QUICK" ]; then echo "$1"; else echo "$2"; fi; }

b_cleanup() {
  local p h
  {
    for p in "${B_PIDS[@]}"; do kill "$p"; done
    sleep 0.2
    for p in "${B_PIDS[@]}"; do kill -9 "$p"; done
    wait "${B_PIDS[@]}"  # reaped here, so the shell reports no "Killed" jobs
  } 2>/dev/null
  # after the processes: e.g. namespaces are deleted once nothing runs in them
  for h in "${B_CLEANUP_HOOKS[@]}"; do "$h" 2>/dev/null; done
  [ -n "${T:-}" ] && [ -z "${B_KEEP:-}" ] && rm -rf "$T"
}

b_setup() {
  T=$(mktemp -d /tmp/sipha-bench.XXXXXX)
  chmod 700 "$T"
  trap b_cleanup EXIT
  trap 'exit 130' INT TERM
  export SNMP_PERSISTENT_DIR="$T/snmp-persist" MIBDIRS='' MIBS=''
  export SNMPCONFPATH="$T/snmp-client"  # no user ~/.snmp or /etc/snmp/snmp.conf settings
  mkdir -p "$SNMP_PERSISTENT_DIR" "$SNMPCONFPATH" "$T/state"
  for b in sip_responder link_flip; do
    [ -x "$BENCH_BIN/$b" ] || { echo "missing $BENCH_BIN/$b (run bench/run.sh)"; exit 1; }
  done
}

b_free_port() {
  python3 -c 'import socket,sys
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# b_wait SECONDS COMMAND...: polls every 20 ms until COMMAND succeeds.
b_wait() {
  local end=$((SECONDS + $1)); shift
  while [ $SECONDS -le $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.02; done
  return 1
}

# b_now: wall clock in seconds with microseconds (no process started).
b_now() { echo "$EPOCHREALTIME"; }
# b_calc FORMAT EXPRESSION: awk arithmetic (python3 takes ~0.3 s to start on a
# loaded VM; awk a few ms), e.g. b_calc %.2f "($t1 - $t0) * 1000".
b_calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# b_ms T0 T1: milliseconds from T0 to T1 (seconds.micro), 2 decimals.
b_ms() { b_calc %.2f "($2 - $1) * 1000"; }

# b_cpu_ns PID: CPU time used so far by all threads of PID, in ns (schedstat:
# nanosecond resolution, where /proc/PID/stat counts 10 ms ticks).
b_cpu_ns() {
  local sum=0 f v
  for f in /proc/"$1"/task/*/schedstat; do
    read -r v _ < "$f" 2>/dev/null && sum=$((sum + v))
  done
  echo "$sum"
}
# b_cpu_ns_sum PID...: b_cpu_ns summed over several processes (e.g. a daemon and its
# children).
b_cpu_ns_sum() {
  local sum=0 p
  for p; do sum=$((sum + $(b_cpu_ns "$p"))); done
  echo "$sum"
}

# b_pin CPU PID...: restricts every thread of each PID to CPU (taskset -a), as a
# service manager's CPUAffinity= would; threads started later inherit it.
b_pin() {
  local cpu=$1 p; shift
  for p; do taskset -a -p -c "$cpu" "$p" >/dev/null || return 1; done
}
# b_unpin PID...: gives every thread of each PID the CPUs this shell may use.
b_unpin() {
  local cpus p
  cpus=$(taskset -c -p $$ | awk -F': ' '{print $2}')
  for p; do taskset -a -p -c "$cpus" "$p" >/dev/null || return 1; done
}
# b_can_split: this shell may run on CPUs 0 and 1 (the two placements of b_walk.sh).
b_can_split() {
  python3 -c 'import os,sys; sys.exit(0 if {0, 1} <= os.sched_getaffinity(0) else 1)'
}
# b_rss_kb PID: resident set size in kB.
b_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# b_record KEY TITLE UNIT OP TARGET TARGET_TEXT "V1 V2 ..." [NOTE]
#   OP: "<=" / ">=" / "<" (the median is compared), "max<=" (every run), or "" (no
#   target: reported only). One tab-separated line for report.py.
b_record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "${8:-}" >> "$BENCH_RECORDS"
  b_show "$2" "$3" "$4" "$7"
}

# b_show TITLE UNIT OP "V1 V2 ...": prints N, the runs, median and p90.
b_show() {
  local st
  read -r -a st <<<"$(python3 "$ROOT/bench/report.py" stats "${3:-<=}" "$4")"
  echo "  $1: N=${st[0]} runs [$4 ] median ${st[1]} $2, p90 ${st[2]} $2"
}

# ---------------------------------------------------------------- processes

# b_snmpd_conf FILE AGENTX-SOCKET LISTEN TRAPSINK: a master for the benchmarks —
# AgentX on a private socket, read-only v2c community, the SNMPv3 authPriv user
# the HA link and the switchover SETs use, traps (v2c) to the receiver.
b_snmpd_conf() {
  cat > "$1" <<CONF
master agentx
agentXSocket $2
agentXPerms 0600 0700
agentXTimeout 1
agentXRetries 0
agentaddress $3
rocommunity $RO_COMMUNITY
createUser $ADMIN_USER SHA-256 "$ADMIN_AUTH" AES "$ADMIN_PRIV"
rwuser $ADMIN_USER priv
trap2sink $4 bench-traps
CONF
  chmod 600 "$1"
}

# b_start_snmpd NAME [NETNS]: starts snmpd on $T/NAME.conf; its pid in SNMPD_PID_NAME.
# Waits for the AgentX socket named in the config.
b_start_snmpd() {
  local name=$1 ns=${2:-} sock
  sock=$(awk '$1=="agentXSocket" {print $2}' "$T/$name.conf")
  rm -f "$sock"
  ${ns:+ip netns exec "$ns"} snmpd -f -C -c "$T/$name.conf" -Lf "$T/$name.log" -p "$T/$name.pid" \
    -I -ipCidrRouteTable,inetCidrRouteTable,hr_swinst,hr_disk,hr_filesys &
  local pid=$!
  B_PIDS+=("$pid")
  eval "SNMPD_PID_$name=$pid"
  b_wait 10 test -S "$sock" || { echo "snmpd $name did not start:"; tail "$T/$name.log"; return 1; }
}

# b_start_agent NAME [NETNS]: sipha-agent on $T/NAME.xml; its pid in AGENT_PID_NAME.
b_start_agent() {
  local name=$1 ns=${2:-}
  ${ns:+ip netns exec "$ns"} "$BUILD/sipha-agent" -f -c "$T/$name.xml" >>"$T/$name.log" 2>&1 &
  local pid=$!
  B_PIDS+=("$pid")
  eval "AGENT_PID_$name=$pid"
}

# b_start_responder NAME ADDR:PORT... [NETNS via RESP_NS]: the SIP peer/listener.
b_start_responder() {
  local name=$1; shift
  ${RESP_NS:+ip netns exec "$RESP_NS"} "$BENCH_BIN/sip_responder" -s "$T/$name.stats" "$@" \
    2>>"$T/$name.err" &
  local pid=$!
  B_PIDS+=("$pid")
  eval "RESP_PID_$name=$pid"
}

# b_start_trap_receiver LOG ADDR:PORT... [NETNS via TRAP_NS]
b_start_trap_receiver() {
  local log=$1; shift
  ${TRAP_NS:+ip netns exec "$TRAP_NS"} python3 "$ROOT/bench/trap_receiver.py" "$log" "$@" &
  B_PIDS+=("$!")
  b_wait 5 grep -q '^# ready' "$log"
}

# b_get TARGET OID...: numeric values of OIDs (one a line), v2c read-only.
b_get() { local t=$1; shift; snmpget -v2c -c "$RO_COMMUNITY" "${SNMP_CLIENT[@]}" -Ov -t 1 "$t" "$@" 2>/dev/null; }
# b_answers TARGET OID: the master answers OID with a value.
b_answers() { local v; v=$(b_get "$1" "$2") && [ -n "$v" ] && ! grep -q '^No Such' <<<"$v"; }

# b_median "V1 V2 ...": the median (used to pick representative figures).
b_median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# b_xml_head INDEX NAME ROLE AGENTX-SOCKET SIP-ADDR SIP-PORT: the common part of an
# instance configuration; the caller appends its elements and "</sipha>".
b_xml_head() {
  cat <<XML
<?xml version="1.0"?>
<sipha>
  <instance index="$1" name="$2" priority="$((200 - $1))" initial-role="$3"/>
  <agentx socket="$4" ping-interval="1" timeout-ms="1000"/>
  <state dir="$T/state/$2"/>
  <eventlog limit="500"/>
  <sip address="$5" port="$6"/>
XML
}

# b_peer_key: the HA link's pre-shared key ($T/halink.key, mode 0600).
b_peer_key() {
  ( umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/halink.key" )
}
