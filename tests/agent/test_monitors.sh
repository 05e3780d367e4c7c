#!/usr/bin/env bash
# test_monitors.sh — the monitors against the real kernel, in two network namespaces
# this test makes and removes (sipha-mon-PID and sipha-mon-PID-b, joined by a veth
# pair whose ends both live in them; the root namespace is never touched). A small
# driver (tests/agent/mon_driver.c, built here with gcc) runs the monitors on the
# agent's loop and prints every event; the test makes real faults and traffic and
# checks the events:
#   - link down/up (own end, then carrier loss from the peer's end) within 1 s;
#   - address add/remove; netlink overflow (ENOBUFS) recovered by a fresh dump;
#   - UDP listener bound/unbound (address, dual-stack wildcard; not V6ONLY);
#   - SIP datagrams counted once each (veth and loopback), malformed ones apart;
#   - a sipp UAS answering OPTIONS keeps a DN in service, killing it puts the DN out
#     of service after oos-force; the probe socket's SIP-port fallback;
#   - without CAP_NET_RAW the SIP monitor fails with an error naming it.
# Root only (namespaces, packet socket). Addresses: 198.51.100.0/24 (TEST-NET-2),
# inside the test namespaces only.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NAME=test_monitors

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: needs root (network namespaces, packet socket)"
  exit 0
fi
for tool in ip gcc pkg-config python3 sipp; do
  command -v "$tool" >/dev/null || { echo "FAIL  $NAME: '$tool' is missing (make deps)"; exit 1; }
done

NSA=sipha-mon-$$
NSB=sipha-mon-$$-b
A_IP=198.51.100.1 B_IP=198.51.100.2
SIP_PORT=5060 DN_PORT=5070
T=$(mktemp -d /tmp/sipha-mon.XXXXXX)
chmod 755 "$T" # the unprivileged run below must reach the driver
PIDS=()
PASS=0 FAIL=0

cleanup() {
  local p ns
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for ns in "$NSA" "$NSB"; do
    if ip netns list | grep -qw "$ns"; then
      # anything still inside was started by this test
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
      ip netns del "$ns" 2>/dev/null
    fi
  done
  [ -z "${KEEP:-}" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { PASS=$((PASS + 1)); echo "ok    $*"; }
fail() { FAIL=$((FAIL + 1)); echo "FAIL  $*"; }
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then pass "$d"; else fail "$d"; fi; }
now_ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }
# For foreground commands only: in the background a function runs in a subshell, and
# $! would be that shell's pid rather than the command's (ip netns exec execs it).
inA() { ip netns exec "$NSA" "$@"; }
inB() { ip netns exec "$NSB" "$@"; }

# count FILE REGEX — event lines matching
count() { grep -cE -- "$2" "$1" 2>/dev/null || true; }
# wait_count SECONDS FILE REGEX N — until at least N lines match
wait_count() {
  local end=$((SECONDS + $1))
  while [ "$SECONDS" -le "$end" ]; do
    [ "$(count "$2" "$3")" -ge "$4" ] && return 0
    sleep 0.05
  done
  return 1
}
# first_after FILE T0 REGEX — time (ms) of the first matching event at or after T0
first_after() { awk -v t="$2" -v re="$3" '$1 >= t && $0 ~ re { print $1; exit }' "$1"; }
# sum_field FILE REGEX FIELD — adds up FIELD=N over matching lines
sum_field() {
  grep -E -- "$2" "$1" | sed -n "s/.* $3=\([0-9]*\).*/\1/p" | awk '{ s += $1 } END { print s + 0 }'
}
within() { [ -n "$1" ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
# wait_after SECONDS FILE T0 REGEX — until an event at or after T0 matches
wait_after() {
  local end=$((SECONDS + $1))
  while [ "$SECONDS" -le "$end" ]; do
    [ -n "$(first_after "$2" "$3" "$4")" ] && return 0
    sleep 0.05
  done
  return 1
}

# ------------------------------------------------------------------ setup
# MON_DRIVER_CFLAGS=-fsanitize=address,undefined runs the whole test under the sanitizers
CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g ${MON_DRIVER_CFLAGS:-}"
INC="-I$ROOT/monitors -I$ROOT/base"  # a monitor needs nothing above base/
# shellcheck disable=SC2086,SC2046 # flag lists: word splitting wanted
if ! gcc $CFLAGS $INC -o "$T/mon_driver" "$ROOT/tests/agent/mon_driver.c" \
     "$ROOT"/monitors/{sip_parse,mon_netlink,mon_listener,mon_sip,mon_probe}.c \
     "$ROOT"/base/{loop,array,addr}.c $(pkg-config --libs libmnl) 2>"$T/build.log"; then
  cat "$T/build.log"
  echo "FAIL  $NAME: mon_driver does not build"
  exit 1
fi
DRIVER=$T/mon_driver

{ ip netns add "$NSA" && ip netns add "$NSB"; } || { echo "FAIL  $NAME: ip netns add"; exit 1; }
# Distinct ifindexes on the two ends: the kernel's linkwatch treats a carrier change as
# urgent only when a device's ifindex differs from its iflink (the peer's ifindex);
# otherwise it batches carrier events, up to one second apart, as for a physical NIC.
ip -n "$NSA" link add mon0 index 100 type veth peer name mon1 index 200 netns "$NSB" ||
  { echo "FAIL  $NAME: veth"; exit 1; }
ip -n "$NSA" link set lo up
ip -n "$NSB" link set lo up
ip -n "$NSA" addr add "$A_IP/24" dev mon0
ip -n "$NSB" addr add "$B_IP/24" dev mon1
ip -n "$NSA" link set mon0 up
ip -n "$NSB" link set mon1 up

# the sipp UAS of the service DN: answers each OPTIONS with 200 OK
cat > "$T/options-uas.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="sipha options responder">
  <recv request="OPTIONS"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

    ]]>
  </send>
</scenario>
XML

# sends UDP datagrams: udp_send SRC-NS DEST PORT KIND N   (KIND: sip, bad, keepalive, big)
cat > "$T/send.py" <<'PY'
import socket, sys
dest, port, kind, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ":" in dest else socket.AF_INET, socket.SOCK_DGRAM)
host = ("[%s]" % dest) if ":" in dest else dest
for i in range(n):
    if kind == "bad":
        msg = b"this is not SIP %d\r\n\r\n" % i
    elif kind == "keepalive":
        msg = b"\r\n\r\n"
    else:
        body = b"x" * (3000 if kind == "big" else 0)
        msg = (b"MESSAGE sip:svc@%s SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.9;branch=z9hG4bK%d%s\r\n"
               b"From: <sip:t@example.com>;tag=%d\r\nTo: <sip:svc@example.com>\r\n"
               b"Call-ID: test-%d-%s@example.com\r\nCSeq: 1 MESSAGE\r\nContent-Length: %d\r\n\r\n"
               % (host.encode(), i, kind.encode(), i, i, kind.encode(), len(body))) + body
    s.sendto(msg, (dest, port))
PY
# holds a UDP socket: hold.py READY-FILE ADDR PORT [v6only]; READY-FILE once bound
cat > "$T/hold.py" <<'PY'
import socket, sys, time
ready, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
if fam == socket.AF_INET6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if len(sys.argv) > 4 else 0)
s.bind((addr, port))
open(ready, "w").close()
time.sleep(120)
PY

EV=$T/events.log
ip netns exec "$NSA" "$DRIVER" --netlink --listener "$A_IP" "$SIP_PORT" --sip "$A_IP" "$SIP_PORT" \
    --probe "$A_IP" "$SIP_PORT" --dn 1 "sip:gw@$B_IP:$DN_PORT" 1 5 \
    --dn 2 "sip:unprobed@$B_IP:5072" 0 5 > "$EV" 2>"$T/driver.err" &
DRV=$!
PIDS+=("$DRV")
if ! wait_count 5 "$EV" ' SYNCED$' 1; then
  cat "$T/driver.err"
  echo "FAIL  $NAME: the driver did not start"
  exit 1
fi

# ------------------------------------------------------------------ initial dump
check "initial dump: mon0 up" grep -qE 'LINK ifindex=[0-9]+ name=mon0 up=1' "$EV"
check "initial dump: lo up" grep -qE 'LINK ifindex=1 name=lo up=1' "$EV"
check "initial dump: address $A_IP/24 present" grep -q "ADDR ifindex=[0-9]* addr=$A_IP/24 present=1" "$EV"
check "listener: first state reported (unbound)" wait_count 3 "$EV" 'LISTENER bound=0' 1

# ------------------------------------------------------------------ links
link_event() { # link_event DESCRIPTION REGEX COMMAND... — the event comes within 1 s
  local d=$1 re=$2; shift 2
  local t0 t
  t0=$(now_ms)
  "$@"
  wait_after 3 "$EV" "$t0" "$re"
  t=$(first_after "$EV" "$t0" "$re")
  if within "$t" "$t0" $((t0 + 1000)); then pass "$d ($((t - t0)) ms)"; else fail "$d (t0=$t0 event=${t:-none})"; fi
}
link_event "own end set down: NIC down within 1 s" 'name=mon0 up=0' ip -n "$NSA" link set mon0 down
link_event "own end set up: NIC up within 1 s" 'name=mon0 up=1' ip -n "$NSA" link set mon0 up
sleep 0.3
link_event "peer end down (carrier lost): NIC down within 1 s" 'name=mon0 up=0' ip -n "$NSB" link set mon1 down
link_event "peer end up (carrier back): NIC up within 1 s" 'name=mon0 up=1' ip -n "$NSB" link set mon1 up
check "link events carry the ifindex of the first report" \
  test "$(grep -oE 'ifindex=[0-9]+ name=mon0' "$EV" | sort -u | wc -l)" -eq 1

# ------------------------------------------------------------------ addresses
ip -n "$NSA" addr add 198.51.100.10/24 dev mon0
check "address added: reported present" wait_count 2 "$EV" 'addr=198.51.100.10/24 present=1' 1
ip -n "$NSA" addr del 198.51.100.10/24 dev mon0
check "address removed: reported absent" wait_count 2 "$EV" 'addr=198.51.100.10/24 present=0' 1
ip -n "$NSA" addr add 2001:db8:5::1/64 dev mon0 nodad
check "IPv6 address added: reported present" wait_count 2 "$EV" 'addr=2001:db8:5::1/64 present=1' 1

# ENOBUFS: a driver with a tiny netlink buffer is stopped while 250 addresses come and
# go; the notifications overflow, the monitor dumps again and reports the difference.
EV2=$T/events-enobufs.log
ip netns exec "$NSA" "$DRIVER" --netlink --nl-rcvbuf 2048 > "$EV2" 2>&1 &
DRV2=$!
PIDS+=("$DRV2")
wait_count 5 "$EV2" ' SYNCED$' 1 >/dev/null
kill -STOP "$DRV2"
for i in $(seq 1 250); do echo "addr add 198.51.101.$i/32 dev mon0"; done > "$T/addrs.batch"
N_ADDRS=$(wc -l < "$T/addrs.batch")
ip -n "$NSA" -batch "$T/addrs.batch"
kill -CONT "$DRV2"
kill -USR1 "$DRV2"
check "overflow: all $N_ADDRS new addresses reported present" \
  wait_count 10 "$EV2" 'addr=198\.51\.101\.[0-9]+/32 present=1' "$N_ADDRS"
kill -USR1 "$DRV2"
sleep 0.3
# shellcheck disable=SC2016 # an awk program
check "overflow: ENOBUFS was seen and answered with a new dump" \
  awk '/STATS netlink/ { for (i = 1; i <= NF; i++) if ($i ~ /^enobufs=/ && substr($i, 9) + 0 > 0) ok = 1 } END { exit !ok }' "$EV2"
kill -STOP "$DRV2"
sed 's/^addr add/addr del/' "$T/addrs.batch" > "$T/addrs-del.batch"
ip -n "$NSA" -batch "$T/addrs-del.batch"
kill -CONT "$DRV2"
check "overflow: all $N_ADDRS removed addresses reported absent" \
  wait_count 10 "$EV2" 'addr=198\.51\.101\.[0-9]+/32 present=0' "$N_ADDRS"
check "overflow: no address reported twice present" \
  test "$(grep -E 'addr=198\.51\.101\.[0-9]+/32 present=1' "$EV2" | awk '{print $4}' | sort | uniq -d | wc -l)" -eq 0
kill "$DRV2" 2>/dev/null

# ------------------------------------------------------------------ listener
hold() { # hold NS ADDR PORT [v6only] — a UDP socket, in the background; sets HOLD
  rm -f "$T/hold.ready"
  ip netns exec "$1" python3 "$T/hold.py" "$T/hold.ready" "${@:2}" &
  HOLD=$!
  PIDS+=("$HOLD")
  local end=$((SECONDS + 5))
  while [ ! -e "$T/hold.ready" ] && [ "$SECONDS" -le "$end" ]; do sleep 0.05; done
}
hold "$NSA" "$A_IP" "$SIP_PORT"
check "listener: UDP socket on $A_IP:$SIP_PORT reported bound" wait_count 3 "$EV" 'LISTENER bound=1' 1
kill "$HOLD"
check "listener: socket closed reported unbound" wait_count 3 "$EV" 'LISTENER bound=0' 2
hold "$NSA" :: "$SIP_PORT"
check "listener: dual-stack [::]:$SIP_PORT counts for the IPv4 address" wait_count 3 "$EV" 'LISTENER bound=1' 2
kill "$HOLD"
check "listener: dual-stack socket closed reported unbound" wait_count 3 "$EV" 'LISTENER bound=0' 3
hold "$NSA" :: "$SIP_PORT" v6only
sleep 2.5
check "listener: V6ONLY [::] socket does not count" test "$(count "$EV" 'LISTENER bound=1')" -eq 2
kill "$HOLD"

# ------------------------------------------------------------------ SIP traffic
before_sip=$(sum_field "$EV" 'SIP count=[0-9]+ from_dn=0' count)
before_bad=$(sum_field "$EV" 'MALFORMED' count)
inB python3 "$T/send.py" "$A_IP" "$SIP_PORT" sip 5       # over the veth
inA python3 "$T/send.py" "$A_IP" "$SIP_PORT" sip 5       # over lo: seen twice by the socket
inB python3 "$T/send.py" "$A_IP" "$SIP_PORT" big 1       # 3 kB: IP-fragmented on the veth
inB python3 "$T/send.py" "$A_IP" "$SIP_PORT" bad 3
inB python3 "$T/send.py" "$A_IP" "$SIP_PORT" keepalive 2
inB python3 "$T/send.py" "$A_IP" 5061 sip 4              # another port: not ours
inB python3 "$T/send.py" "$B_IP" "$SIP_PORT" sip 2       # another address (B's own): not ours
sleep 1
got_sip=$(( $(sum_field "$EV" 'SIP count=[0-9]+ from_dn=0' count) - before_sip ))
got_bad=$(( $(sum_field "$EV" 'MALFORMED' count) - before_bad ))
check "SIP messages to $A_IP:$SIP_PORT counted once each (11, got $got_sip)" test "$got_sip" -eq 11
check "malformed datagrams counted apart (3, got $got_bad)" test "$got_bad" -eq 3

# IPv6: the filter's other branch, and the listener on an IPv6 address
ip -n "$NSB" addr add 2001:db8:5::2/64 dev mon1 nodad
EV6=$T/events-v6.log
ip netns exec "$NSA" "$DRIVER" --sip 2001:db8:5::1 5064 --listener 2001:db8:5::1 5064 \
    --listener-interval 200 > "$EV6" 2>&1 &
DRV6=$!
PIDS+=("$DRV6")
wait_count 3 "$EV6" 'LISTENER bound=0' 1 >/dev/null
inB python3 "$T/send.py" 2001:db8:5::1 5064 sip 4
inA python3 "$T/send.py" 2001:db8:5::1 5064 sip 2
inB python3 "$T/send.py" 2001:db8:5::1 5064 bad 1
inB python3 "$T/send.py" "$A_IP" 5064 sip 3              # same port over IPv4: not ours
sleep 0.5
check "IPv6: SIP messages counted once each (6, got $(sum_field "$EV6" 'SIP count' count))" \
  test "$(sum_field "$EV6" 'SIP count' count)" -eq 6
check "IPv6: malformed counted apart" test "$(sum_field "$EV6" 'MALFORMED' count)" -eq 1
hold "$NSA" 2001:db8:5::1 5064
check "IPv6: listener on the address reported bound" wait_count 3 "$EV6" 'LISTENER bound=1' 1
kill "$HOLD" "$DRV6"

# The VIPs: phones send to them, not to the node's own address. Two IPv4 and two IPv6
# destinations beside the SIP address (the IPv6 ones compared after the filter).
ip -n "$NSA" addr add 198.51.100.20/24 dev mon0
ip -n "$NSA" addr add 198.51.100.21/24 dev mon0
ip -n "$NSA" addr add 198.51.100.22/24 dev mon0
ip -n "$NSA" addr add 2001:db8:5::20/64 dev mon0 nodad
ip -n "$NSA" addr add 2001:db8:5::21/64 dev mon0 nodad
EVV=$T/events-vip.log
ip netns exec "$NSA" "$DRIVER" --sip "$A_IP" 5065 --sip-also 198.51.100.20 --sip-also 198.51.100.21 \
    --sip-also 2001:db8:5::20 --sip-also 2001:db8:5::21 --listener "$A_IP" 5065 > "$EVV" 2>&1 &
DRVV=$!
PIDS+=("$DRVV")
wait_count 3 "$EVV" 'LISTENER bound=0' 1 >/dev/null
inB python3 "$T/send.py" "$A_IP" 5065 sip 1
inB python3 "$T/send.py" 198.51.100.20 5065 sip 2
inB python3 "$T/send.py" 198.51.100.21 5065 sip 3
inB python3 "$T/send.py" 2001:db8:5::20 5065 sip 4
inB python3 "$T/send.py" 2001:db8:5::21 5065 sip 5
inB python3 "$T/send.py" 198.51.100.22 5065 sip 6     # an address of A that is not listed
inB python3 "$T/send.py" 2001:db8:5::1 5065 sip 7     # the same, IPv6
inB python3 "$T/send.py" 198.51.100.20 5066 sip 8     # a listed address, another port
sleep 0.5
got_vip=$(sum_field "$EVV" 'SIP count' count)
check "VIPs: SIP messages to the address and to each VIP counted (15, got $got_vip)" test "$got_vip" -eq 15
kill "$DRVV"

# ------------------------------------------------------------------ probes
check "DN 1 with nobody answering goes out of service" \
  wait_count 10 "$EV" 'DN dn=1 in_service=0 status=0' 1
t_oos=$(awk '/DN dn=1 in_service=0/ { print $1; exit }' "$EV")
t_first=$(awk '/PROBE_SENT dn=1/ { print $1; exit }' "$EV")
check "out of service oos-force (5 s) after the first unanswered probe ($((t_oos - t_first)) ms)" \
  within "$((t_oos - t_first))" 4900 6000
check "probe timeouts counted" test "$(count "$EV" 'PROBE_TIMEOUT dn=1')" -ge 3
check "DN 2 (oos-check 0) never probed" test "$(count "$EV" 'PROBE_SENT dn=2')" -eq 0

ip netns exec "$NSB" sipp -sf "$T/options-uas.xml" -i "$B_IP" -p "$DN_PORT" -nostdin -trace_err \
    -error_file "$T/sipp-errors.log" > "$T/sipp.out" 2>&1 &
SIPP=$!
PIDS+=("$SIPP")
check "sipp UAS answers: DN 1 back in service with 200" wait_count 5 "$EV" 'DN dn=1 in_service=1 status=200' 1
sleep 3
n_in=$(count "$EV" 'DN dn=1 in_service=1 status=200')
check "every probe answered: DN stays in service ($n_in answers in ~3 s)" test "$n_in" -ge 3
check "round-trip time measured" grep -qE 'DN dn=1 in_service=1 status=200 rtt_us=[1-9]' "$EV"
check "probe answers count as SIP traffic from DN 1" grep -q 'SIP count=1 from_dn=1' "$EV"
check "no out-of-service while sipp answers" \
  test "$(awk -v t="$(first_after "$EV" 0 'in_service=1')" '$1 > t && /DN dn=1 in_service=0/' "$EV" | wc -l)" -eq 0
t_kill=$(now_ms)
kill "$SIPP"
check "sipp killed: DN 1 out of service" wait_count 10 "$EV" 'DN dn=1 in_service=0' 2
t_oos2=$(first_after "$EV" "$t_kill" 'DN dn=1 in_service=0')
# the last answered probe went up to 1 s before the kill; the next one starts the
# 5 s of silence
check "out of service oos-force after the DN stopped answering ($((t_oos2 - t_kill)) ms)" \
  within "$((t_oos2 - t_kill))" 3900 6500

# the probe socket takes the SIP port when it is free, and then never counts as the
# SIP server's listener; when the port is taken it uses another one
EV3=$T/events-port.log
ip netns exec "$NSA" "$DRIVER" --listener "$A_IP" 5062 --probe "$A_IP" 5062 --probe-sip-port \
    --dn 1 "sip:gw@$B_IP:$DN_PORT" 1 5 > "$EV3" 2>&1 &
DRV3=$!
PIDS+=("$DRV3")
check "probe socket on the free SIP port" wait_count 3 "$EV3" 'PROBE_PORT port=5062$' 1
check "probe socket on the SIP port is not the listener" wait_count 3 "$EV3" 'LISTENER bound=0' 1
kill "$DRV3"
wait "$DRV3" 2>/dev/null # the port is free again once it has exited
hold "$NSA" "$A_IP" 5062
ip netns exec "$NSA" "$DRIVER" --listener "$A_IP" 5062 --probe "$A_IP" 5062 --probe-sip-port \
    --dn 1 "sip:gw@$B_IP:$DN_PORT" 1 5 > "$EV3" 2>&1 &
DRV3=$!
PIDS+=("$DRV3")
wait_count 3 "$EV3" 'PROBE_PORT' 1 >/dev/null
port=$(sed -n 's/.*PROBE_PORT port=//p' "$EV3")
check "SIP port taken: probe socket falls back to another port (${port:-none})" \
  test -n "$port" -a "$port" != 5062
check "the SIP server's socket is the listener" wait_count 3 "$EV3" 'LISTENER bound=1' 1
kill "$DRV3" "$HOLD"

# ------------------------------------------------------------------ capabilities
if command -v setpriv >/dev/null; then
  out=$(inA setpriv --reuid=65534 --regid=65534 --clear-groups "$DRIVER" --sip "$A_IP" "$SIP_PORT" 2>&1)
  check "without CAP_NET_RAW the SIP monitor refuses, naming the capability" \
    grep -q 'ERROR .*CAP_NET_RAW' <<<"$out"
  ip netns exec "$NSA" setpriv --reuid=65534 --regid=65534 --clear-groups "$DRIVER" --netlink \
      --listener "$A_IP" "$SIP_PORT" \
      > "$T/events-nobody.log" 2>&1 &
  DRV4=$!
  PIDS+=("$DRV4")
  check "netlink and sock_diag work without privileges" wait_count 5 "$T/events-nobody.log" 'LISTENER bound=0' 1
  kill "$DRV4"
else
  echo "SKIPPED: setpriv missing, capability check not run"
fi

# ------------------------------------------------------------------ the end
kill -TERM "$DRV"
wait "$DRV" 2>/dev/null
check "driver exits cleanly on SIGTERM" test $? -eq 0
[ "$FAIL" -ne 0 ] && { echo "--- events"; tail -n 60 "$EV"; cat "$T/driver.err"; }
echo "$NAME: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
