#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR disable=SC2034 # HN_* settings are read by lib_netns.sh
# test_kamailio_bulk.sh — what bites the users of the usual registration replication,
# on the pair of test_kamailio.sh (two hosts, each Kamailio + snmpd + sipha-agent) with
# N registrations (default 10,000) sent through the VIP by sipp in c:
#   1. N REGISTERs at 2,000/s: the backup's Kamailio ends up with exactly the
#      primary's contacts (same AOR, contact, expiry within 2 s);
#   2. the backup restarted (its agent and its Kamailio, which comes back empty) while
#      they are registered: it gets all N again, exactly (a resync that stops after a
#      few thousand AORs is a known failure of other replications);
#   3. all N re-register within five seconds with a new expiry, while the backup's
#      agent is restarted in the middle of it: no update lost, nothing crashed;
#   4. 10 % unregister: the removals reach the backup's Kamailio and MIB;
#   5. 20 contacts with a 5 s expiry: gone from both MIBs when they expire;
#   6. the backup restarted while the primary's agent is frozen takes over with no
#      contact; when the old primary resumes, both hold every registration again;
#   7. the primary's agent killed while a restarted backup copies: the backup takes
#      over with part of them, the old primary's agent comes back and hands over the
#      rest from its Kamailio.
# Times of 1 and 2 are printed ("time ..."). Root only.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: needs root (network namespaces)"
  exit 0
fi
for tool in ip ss snmpd snmpget snmpbulkwalk sipp kamailio curl setsid python3; do
  command -v "$tool" >/dev/null || { echo "FAIL  test_kamailio_bulk: '$tool' is missing (make deps)"; exit 1; }
done
[ -x "${BUILD:-$ROOT/build}/sipha-agent" ] || { echo "FAIL  test_kamailio_bulk: ${BUILD:-build}/sipha-agent missing (make)"; exit 1; }
# shellcheck source=../agent/lib.sh
source "$ROOT/tests/agent/lib.sh"
# shellcheck source=lib_netns.sh
source "$HERE/lib_netns.sh"

N=${SIPHA_KAM_BULK:-10000}
DOMAIN=sipha.test
REG_PORT=5082
HN_EXTRA_XML=$HN_KAM_SIP_XML
HN_INTERVAL_MS=50 HN_MISS_COUNT=5 # steady under the load of the bulk, as in test_kamailio.sh
HN_KAM_ARGS=(-A MIN_EXPIRES=5 -A USRLOC_TIMER=5) # case 5: registrations that expire in 5 s

hn_setup || { echo "FAIL  test_kamailio_bulk: cannot build the namespaces"; exit 1; }
cd "$T" || exit 1

# table.py HOST-A-DUMP HOST-B-DUMP — compares two ul.dump replies: prints
# "A-count B-count differences" where a difference is a contact missing on one side
# or an expiry more than 2 s apart; max-expires N: contacts whose expiry is above N
cat > "$T/table.py" <<'PY'
import json, sys
def load(path):
    t = {}
    with open(path) as f:
        d = json.load(f)
    for dom in d.get("result", {}).get("Domains", []):
        for rec in dom["Domain"].get("AoRs", []):
            info = rec["Info"]
            for c in info.get("Contacts", []):
                c = c["Contact"]
                e = c["Expires"]
                t[(info["AoR"], c["Address"])] = e if isinstance(e, int) else -1
    return t
if sys.argv[1] == "compare":
    a, b = load(sys.argv[2]), load(sys.argv[3])
    slack = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    bad = [k for k in a.keys() | b.keys() if k not in a or k not in b or abs(a[k] - b[k]) > slack]
    print(len(a), len(b), len(bad))
    for k in sorted(bad)[:3]:  # examples for the failure message (stderr)
        sys.stderr.write("  %s %s: a %s, b %s\n" % (k[0], k[1], a.get(k), b.get(k)))
elif sys.argv[1] == "above":
    t = load(sys.argv[2])
    print(len(t), sum(1 for e in t.values() if e > int(sys.argv[3]) or e < 0))
PY
dump() { hn_kam_rpc "$1" ul.dump > "$T/dump-$1.json"; }
# same N [SLACK] — both Kamailio hold the same N contacts (count and set, expiries
# within SLACK s, default 2: each copy rounds the seconds left up, Kamailio's table
# reads them truncated; a contact that went a -> b -> a has been rounded twice as often)
same() {
  dump a && dump b || return 1
  read -r na nb nd < <(python3 "$T/table.py" compare "$T/dump-a.json" "$T/dump-b.json" "${2:-2}" 2>/dev/null)
  [ "$na" = "$1" ] && [ "$nb" = "$1" ] && [ "$nd" = 0 ]
}
tables() { dump a; dump b; python3 "$T/table.py" compare "$T/dump-a.json" "$T/dump-b.json" "${1:-2}" 2>"$T/table.err"; cat "$T/table.err" >&2; }
# register FIRST COUNT EXPIRES RATE — COUNT REGISTERs of users FIRST.. from c through
# the VIP (waits for the last answer); prints sipp's successful/failed counts. sipp
# retransmits a REGISTER that got no answer (500 ms, doubling, 5 times), as a phone
# does, and asks for 8 MB socket buffers. Without retransmission (-nr, as before) a
# call whose REGISTER or 200 OK was dropped at 2,000/s hung until sipp's -timeout:
# 9,782 of 10,000 answered once with 64 KB buffers (Kamailio had saved all: the 200s
# were lost), and 127 re-REGISTERs never saved once with 8 MB while the backup's agent
# restarted (the requests were lost; both nodes' tables the same).
# What is checked is sipha's copy, not a loss-free UDP path.
register() {
  local f=$1 n=$2 e=$3 r=$4 i
  { echo SEQUENTIAL; for ((i = f; i < f + n; i++)); do echo "b$i;$DOMAIN;$((20000 + i % 40000));$e"; done; } > "$T/regs.csv"
  hn_in c timeout 300 sipp "$HN_VIP:$HN_SIP_PORT" -sf "$ROOT/tests/sip/register-uac.xml" -inf "$T/regs.csv" \
      -i "$HN_C_SIP" -p "$REG_PORT" -m "$n" -r "$r" -l 1000 -nostdin -buff_size 8388608 \
      -timeout 120s -timeout_error \
      > "$T/regs-$f-$e.out" 2>&1
  t_sipp_counts "$T/regs-$f-$e.out"
}
alive() { kill -0 "${HN_AGENT_PID[a]}" 2>/dev/null && kill -0 "${HN_AGENT_PID[b]}" 2>/dev/null; }
ms_since() { echo $(($(hn_now_ms) - $1)); }

for h in a b; do hn_start_snmpd "$h" || { echo "FAIL  snmpd on $h"; exit 1; }; done
t_check "service DN (sipp UAS) in c" hn_start_sipp c "$HN_C_SIP" "$HN_DN_PORT"
for h in a b; do t_check "Kamailio on $h answers JSON-RPC" hn_kam_start "$h"; done
hn_instance_conf a primary
hn_instance_conf b backup
t_check "agent a registers with its snmpd" hn_start_agent a
t_check "agent b registers with its snmpd" hn_start_agent b
roles_ok() { [ "$(hn_roles)" = primary/backup ]; }
t_check "pair formed: a primary, b backup" t_wait 15 roles_ok

# ------------------------------------------------------------------ 1. N registrations
t0=$(hn_now_ms)
read -r ok failed < <(register 0 "$N" 3600 2000)
sent_ms=$(ms_since "$t0")
t_eq "1. $N REGISTERs answered 200 (in $sent_ms ms)" "$N/0" "$ok/$failed"
t1=$(hn_now_ms)
if t_wait 60 same "$N"; then
  echo "time  1. backup's Kamailio equal to the primary's: $(ms_since "$t1") ms after the last 200 OK"
  t_pass "1. b's Kamailio holds exactly a's $N contacts"
else t_fail "1. tables differ: a b differences = $(tables)"; fi
a_mib() { [ "$(hn_mib_contacts a)" = "$N" ]; }
t_check "1. a's MIB lists the $N contacts" t_wait 20 a_mib

# ------------------------------------------------------------------ 2. backup restarted
kill -9 "${HN_AGENT_PID[b]}"
hn_kam_kill b
sleep 0.5
t_check "2. b's Kamailio back, empty" hn_kam_start b
t_eq "2. b's Kamailio holds nothing" 0 "$(hn_kam_contacts b)"
t2=$(hn_now_ms)
t_check "2. b's agent back" hn_start_agent b
if t_wait 60 same "$N"; then
  echo "time  2. restarted backup's Kamailio equal to the primary's: $(ms_since "$t2") ms after the agent started"
  t_pass "2. restarted b gets all $N contacts, exactly"
else t_fail "2. tables differ: a b differences = $(tables)"; fi
b_mib() { [ "$(hn_mib_contacts b)" = "$1" ]; }
t_check "2. b's MIB lists the $N contacts (synced)" t_wait 20 b_mib "$N"

# ------------------------------------------------------------------ 3. bulk re-registration
# with the backup's agent restarted while it happens
register 0 "$N" 1800 2000 > "$T/rereg.res" &
rereg=$!
sleep 1
kill -TERM "${HN_AGENT_PID[b]}"
b_stopped() { ! kill -0 "${HN_AGENT_PID[b]}" 2>/dev/null; }
t_wait 10 b_stopped
hn_start_agent b > /dev/null 2>&1
wait "$rereg"
read -r ok failed < "$T/rereg.res"
t_eq "3. $N re-REGISTERs (Expires 1800) answered 200" "$N/0" "$ok/$failed"
short() { dump b && read -r n above < <(python3 "$T/table.py" above "$T/dump-b.json" 1800) &&
          [ "$n" = "$N" ] && [ "$above" = 0 ] && same "$N"; }
if t_wait 60 short; then t_pass "3. b's Kamailio has every new expiry (no update lost)"
else t_fail "3. b's Kamailio: $(python3 "$T/table.py" above "$T/dump-b.json" 1800) (count, above 1800); a b differences = $(tables)"; fi
t_check "3. both agents alive" alive

# ------------------------------------------------------------------ 4. unregistrations
gone=$((N / 10))
read -r ok failed < <(register 0 "$gone" 0 2000)
t_eq "4. $gone unREGISTERs answered 200" "$gone/0" "$ok/$failed"
left=$((N - gone))
if t_wait 60 same "$left"; then t_pass "4. the removals reached b's Kamailio: $left contacts on both"
else t_fail "4. tables differ: a b differences = $(tables)"; fi
t_check "4. b's MIB lists $left contacts" t_wait 20 b_mib "$left"

# ------------------------------------------------------------------ 5. expiries
read -r ok failed < <(register "$N" 20 5 100)
t_eq "5. 20 REGISTERs with Expires 5 answered 200" "20/0" "$ok/$failed"
both_mibs() { [ "$(hn_mib_contacts a)" = "$1" ] && [ "$(hn_mib_contacts b)" = "$1" ]; }
t_check "5. both MIBs list $((left + 20)) contacts" t_wait 10 both_mibs $((left + 20))
t_check "5. expired: both MIBs back to $left" t_wait 15 both_mibs "$left"
t_check "5. both agents alive" alive

# ------------------------------------------------------------------ 6. a takeover that copied nothing
# The backup restarted (agent and an empty Kamailio) while the primary's agent is frozen
# (a VM pause): it hears no peer, becomes primary with no contact, and the old primary
# resumes and steps down. The pair must keep every registration: the new primary copies
# what the old one holds, and the old one removes nothing from its Kamailio first.
kill -9 "${HN_AGENT_PID[b]}"
hn_kam_kill b
sleep 0.5
t_check "6. b's Kamailio back, empty" hn_kam_start b
kill -STOP "${HN_AGENT_PID[a]}"
hn_start_agent b > /dev/null 2>&1
b_primary() { [ "$(hn_role b)" = primary ]; }
t_check "6. b alone (a frozen) becomes primary" t_wait 15 b_primary
t_eq "6. b's Kamailio holds nothing when it takes over" 0 "$(hn_kam_contacts b)"
kill -CONT "${HN_AGENT_PID[a]}"
one_primary() { case "$(hn_roles)" in primary/backup|backup/primary) return 0;; esac; return 1; }
t_check "6. a resumed: one primary again" t_wait 15 one_primary
echo "info  6. roles after a resumed: $(hn_roles)"
if t_wait 60 same "$left" 4; then t_pass "6. both Kamailio hold the $left contacts: none lost"
else t_fail "6. tables differ: a b differences = $(tables 4)"; fi
t_check "6. both MIBs list $left contacts" t_wait 20 both_mibs "$left"
t_check "6. both agents alive" alive

# ------------------------------------------------------------------ 7. the primary dies during a copy
# The backup restarted with an empty Kamailio; while it copies, the primary's agent is
# killed (its Kamailio keeps every registration). The backup takes over with part of
# them; the old primary's agent comes back as the backup, finds in its Kamailio what
# the new primary lacks and hands it over: both end with every registration.
p=a; [ "$(hn_role b)" = primary ] && p=b
o=$(hn_other "$p")
kill -9 "${HN_AGENT_PID[$o]}"
hn_kam_kill "$o"
sleep 0.5
t_check "7. $o's Kamailio back, empty" hn_kam_start "$o"
hn_bg "$o" "$T/$o/agent.log" "$BUILD/sipha-agent" -f -c "$T/$o/inst.xml" # (not waiting)
HN_AGENT_PID[$o]=$HN_PID
copying() { [ "$(hn_kam_contacts "$o")" -gt 0 ]; }
t_wait 20 copying
kill -9 "${HN_AGENT_PID[$p]}"
echo "info  7. $p's agent killed while $o's Kamailio held $(hn_kam_contacts "$o") of $left"
o_primary() { [ "$(hn_role "$o")" = primary ]; }
t_check "7. $o takes over" t_wait 15 o_primary
t_check "7. $p's agent back" hn_start_agent "$p"
p_backup() { [ "$(hn_role "$p")" = backup ]; }
t_check "7. $p is the backup" t_wait 15 p_backup
if t_wait 60 same "$left" 4; then t_pass "7. both Kamailio hold the $left contacts: none lost"
else t_fail "7. tables differ: a b differences = $(tables 4)"; fi
t_check "7. both MIBs list $left contacts" t_wait 20 both_mibs "$left"
t_check "7. both agents alive" alive
t_summary
