#!/usr/bin/env python3
"""report.py — statistics and the results table of the benchmarks.

    report.py stats OP "V1 V2 ..."            -> "N MEDIAN P90" (used by common.sh)
    report.py table RECORDS OUT.md [SECTIONS]  -> writes bench/results.md, prints it

A record is one tab-separated line written by b_record (bench/common.sh):
KEY TITLE UNIT OP TARGET TARGET_TEXT VALUES NOTE.

Median: the middle run (mean of the two middle ones for an even N). p90: nearest
rank on the worse side — for a lower-is-better figure the value 90 % of runs are at
or under, for a higher-is-better one (OP ">=") the value 90 % of runs reach.
The result compares the median with the target (targets are p50 targets), except
OP "max<=", which every run must meet, and OP "p95<=", which the nearest-rank 95th
percentile must meet. OP and TARGET may list several comma-separated checks that all
must hold, e.g. OP "<=,p95<=" with TARGET "60,100".

When the records hold both sipha's failover figures (bench/b_failover.sh, keys
failover_*) and keepalived's (bench/b_keepalived.sh, keys keepalived_*), the table is
followed by one that puts them side by side (median, p95, max). Likewise the walk
figures of sipha and keepalived from bench/b_walk.sh (keys walk_*, walk_keepalived_*).
"""
import math
import os
import platform
import subprocess
import sys
import time


def median(vals):
    s = sorted(vals)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def p90(vals, op):
    s = sorted(vals)
    rank = max(0, math.ceil(0.9 * len(s)) - 1)
    return s[len(s) - 1 - rank] if op == ">=" else s[rank]


def p95(vals):
    s = sorted(vals)
    return s[max(0, math.ceil(0.95 * len(s)) - 1)]


def check(op, t, vals):
    m = median(vals)
    return {"<=": lambda: m <= t, "<": lambda: m < t, ">=": lambda: m >= t,
            "max<=": lambda: max(vals) <= t, "p95<=": lambda: p95(vals) <= t}[op]()


def verdict(op, target, vals):
    if not op or not vals:
        return "—"
    ops = op.split(",")
    targets = [float(t) for t in target.split(",")]
    if len(targets) != len(ops):
        return "**FAIL** (bad target)"
    ok = all(check(o, t, vals) for o, t in zip(ops, targets))
    return "PASS" if ok else "**FAIL**"


# sipha's failover figure beside keepalived's (bench/b_failover.sh, bench/b_keepalived.sh)
SIDE_BY_SIDE = [
    ("SIP NIC down on the primary (one NIC) → VIP on the backup", "failover_nic_shared_vip", "keepalived_nic_vip"),
    ("SIP NIC down on the primary (one NIC) → first answer", "failover_nic_shared_answer", "keepalived_nic_answer"),
    ("SIP NIC down, HA link on its own NIC → VIP on the backup", "failover_nic_own_vip", ""),
    ("kill -9 of the primary's daemon → VIP on the backup", "failover_kill_vip", "keepalived_kill_vip"),
    ("kill -9 of the primary's daemon → first answer", "failover_kill_answer", "keepalived_kill_answer"),
    ("SIGTERM of the primary's daemon → VIP on the backup", "failover_term_vip", "keepalived_term_vip"),
    ("SIGTERM of the primary's daemon → first answer", "failover_term_answer", "keepalived_term_answer"),
    ("SET switchover (accepted) → VIP on the peer", "failover_set_vip", ""),
    ("idle CPU % of a core, primary's / master's host", "failover_idle_cpu_primary",
     "keepalived_idle_cpu_master"),
    ("idle CPU % of a core, backup's host", "failover_idle_cpu_backup", "keepalived_idle_cpu_backup"),
    ("idle CPU %, primary's host, sipha at keepalived's rate (interval-ms 100)",
     "failover_idle_cpu_100_primary", "keepalived_idle_cpu_master"),
    ("idle CPU %, backup's host, sipha at keepalived's rate (interval-ms 100)",
     "failover_idle_cpu_100_backup", "keepalived_idle_cpu_backup"),
    ("floor: bare sender of one datagram per sipha period, CPU %", "failover_floor_tx", ""),
    ("floor: bare receiver of them, CPU %", "failover_floor_rx", ""),
    ("idle PSS per host (kB)", "failover_pss", "keepalived_pss"),
]


def side_by_side(recs):
    by_key = {r["key"]: r for r in recs}
    if not any(k.startswith("failover_") for k in by_key) or \
            not any(k.startswith("keepalived_") for k in by_key):
        return []

    def cell(key):
        r = by_key.get(key)
        if not key or not r or not r["vals"]:
            return "—"
        v = r["vals"]
        return "%s / %s / %s (N %d)" % (fmt(median(v)), fmt(p95(v)), fmt(max(v)), len(v))

    lines = ["", "## Failover: sipha beside keepalived (median / p95 / max)", "",
             "| figure | sipha | keepalived VRRPv3 (advert 0.1 s) |", "|---|---|---|"]
    for title, sk, kk in SIDE_BY_SIDE:
        if sk in by_key or kk in by_key:
            lines.append("| %s | %s | %s |" % (title, cell(sk), cell(kk)))
    return lines


# sipha's walk figures beside keepalived's from the same run (bench/b_walk.sh)
WALK_SIDE_BY_SIDE = [
    ("bulkwalk of 18,000 varbinds (-Cr50), snmpd and subagent on the same CPU, varbinds/s",
     "walk_rate", "walk_keepalived_rate"),
    ("same, on different CPUs, varbinds/s", "walk_split_rate", "walk_keepalived_split_rate"),
    ("subagent CPU per value in those walks, same CPU, µs", "walk_agent_cpu", "walk_keepalived_cpu"),
    ("same, different CPUs, µs", "walk_split_agent_cpu", "walk_keepalived_split_cpu"),
    ("snmpd CPU per value in those walks, same CPU, µs", "walk_snmpd_cpu", "walk_keepalived_snmpd_cpu"),
    ("same, different CPUs, µs", "walk_split_snmpd_cpu", "walk_keepalived_split_snmpd_cpu"),
]


def walk_side_by_side(recs):
    by_key = {r["key"]: r for r in recs}
    if not any(k.startswith("walk_keepalived_") and by_key[k]["vals"] for k in by_key):
        return []

    def cell(key):
        r = by_key.get(key)
        if not r or not r["vals"]:
            return "—"
        op = ">=" if r["unit"] == "varbinds/s" else "<="  # a rate is better higher, with or without a target
        return "%s (p90 %s, N %d)" % (fmt(median(r["vals"])), fmt(p90(r["vals"], op)), len(r["vals"]))

    lines = ["", "## Walk: sipha beside keepalived, same run (median)", "",
             "| figure | sipha (siphaServiceDnTable) | keepalived (vrrpAddressTable) |", "|---|---|---|"]
    for title, sk, kk in WALK_SIDE_BY_SIDE:
        if sk in by_key or kk in by_key:
            lines.append("| %s | %s | %s |" % (title, cell(sk), cell(kk)))
    return lines


def fmt(v):
    a = abs(v)
    if a >= 1000:
        return "{:,.0f}".format(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3g" % v


def read_records(path):
    recs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 7:
                continue
            parts += [""] * (8 - len(parts))
            key, title, unit, op, target, ttext, values, note = parts[:8]
            vals = [float(v) for v in values.split()]
            recs.append(dict(key=key, title=title, unit=unit, op=op, target=target,
                             ttext=ttext, vals=vals, note=note))
    return recs


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 1048576)
    except (OSError, ValueError, IndexError):
        pass
    osname = "?"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    try:
        snmpd = subprocess.run(["snmpd", "-v"], capture_output=True, text=True).stdout
        snmpd = next((l.split(":", 1)[1].strip() for l in snmpd.splitlines()
                      if "version" in l.lower()), "?")
    except OSError:
        snmpd = "?"
    load = " ".join("%.2f" % x for x in os.getloadavg())
    start = os.environ.get("BENCH_LOAD_START", "?")
    return ("%s, %d CPUs (%s), %s RAM, kernel %s, Net-SNMP %s; load average (1, 5, 15 min) "
            "at the start %s, at the end %s" % (osname, os.cpu_count() or 0, cpu, mem,
                                                platform.release(), snmpd, start, load))


def table(records, out, sections):
    recs = read_records(records)
    started = os.environ.get("BENCH_STARTED", time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    lines = ["# sipha benchmark results", "",
             "Written by `bench/run.sh` (`make bench`); see `bench/README.md` for what each "
             "figure measures and how.", "",
             "- date: %s (run started), %s (written)" % (started, time.strftime("%Y-%m-%d %H:%M:%S %Z")),
             "- machine: %s" % machine(),
             "- median: middle run; p90: 90th percentile on the worse side (for varbinds/s "
             "the rate 90 % of runs reach); result: the median against the target, "
             "or every run for \"every run\" targets.", ""]
    if sections:
        lines += ["Sections run: %s" % sections, ""]
    lines += ["| figure | target | median | p90 | N | result | runs / note |",
              "|---|---|---|---|---|---|---|"]
    fails = 0
    for r in recs:
        if not r["vals"]:
            skipped = r["note"].startswith("SKIPPED")
            lines.append("| %s | %s | — | — | 0 | %s | %s |"
                         % (r["title"], r["ttext"] or "—",
                            "SKIPPED" if skipped else "**FAIL** (no run)", r["note"]))
            fails += not skipped
            continue
        v = verdict(r["op"], r["target"], r["vals"])
        fails += v == "**FAIL**"
        runs = " ".join(fmt(x) for x in r["vals"])
        note = runs if len(r["vals"]) > 1 else ""
        if r["note"]:
            note = (note + "; " if note else "") + r["note"]
        unit = " " + r["unit"] if r["unit"] else ""
        lines.append("| %s | %s | %s%s | %s%s | %d | %s | %s |"
                     % (r["title"], r["ttext"] or "—", fmt(median(r["vals"])), unit,
                        fmt(p90(r["vals"], r["op"])), unit, len(r["vals"]), v, note))
    lines.append("")
    lines.append("%d figure(s) with a target missed." % fails if fails
                 else "Every figure with a target met it.")
    lines += walk_side_by_side(recs)
    lines += side_by_side(recs)
    text = "\n".join(lines) + "\n"
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    print(text)


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "stats":
        vals = [float(v) for v in sys.argv[3].split()]
        if not vals:
            print("0 - -")
            return
        print("%d %s %s" % (len(vals), fmt(median(vals)), fmt(p90(vals, sys.argv[2]))))
    elif len(sys.argv) >= 4 and sys.argv[1] == "table":
        table(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
