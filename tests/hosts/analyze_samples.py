#!/usr/bin/env python3
"""analyze_samples.py — one fault-matrix case judged from pair_probe's output.

    analyze_samples.py PROBE_OUT --case NAME --expect STATE [--fault-ms RT_MS]
        [--allow-ms MS] [--fit HOSTS] [--allow-both-vip-until-ms MS]
        [--max-gap-ms MS] [--max-unanswered N] [--max-settle-ms MS] [--max-vip-ms MS]
        [--max-role-changes N] [--handover-ms MS] [--i1-allow-ms MS]
        [--min-takeover-ms MS] [--max-step-down-ms MS]
        [--require-neigh] [--roles-from-vip] [--client-silenced] [--header]
        [--format md|tsv]

PROBE_OUT   pair_probe's output (tests/hosts/pair_probe.c: sample lines, "@" events,
            "#" header/footer).
--fault-ms  the fault's wall-clock time in ms since the epoch (a script's
            $EPOCHREALTIME * 1000); default: the probe's first "mark" (SIGUSR1).
--allow-ms  detection allowance: invariants are judged from fault + this on (default 0).
--i1-allow-ms
            I1 alone is judged from fault + this on (default: --allow-ms), e.g. 0 where
            two primaries are never allowed but a gap without one is, for a while.
--expect    the end state: primary=a, primary=b, primary=any, none.
--fit       the hosts fit to be primary at the end: "a", "b", "a,b" (default), "none".
--allow-both-vip-until-ms
            the VIP on both hosts is tolerated until fault + this (a crashed agent's VIP
            lives until its lifetime ends).
--roles-from-vip
            the pair has no SNMP roles (e.g. keepalived): the VIP holder is the primary.
            Implied when every sample's roles are "-".
--max-*     bounds; each broken bound fails the case. --max-gap-ms bounds the service
            gap (fault -> first answer from the end primary), --max-unanswered the
            longest run of unanswered requests after the fault, --max-settle-ms the time to
            settle, --max-vip-ms fault -> VIP added on the end primary.
--max-role-changes
            bounds the moves of the primary role after the fault: each time the single
            primary of a sample (roles known) is another host than the previous single
            primary (the last one before the fault to start with). Both primary or none
            for a while counts nothing by itself: a -> a,b -> b is one move.
--handover-ms
            an I2 breach (no primary while a host is fit) that lasts at most this long
            and ends with a primary is a coordinated handover, not a breach (the side
            giving the role up drops it, runs its VIP down script, then hands over).
            Default 0: none tolerated. I1 is never relaxed.
--min-takeover-ms
            the end primary named by --expect shows primary in no sample before
            fault + this (it had to wait, e.g. for a dead holder's lease); the time of its
            first primary sample is printed on a line of its own.
--max-step-down-ms
            the primary at the fault (the last single primary before it) shows primary in
            no sample from fault + this on; the time of its last primary sample is
            printed on a line of its own.
--require-neigh
            fail unless the client's neighbour entry for the VIP ends on the primary's MAC.
--client-silenced
            the case drops the client's requests to the VIP from the fault on (it needs a
            pair that sees no SIP traffic, and the agents count what reaches the VIP), so
            answers say nothing: no service gap or unanswered run is measured or bounded.

Invariants, checked on every sample at or after fault + allowance:
  I1  at most one primary, and the VIP held by at most one host (held = address present
      and the interface not down; an address on a downed NIC answers nothing);
  I2  a primary exists whenever a host is fit (samples where a role GET timed out, "?",
      cannot show a primary and are skipped for I2, and counted).
Prints one table row (case, expected, observed, worst sample, service gap, longest
unanswered run, neighbour on primary's MAC, settle time, role changes, result) and, on
failure, one line "FAIL  CASE: REASON". Exit status 0 when every check holds, 1 when
one fails, 2 on bad arguments or an unreadable/empty trace.
"""
import argparse
import sys

HOSTS = ("a", "b")


class Trace:
    def __init__(self):
        self.samples = []   # dicts: t, rt, role{a,b}, vip{a,b}, ans, mark, link{a,b}
        self.events = []    # (t, rt, kind, args)
        self.mac = {}       # host -> MAC of its VIP interface
        self.neigh = None   # client's neighbour MAC for the VIP ("-" when none)
        self.neigh_state = None
        self.period = 10.0
        self.end_line = ""


def parse(path):
    tr = Trace()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "#":
                if len(p) > 1 and p[1] == "pair_probe":
                    for kv in p[2:]:
                        if kv.startswith("period_ms="):
                            tr.period = float(kv.split("=", 1)[1])
                elif len(p) >= 4 and p[1] == "mac" and p[2] in HOSTS:
                    tr.mac[p[2]] = p[3].lower()
                elif len(p) >= 8 and p[1] == "neigh":
                    tr.neigh = p[5].lower()
                    tr.neigh_state = p[7]
                elif len(p) > 1 and p[1] == "end":
                    tr.end_line = line.strip()
                continue
            if p[0] == "@":
                if len(p) >= 4:
                    try:
                        tr.events.append((float(p[1]), float(p[2]), p[3], p[4:]))
                    except ValueError:
                        pass
                continue
            if len(p) < 10:
                continue
            try:
                s = dict(t=float(p[0]), rt=float(p[1]), role=dict(a=p[2], b=p[3]),
                         vip=dict(a=p[4] == "1", b=p[5] == "1"), ans=p[6], mark=p[7] == "F",
                         link=dict(a=p[8], b=p[9]))
            except ValueError:
                continue
            tr.samples.append(s)
    return tr


def holds_vip(s, h):
    return s["vip"][h] and s["link"][h] != "D"


def primaries(s, from_vip):
    if from_vip:
        return [h for h in HOSTS if holds_vip(s, h)]
    return [h for h in HOSTS if s["role"][h] == "primary"]


def undetermined(s, from_vip):
    return not from_vip and any(s["role"][h] == "?" for h in HOSTS)


def end_state(tr, from_vip):
    """The observed end state, from the last sample whose roles are all known."""
    for s in reversed(tr.samples):
        if undetermined(s, from_vip):
            continue
        p = primaries(s, from_vip)
        return "primary=" + ",".join(p) if p else "none", p
    return "unknown", []


def state_key(s):
    return (s["role"]["a"], s["role"]["b"], s["vip"]["a"], s["vip"]["b"], s["ans"],
            s["link"]["a"], s["link"]["b"])


def role_changes(samples, fault, from_vip):
    """Moves of the single primary after the fault (see --max-role-changes)."""
    last = None
    moves = 0
    for s in samples:
        if undetermined(s, from_vip):
            continue
        p = primaries(s, from_vip)
        if len(p) != 1:
            continue
        if s["rt"] >= fault and last is not None and p[0] != last:
            moves += 1
        last = p[0]
    return moves


def handover_samples(after, fit, from_vip, limit_ms):
    """Indexes in AFTER of the no-primary samples that belong to a stretch lasting at
    most LIMIT_MS and ending with a primary (see --handover-ms). A stretch runs from
    its first no-primary sample to the first sample with a primary; samples whose
    roles are unknown neither start nor end one."""
    ok = set()
    if not limit_ms or not fit:
        return ok
    start = None
    members = []
    for i, s in enumerate(after):
        if undetermined(s, from_vip):
            continue
        if primaries(s, from_vip):
            if start is not None and s["rt"] - after[start]["rt"] <= limit_ms:
                ok.update(members)
            start, members = None, []
        else:
            if start is None:
                start = i
            members.append(i)
    return ok


def fmt_ms(v):
    return "-" if v is None else "%.1f" % v


def analyze(tr, a):
    fails = []
    from_vip = a.roles_from_vip or all(s["role"]["a"] == "-" and s["role"]["b"] == "-"
                                       for s in tr.samples)
    fault = a.fault_ms
    if fault is None:
        marks = [e for e in tr.events if e[2] == "mark"]
        if marks:
            fault = marks[0][1]
        else:
            fm = [s for s in tr.samples if s["mark"]]
            fault = fm[0]["rt"] if fm else None
    if fault is None:
        return None, "no fault time: neither --fault-ms nor a mark in the trace"
    after = [s for s in tr.samples if s["rt"] >= fault]
    if not after:
        return None, "no sample after the fault time (probe ended too early or wrong clock)"
    fit = [] if a.fit == "none" else [h for h in a.fit.split(",") if h in HOSTS]

    # observed end state against the expected one
    observed, end_p = end_state(tr, from_vip)
    exp = a.expect
    if exp == "primary=any":
        ok_end = len(end_p) == 1
    elif exp == "none":
        ok_end = not end_p
    else:
        ok_end = observed == exp
    if not ok_end:
        fails.append("end state %s, expected %s" % (observed, exp))

    # invariants from fault + allowance on (I1 from its own allowance, when given)
    judged = fault + a.allow_ms
    judged_i1 = judged if a.i1_allow_ms is None else fault + a.i1_allow_ms
    worst = "-"
    unknown = 0
    handover_ok = handover_samples(after, fit, from_vip, a.handover_ms)
    for i, s in enumerate(after):
        if s["rt"] < min(judged, judged_i1):
            continue
        i1, i2 = s["rt"] >= judged_i1, s["rt"] >= judged
        if undetermined(s, from_vip):
            unknown += 1
        p = primaries(s, from_vip)
        both_vip = holds_vip(s, "a") and holds_vip(s, "b")
        why = None
        if i1 and not from_vip and len(p) > 1:
            why = "I1 two primaries"
        elif i1 and both_vip and (a.allow_both_vip_until_ms is None or s["rt"] >= fault + a.allow_both_vip_until_ms):
            why = "I1 VIP on both hosts"
        elif i2 and not p and fit and not undetermined(s, from_vip) and i not in handover_ok:
            why = "I2 no primary while %s fit" % ",".join(fit)
        if why:
            worst = "+%.0fms %s (%s/%s vip %d%d)" % (s["rt"] - fault, why, s["role"]["a"], s["role"]["b"],
                                                    s["vip"]["a"], s["vip"]["b"])
            fails.append("%s at fault+%.0f ms (roles %s/%s, VIP a=%d b=%d)" % (
                why, s["rt"] - fault, s["role"]["a"], s["role"]["b"], s["vip"]["a"], s["vip"]["b"]))
            break

    # service: the primary answering — the expected one when named (so the gap is
    # measured even when the end state is wrong, e.g. the VIP left on both hosts), else
    # the observed single primary
    prim = exp.split("=", 1)[1] if exp in ("primary=a", "primary=b") else (end_p[0] if len(end_p) == 1 else None)
    gap = None
    if prim:
        ev = [e[1] for e in tr.events if e[2] == "answer" and e[3][:1] == [prim] and e[1] >= fault]
        sm = [s["rt"] for s in after if s["ans"] == prim]
        # the event is the answer's arrival; a sample only says which request (sent at
        # the sample's time) was answered, so it is the fallback
        first = ev[0] if ev else (sm[0] if sm else None)
        gap = None if first is None else first - fault
    longest = run = 0
    for s in after:
        run = run + 1 if s["ans"] == "-" else 0
        longest = max(longest, run)
    if a.client_silenced:
        gap = longest = None
    elif exp != "none" and prim and gap is None:
        fails.append("no answer from the primary %s after the fault" % prim)

    # VIP added on the end primary
    vip_ms = None
    if prim:
        vadd = [e[1] for e in tr.events if e[2] == "vip" and e[3][:2] == [prim, "add"] and e[1] >= fault]
        if vadd:
            vip_ms = vadd[0] - fault
        elif after[0]["vip"][prim]:
            vip_ms = 0.0  # it already held the VIP (the fault was not on the primary)

    # neighbour entry
    neigh = "n/a"
    if prim and tr.neigh is not None and tr.mac.get(prim):
        neigh = "yes" if tr.neigh == tr.mac[prim] else "no (%s)" % tr.neigh
    if a.require_neigh and neigh != "yes":
        fails.append("client's neighbour entry for the VIP is not the primary's MAC: %s" % neigh)

    # time to settle: the last change of any sampled field after the fault
    settle = 0.0
    for prev, s in zip(after, after[1:]):
        if state_key(prev) != state_key(s):
            settle = s["rt"] - fault
    tail = after[-1]["rt"] - fault - settle
    settled_note = "" if tail >= 500 else " (changed %.0f ms before the end)" % tail

    # the takeover not too early, the old primary's step-down not too late
    notes = []
    if a.min_takeover_ms is not None:
        if not prim:
            fails.append("--min-takeover-ms needs --expect primary=a or primary=b")
        else:
            took = next((s["rt"] - fault for s in after if prim in primaries(s, from_vip)), None)
            notes.append("takeover: %s primary from fault+%s ms (not before +%.0f)" % (
                prim, "-" if took is None else "%.0f" % took, a.min_takeover_ms))
            if took is not None and took < a.min_takeover_ms:
                fails.append("%s primary at fault+%.0f ms, before fault+%.0f ms" % (
                    prim, took, a.min_takeover_ms))
    if a.max_step_down_ms is not None:
        before = [s for s in tr.samples if s["rt"] < fault and not undetermined(s, from_vip)
                  and len(primaries(s, from_vip)) == 1]
        old = primaries(before[-1], from_vip)[0] if before else None
        if old is None:
            fails.append("--max-step-down-ms: no single primary before the fault")
        else:
            last = None
            for s in after:
                if old in primaries(s, from_vip):
                    last = s["rt"] - fault
            notes.append("step-down: %s last primary at fault+%s ms (none from +%.0f)" % (
                old, "-" if last is None else "%.0f" % last, a.max_step_down_ms))
            if last is not None and last >= a.max_step_down_ms:
                fails.append("%s still primary at fault+%.0f ms (bound %.0f ms)" % (
                    old, last, a.max_step_down_ms))

    moves = role_changes(tr.samples, fault, from_vip)
    if a.max_role_changes is not None and moves > a.max_role_changes:
        fails.append("%d role changes > %d" % (moves, a.max_role_changes))

    for name, val, bound, unit in (("service gap", gap, a.max_gap_ms, "ms"),
                                   ("longest unanswered run", longest, a.max_unanswered, "requests"),
                                   ("time to settle", settle, a.max_settle_ms, "ms"),
                                   ("fault -> VIP on the primary", vip_ms, a.max_vip_ms, "ms")):
        if bound is None:
            continue
        if val is None and a.client_silenced and name in ("service gap", "longest unanswered run"):
            fails.append("%s: not measured with --client-silenced (no bound may be given)" % name)
            continue
        if val is None:
            fails.append("%s: not measured (bound %s %s)" % (name, bound, unit))
        elif val > bound:
            fails.append("%s %.1f %s > %s %s" % (name, val, unit, bound, unit))

    row = dict(case=a.case, expected=exp, observed=observed, worst=worst,
               gap="silenced" if a.client_silenced else fmt_ms(gap),
               unans="silenced" if a.client_silenced else "%d (%.0f ms)" % (longest, longest * tr.period),
               neigh=neigh, settle=fmt_ms(settle) + settled_note, vip=fmt_ms(vip_ms),
               unknown=unknown, moves=moves, result="FAIL" if fails else "ok", notes=notes)
    return row, fails


COLS = (("case", "case"), ("expected", "expected"), ("observed", "observed"),
        ("worst sample", "worst"), ("fault→VIP ms", "vip"), ("service gap ms", "gap"),
        ("longest unanswered", "unans"), ("neigh→primary", "neigh"), ("settle ms", "settle"),
        ("role '?' samples", "unknown"), ("role changes", "moves"), ("result", "result"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1], add_help=True)
    ap.add_argument("trace")
    ap.add_argument("--case", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--fault-ms", type=float)
    ap.add_argument("--allow-ms", type=float, default=0.0)
    ap.add_argument("--fit", default="a,b")
    ap.add_argument("--allow-both-vip-until-ms", type=float)
    ap.add_argument("--max-gap-ms", type=float)
    ap.add_argument("--max-unanswered", type=int)
    ap.add_argument("--max-settle-ms", type=float)
    ap.add_argument("--max-vip-ms", type=float)
    ap.add_argument("--max-role-changes", type=int)
    ap.add_argument("--handover-ms", type=float, default=0.0)
    ap.add_argument("--i1-allow-ms", type=float)
    ap.add_argument("--min-takeover-ms", type=float)
    ap.add_argument("--max-step-down-ms", type=float)
    ap.add_argument("--require-neigh", action="store_true")
    ap.add_argument("--client-silenced", action="store_true")
    ap.add_argument("--roles-from-vip", action="store_true")
    ap.add_argument("--header", action="store_true")
    ap.add_argument("--format", choices=("md", "tsv"), default="md")
    try:
        a = ap.parse_args()
    except SystemExit as e:
        sys.exit(2 if e.code else 0)
    if a.expect not in ("primary=a", "primary=b", "primary=any", "none"):
        print("analyze_samples: --expect %s: one of primary=a, primary=b, primary=any, none" % a.expect,
              file=sys.stderr)
        sys.exit(2)
    if a.fit != "none" and not all(h in HOSTS for h in a.fit.split(",")):
        print("analyze_samples: --fit %s: a, b, a,b or none" % a.fit, file=sys.stderr)
        sys.exit(2)
    try:
        tr = parse(a.trace)
    except OSError as e:
        print("analyze_samples: %s" % e, file=sys.stderr)
        sys.exit(2)
    if not tr.samples:
        print("FAIL  %s: no samples in %s" % (a.case, a.trace))
        sys.exit(2)
    row, fails = analyze(tr, a)
    if row is None:
        print("FAIL  %s: %s" % (a.case, fails))
        sys.exit(2)
    sep = "\t" if a.format == "tsv" else " | "
    wrap = (lambda t: t) if a.format == "tsv" else (lambda t: "| " + t + " |")
    for n in row["notes"]:
        print(n)
    if a.header:
        print(wrap(sep.join(c[0] for c in COLS)))
        if a.format == "md":
            print("|" + "---|" * len(COLS))
    print(wrap(sep.join(str(row[c[1]]) for c in COLS)))
    if fails:
        print("FAIL  %s: %s" % (a.case, "; ".join(fails)))
        sys.exit(1)


if __name__ == "__main__":
    main()
