#!/usr/bin/env python3
"""evtime.py — the time of the first matching event logged after a given moment.

    evtime.py [--wait SECONDS] vip  LOG AFTER ADDRESS   address ADDRESS added
    evtime.py [--wait SECONDS] gone LOG AFTER ADDRESS   address ADDRESS deleted
    evtime.py [--wait SECONDS] trap LOG AFTER OID INST  trap OID from instance INST

LOG is the output of `ip -ts monitor link address` (vip, gone) or of
trap_receiver.py (trap). AFTER is a wall-clock time in seconds (bash
$EPOCHREALTIME). Prints the event's time in seconds since the epoch, or nothing
(exit 1) when none came within --wait seconds (default 0: look once).
"""
import datetime
import re
import sys
import time

IP_TS = re.compile(r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\] (.*)$")


def ip_events(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = IP_TS.match(line)
            if m:
                # ip -ts prints local time; fromisoformat + timestamp() read it as local
                yield datetime.datetime.fromisoformat(m.group(1)).timestamp(), m.group(2)


def find(kind, path, after, args):
    if kind == "trap":
        oid, inst = args[0].lstrip("."), args[1]
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                p = line.split()
                if len(p) == 4 and not line.startswith("#") and float(p[0]) >= after \
                        and p[2] == oid and p[3] == inst:
                    return float(p[0])
        return None
    for ts, text in ip_events(path):
        if ts < after:
            continue
        if kind == "vip" and not text.startswith("Deleted") and " inet %s/" % args[0] in text:
            return ts
        if kind == "gone" and text.startswith("Deleted") and " inet %s/" % args[0] in text:
            return ts
    return None


def main():
    argv = sys.argv[1:]
    wait = 0.0
    if argv[:1] == ["--wait"]:
        wait = float(argv[1])
        argv = argv[2:]
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        sys.exit(2)
    kind, path, after, args = argv[0], argv[1], float(argv[2]), argv[3:]
    end = time.time() + wait
    while True:
        ts = find(kind, path, after, args)
        if ts is not None:
            print("%.6f" % ts)
            return
        if time.time() >= end:
            sys.exit(1)
        time.sleep(0.005)


if __name__ == "__main__":
    main()
