#!/bin/bash
# try_pair.sh - prove by hand, with real processes, the Kamailio side of
# sipha's registration sync (not part of make check).
#
# On loopback, two Kamailio instances run kamailio/sipha.cfg:
#   A  SIP 127.0.0.2:15060, JSON-RPC 127.0.0.1:15200, evapi 127.0.0.1:15201
#   B  SIP 127.0.0.3:15060, JSON-RPC 127.0.0.1:15210, evapi 127.0.0.1:15211
# Steps:
#   1. N phones (sipp, tests/sip/reg-uas.xml) register on A; a third of them
#      look NATed (stored with "received"), a third register through a Path;
#      for both kinds the Contact port is dead, so they are reachable only
#      if received / path are honoured;
#   2. an evapi client on A prints the hints, one per AOR;
#   3. every hinted AOR is read with ul.lookup, the table with ul.dump;
#   4. every contact is installed into B with ul.add (expires left, q,
#      path, flags, cflags, methods, received, socket mapped from A's node
#      address to B's), over one keep-alive HTTP connection;
#   5. B's table is compared with A's;
#   6. N calls (tests/sip/invite-uac.xml) go through B to the N AORs: all
#      must be answered;
#   7. no phone re-registered: A's registrar:accepted_regs has not moved
#      since the N initial REGISTERs, every contact on A still has CSeq 1,
#      and B accepted no REGISTER.
# Exit status 0 only if all of this holds.  Every wait is bounded; the trap
# stops every process this script started and removes its directory (set
# KEEP=1 to keep it).
#
# Usage: tests/kamailio/try_pair.sh [N]        (default N=100, at most 600)
set -u

N=${1:-100}
case $N in
	''|*[!0-9]*) echo "usage: $0 [N]" >&2; exit 2 ;;
esac
if [ "$N" -lt 3 ] || [ "$N" -gt 600 ]; then
	echo "N must be 3..600" >&2
	exit 2
fi

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CFG=$ROOT/kamailio/sipha.cfg
SIP=$ROOT/tests/sip

A_IP=127.0.0.2
B_IP=127.0.0.3
SIP_PORT=15060
A_RPC=15200
A_EV=15201
B_RPC=15210
B_EV=15211
PHONE_IP=127.0.0.1
PHONE_PORT=15100   # phones' SIP socket
PHONE_MP=15110     # phones' RTP echo ports (15110, 15112)
PHONE_CP=15111     # phones' sipp control port
CALLER_PORT=15120
CALLER_MP=15130    # (15130, 15132)
CALLER_CP=15131
DEAD_PORT=15199    # advertised by "NATed"/"Path" phones; nobody listens
DOMAIN=sipha.test

for tool in kamailio sipp curl python3 ss setsid; do
	command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

T=$(mktemp -d /tmp/sipha-kampair.XXXXXX) || exit 2
PGIDS=()

cleanup() {
	local rc=$?
	local p
	for p in "${PGIDS[@]}"; do
		kill -TERM -- "-$p" 2>/dev/null
	done
	# Give Kamailio a moment to stop its children, then make sure.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		local alive=0
		for p in "${PGIDS[@]}"; do
			kill -0 -- "-$p" 2>/dev/null && alive=1
		done
		[ $alive = 0 ] && break
		sleep 0.3
	done
	for p in "${PGIDS[@]}"; do
		kill -KILL -- "-$p" 2>/dev/null
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$T"/A.log "$T"/B.log "$T"/*.err; do
		[ -s "$f" ] || continue
		echo "--- tail of $f" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}

# Run "$@" in its own session (process group) and remember the group.
spawn() {
	local out=$1
	shift
	setsid "$@" >"$out" 2>&1 </dev/null &
	PGIDS+=($!)
}

# Wait up to $1 seconds (polling every 0.2 s) for "$2..." to succeed.
wait_for() {
	local limit=$(( $1 * 5 ))
	shift
	local i
	for ((i = 0; i < limit; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

for port in $SIP_PORT $A_RPC $A_EV $B_RPC $B_EV $PHONE_PORT $PHONE_MP \
		$PHONE_CP $CALLER_PORT $CALLER_MP $CALLER_CP $DEAD_PORT; do
	if ss -Hlntu "( sport = :$port )" | grep -q .; then
		fail "port $port is in use"
	fi
done

# ---------------------------------------------------------------- helpers
cat >"$T/kam.py" <<'PYEOF'
import csv, http.client, json, socket, sys, time

def conn(port):
    return http.client.HTTPConnection("127.0.0.1", int(port), timeout=15)

def rpc(c, method, *params):
    body = json.dumps({"jsonrpc": "2.0", "method": method,
                       "params": list(params), "id": 1})
    c.request("POST", "/RPC", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, json.loads(r.read())

def dump(port):
    c = conn(port)
    t0 = time.monotonic()
    c.request("POST", "/RPC", json.dumps({"jsonrpc": "2.0",
              "method": "ul.dump", "id": 1}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    raw = r.read()
    dt = time.monotonic() - t0
    out = {}
    for dom in json.loads(raw)["result"]["Domains"]:
        for a in dom["Domain"]["AoRs"]:
            out[a["Info"]["AoR"]] = [x["Contact"] for x in a["Info"]["Contacts"]]
    return out, len(raw), dt

def unset(v):
    return "." if v == "[not set]" else v

def cmd_evapi(port, out, raw):
    # Print each netstring payload on its own line; keep the raw bytes.
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    s.settimeout(None)
    buf = b""
    with open(out, "w") as fo, open(raw, "wb") as fr:
        while True:
            d = s.recv(65536)
            if not d:
                return
            fr.write(d)
            fr.flush()
            buf += d
            while b":" in buf:
                head, rest = buf.split(b":", 1)
                n = int(head)
                if len(rest) < n + 1:
                    break
                if rest[n:n + 1] != b",":
                    print("bad netstring terminator", file=sys.stderr)
                    sys.exit(1)
                fo.write(rest[:n].decode() + "\n")
                fo.flush()
                buf = rest[n + 1:]

def hinted(path):
    aors = []
    with open(path) as f:
        for line in f:
            h = json.loads(line)
            if h.get("event") != "aor" or set(h) != {"event", "aor"}:
                raise SystemExit("unexpected hint: " + line)
            aors.append(h["aor"])
    return aors

def cmd_hints(path):
    a = hinted(path)
    print(len(a), len(set(a)))

def cmd_lookup(port, path, n):
    aors = sorted(set(hinted(path)))
    c = conn(port)
    found = contacts = 0
    t0 = time.monotonic()
    for i, aor in enumerate(aors):
        st, r = rpc(c, "ul.lookup", "location", aor)
        if st == 200 and r.get("result", {}).get("AoR") == aor:
            found += 1
            contacts += len(r["result"]["Contacts"])
        if i == 0:
            print("  sample ul.lookup %s -> HTTP %d %s" % (aor, st, json.dumps(r)[:400]))
    dt = time.monotonic() - t0
    st, r = rpc(c, "ul.lookup", "location", "nobody-here")
    print("  unknown AOR -> HTTP %d %s" % (st, json.dumps(r)))
    print("  ul.lookup: %d/%d hinted AORs found, %d contacts, %.3f s"
          % (found, len(aors), contacts, dt))
    ok = found == len(aors) == int(n) and contacts == int(n)
    d, size, ddt = dump(port)
    nd = sum(len(v) for v in d.values())
    print("  ul.dump: %d AORs, %d contacts, %d bytes, %.3f s"
          % (len(d), nd, size, ddt))
    ok = ok and set(d) == set(aors) and nd == int(n)
    sys.exit(0 if ok else 1)

def cmd_sync(src, dst, from_ip, to_ip):
    d, _, _ = dump(src)
    c = conn(dst)
    n = 0
    t0 = time.monotonic()
    for aor, cts in sorted(d.items()):
        for x in cts:
            sock = x["Socket"]
            # A socket on A's node address does not exist on B: use B's.
            # (A socket on the VIP would be passed unchanged: both nodes
            # listen on the VIP.)
            proto, _, rest = sock.partition(":")
            host, _, port = rest.rpartition(":")
            if host == from_ip:
                sock = "%s:%s:%s" % (proto, to_ip, port)
            p = ["location", aor, x["Address"], x["Expires"], x["Q"],
                 unset(x["Path"]), x["Flags"], x["CFlags"], x["Methods"],
                 unset(x["Received"]), unset(sock)]
            st, r = rpc(c, "ul.add", *p)
            if st != 200 or "error" in r:
                raise SystemExit("ul.add %s failed: HTTP %d %s" % (p, st, r))
            if n < 3:
                print("  ul.add params " + json.dumps(p))
            n += 1
    print("  ul.add: %d contacts in %.3f s (one keep-alive connection)"
          % (n, time.monotonic() - t0))

def cmd_compare(a, b, from_ip, to_ip):
    da, _, _ = dump(a)
    db, _, _ = dump(b)
    keys = ("Q", "Path", "Received", "Flags", "CFlags", "Methods")
    bad = 0
    total = 0
    for aor, cts in da.items():
        mb = {x["Address"]: x for x in db.get(aor, [])}
        for x in cts:
            total += 1
            y = mb.get(x["Address"])
            if y is None:
                bad += 1
                continue
            if any(x[k] != y[k] for k in keys):
                bad += 1
            elif abs(int(x["Expires"]) - int(y["Expires"])) > 5:
                bad += 1
            elif y["Socket"] != x["Socket"].replace(from_ip, to_ip):
                bad += 1
    nb = sum(len(v) for v in db.values())
    print("  A has %d contacts, B has %d, %d differ" % (total, nb, bad))
    sys.exit(0 if bad == 0 and total == nb else 1)

def cmd_cseq(port):
    # Contacts whose last REGISTER was not the phone's first (CSeq 1).
    d, _, _ = dump(port)
    print(sum(1 for cts in d.values() for x in cts if int(x["CSeq"]) != 1))

def cmd_stat(port, name):
    st, r = rpc(conn(port), "stats.fetch", name)
    print(int(r["result"][name]))

def cmd_calls(path):
    rows = list(csv.reader(open(path), delimiter=";"))
    h, last = rows[0], rows[-1]
    print(last[h.index("SuccessfulCall(C)")], last[h.index("FailedCall(C)")])

globals()["cmd_" + sys.argv[1]](*sys.argv[2:])
PYEOF

py() { nice -n 19 python3 "$T/kam.py" "$@"; }
rpc_up() { curl -s -m 2 -o /dev/null -d '{"jsonrpc":"2.0","method":"core.version","id":1}' "http://127.0.0.1:$1/RPC"; }
regs() { py stat "$1" registrar.accepted_regs; }

# ---------------------------------------------------------------- Kamailio
start_kam() {  # name ip rpc evapi
	mkdir -p "$T/$1"
	spawn "$T/$1.log" nice -n 19 kamailio -DD -E -f "$CFG" \
		-P "$T/$1/kamailio.pid" -m 64 -M 32 \
		-A NODE_IP="$2" -A SIP_PORT=$SIP_PORT -A RPC_PORT="$3" \
		-A EVAPI_PORT="$4" -A "RUN_DIR=\"$T/$1\""
}
start_kam A $A_IP $A_RPC $A_EV
start_kam B $B_IP $B_RPC $B_EV
wait_for 15 rpc_up $A_RPC || fail "Kamailio A does not answer JSON-RPC"
wait_for 15 rpc_up $B_RPC || fail "Kamailio B does not answer JSON-RPC"
echo "Kamailio A ($A_IP) and B ($B_IP) up"

spawn "$T/evapi.err" nice -n 19 python3 "$T/kam.py" evapi $A_EV "$T/hints.txt" "$T/hints.raw"
wait_for 10 grep -q "evapi client connected" "$T/A.log" || fail "evapi client did not connect"

# ---------------------------------------------------------------- phones
{
	echo SEQUENTIAL
	for ((i = 0; i < N; i++)); do
		u=$(printf 'u%03d' "$i")
		case $((i % 3)) in
			0) echo "$u;$DOMAIN;$PHONE_PORT;$PHONE_PORT;X-No-Path" ;;
			1) echo "$u;$DOMAIN;$DEAD_PORT;$DEAD_PORT;X-No-Path" ;;
			2) echo "$u;$DOMAIN;$PHONE_PORT;$DEAD_PORT;Path" ;;
		esac
	done
} >"$T/users.csv"
{
	echo SEQUENTIAL
	for ((i = 0; i < N; i++)); do
		printf 'u%03d;%s\n' "$i" "$DOMAIN"
	done
} >"$T/callees.csv"

# -nr: no UDP retransmissions.  On loopback nothing is lost, and a
# retransmitted REGISTER (a 200 OK later than 500 ms on a loaded machine)
# would be saved and counted again, i.e. look like a re-registration.
regs_before=$(regs $A_RPC) || fail "stats.fetch on A"
spawn "$T/phones.out" nice -n 19 timeout 600 sipp "$A_IP:$SIP_PORT" \
	-sf "$SIP/reg-uas.xml" -oocsn uas -inf "$T/users.csv" \
	-i $PHONE_IP -p $PHONE_PORT -m "$N" -l "$N" -r 100 -d 600000 -nr \
	-mp $PHONE_MP -cp $PHONE_CP -nostdin \
	-trace_err -error_file "$T/phones.err"

regs_are() { [ "$(regs $A_RPC)" = "$1" ]; }
wait_for 60 regs_are $((regs_before + N)) || fail "phones did not register: accepted_regs=$(regs $A_RPC)"
hints_are() { [ "$(py hints "$T/hints.txt")" = "$1 $1" ]; }
wait_for 10 hints_are "$N" || fail "hints: $(py hints "$T/hints.txt") (total, distinct), want $N"
regs_initial=$(regs $A_RPC)
echo "1. $N phones registered on A (registrar:accepted_regs $regs_before -> $regs_initial)"
echo "2. evapi hints: $(py hints "$T/hints.txt" | awk '{print $1 " received, " $2 " distinct AORs"}'); first bytes on the wire:"
head -c 90 "$T/hints.raw" | sed 's/^/     /'
echo

echo "3. reading A"
py lookup $A_RPC "$T/hints.txt" "$N" || fail "ul.lookup / ul.dump on A"

echo "4. installing into B"
py sync $A_RPC $B_RPC $A_IP $B_IP || fail "ul.add into B"

echo "5. comparing B with A"
py compare $A_RPC $B_RPC $A_IP $B_IP || fail "B's table differs from A's"

echo "6. $N calls through B"
# In the background and waited for, so that a signal to this script is
# handled at once (the trap then stops the caller's process group too).
spawn "$T/caller.out" nice -n 19 timeout 120 sipp "$B_IP:$SIP_PORT" \
	-sf "$SIP/invite-uac.xml" -inf "$T/callees.csv" \
	-i $PHONE_IP -p $CALLER_PORT -m "$N" -l 20 -r 50 \
	-mp $CALLER_MP -cp $CALLER_CP -nostdin \
	-trace_stat -stf "$T/calls.csv" -fd 1 \
	-trace_err -error_file "$T/calls.err" \
	-timeout 90s -timeout_error
wait "${PGIDS[-1]}"
caller_rc=$?
read -r answered failed < <(py calls "$T/calls.csv") || fail "no caller statistics"
echo "   answered $answered/$N, failed $failed, sipp exit status $caller_rc"

# A re-registration is a new REGISTER transaction: it would raise A's
# accepted_regs and the contact's CSeq above 1; none may reach B.
regs_a=$(regs $A_RPC)
regs_b=$(regs $B_RPC)
rereg=$((regs_a - regs_initial))
cseq_gt1=$(py cseq $A_RPC)
echo "7. re-registrations: $rereg (accepted_regs A $regs_initial -> $regs_a, B $regs_b; contacts on A with CSeq > 1: $cseq_gt1)"

if [ "$caller_rc" != 0 ] || [ "$answered" != "$N" ] || [ "$failed" != 0 ]; then
	fail "calls: $answered/$N answered"
fi
if [ "$rereg" != 0 ] || [ "$regs_b" != 0 ] || [ "$cseq_gt1" != 0 ]; then
	fail "phones re-registered"
fi
echo "OK: $answered/$N answered through B, 0 re-registrations, ${SECONDS} s"
