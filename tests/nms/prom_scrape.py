#!/usr/bin/env python3
"""prom_scrape.py — helpers of tests/nms/test_prometheus.sh around what
prometheus-snmp-exporter returned from a running pair.

  prom_scrape.py shapes TESTFILE SCRAPE
      checks that every series of a promtool test file (but `up`) has the metric name
      and label names of a series in SCRAPE (job, instance and pair come from the
      scrape configuration, not from the exporter); prints what does not match.
  prom_scrape.py phases RULES OUT --target T --pair P --phase NAME=SCRAPE,SCRAPE...
          [--expect 'NAME ALERT [k=v,k=v;k=v...]']...
      writes OUT, a promtool unit test of RULES whose input series are the samples of
      the scrapes (each phase lasts 10 minutes of 15 s samples, split evenly between
      its scrapes, with the labels Prometheus adds: job="sipha", instance=T, pair=P),
      and one alert_rule_test per --expect, evaluated at the end of that phase: ALERT
      must fire with exactly the alerts given (`;` between alerts, each a list of
      k=v that pick the instance's series, or value=N for a pair rule's $value), or
      not at all when none is given.
"""
import re
import sys

import yaml

SAMPLE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')
STEP = 15          # seconds between samples
PHASE = 40         # samples per phase (10 minutes)
# The metrics the rules read.
RULE_METRICS = ("siphaInstRole", "siphaInstStatus", "siphaInstListenerBound",
                "siphaInstPeerLinkState", "siphaInstSwitchovers",
                "siphaInstHaLinkAuthFailures", "siphaInstStateDirStatus",
                "siphaInstContactSourceState")


def parse(path):
    """[(metric, {labels}, value)] of an exposition-format file."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            m = SAMPLE.match(line)
            if not m:
                raise SystemExit(f"{path}: unparsable line: {line}")
            labels = dict(LABEL.findall(m.group(2) or ''))
            out.append((m.group(1), labels, m.group(3)))
    return out


def pick(samples, metric, want):
    return [(l, v) for n, l, v in samples
            if n == metric and all(l.get(k) == x for k, x in want.items())]


def series_key(text):
    m = re.match(r'^([A-Za-z_:][A-Za-z0-9_:]*)\{(.*)\}$', text.strip())
    return m.group(1), dict(LABEL.findall(m.group(2)))


def cmd_shapes(testfile, scrape):
    real = {}
    for n, l, _ in parse(scrape):
        real.setdefault(n, set()).add(frozenset(l))
    with open(testfile) as f:
        doc = yaml.safe_load(f)
    bad = 0
    for t in doc["tests"]:
        for s in t["input_series"]:
            name, labels = series_key(s["series"])
            if name == "up":
                continue
            names = frozenset(k for k in labels if k not in ("job", "instance", "pair"))
            if names not in real.get(name, set()):
                print(f"no such series shape in the scrape: {s['series']}")
                bad += 1
    return 1 if bad else 0


def render(template, labels, value):
    out = re.sub(r'\{\{\s*\$labels\.([A-Za-z0-9_]+)\s*\}\}', lambda m: labels.get(m.group(1), ''),
                 template)
    return re.sub(r'\{\{\s*\$value\s*\}\}', value if value is not None else '', out)


def cmd_phases(rules_path, out_path, args):
    target = pair = None
    phases, expects = [], []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--target":
            target = args[i + 1]
        elif a == "--pair":
            pair = args[i + 1]
        elif a == "--phase":
            name, files = args[i + 1].split('=', 1)
            phases.append((name, [parse(p) for p in files.split(',')]))
        elif a == "--expect":
            expects.append(args[i + 1])
        else:
            raise SystemExit(f"unknown argument {a}")
        i += 2
    base = {"job": "sipha", "instance": target, "pair": pair}

    # Every (metric, labels) seen in any scrape becomes one input series; a phase
    # without it leaves it missing (stale first, as Prometheus marks a vanished series).
    keys = {}
    for _, scrapes in phases:
        for s in scrapes:
            for n, l, _ in s:
                if n in RULE_METRICS:
                    keys[(n, tuple(sorted(l.items())))] = True
    series = []
    for n, litems in keys:
        tokens = []
        for _, scrapes in phases:
            for j, s in enumerate(scrapes):
                count = PHASE // len(scrapes) + (PHASE % len(scrapes) if j == 0 else 0)
                found = [v for sn, sl, v in s if sn == n and tuple(sorted(sl.items())) == litems]
                for _ in range(count):
                    if found:
                        tokens.append(found[0])
                    elif tokens and tokens[-1] not in ('_', 'stale'):
                        tokens.append('stale')
                    else:
                        tokens.append('_')
        labels = dict(litems, **base)
        sel = ','.join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        series.append({"series": f"{n}{{{sel}}}", "values": ' '.join(tokens)})
    series.append({"series": f'up{{instance="{target}",job="sipha",pair="{pair}"}}',
                   "values": ' '.join(['1'] * (PHASE * len(phases)))})

    with open(rules_path) as f:
        rules = {r["alert"]: r for g in yaml.safe_load(f)["groups"] for r in g["rules"]}
    phase_end = {name: (k + 1) * PHASE * STEP - STEP for k, (name, _) in enumerate(phases)}
    last_scrape = {name: scrapes[-1] for name, scrapes in phases}
    tests = []
    for e in expects:
        parts = e.split(' ', 2)
        phase, alert = parts[0], parts[1]
        rule = rules[alert]
        sel = re.search(r'([A-Za-z_:][A-Za-z0-9_:]*)(?:\{([^}]*)\})?', rule["expr"].split('(')[-1])
        exp = []
        for spec in (parts[2].split(';') if len(parts) > 2 else []):
            want = dict(p.split('=', 1) for p in spec.split(','))
            value = want.pop("value", None)
            if "by (pair)" in rule["expr"]:
                labels = {"pair": pair}
            else:
                metric = sel.group(1)
                extra = dict(LABEL.findall(sel.group(2) or ''))
                got = pick(last_scrape[phase], metric, dict(want, **extra))
                if len(got) != 1:
                    raise SystemExit(f"--expect '{e}': {len(got)} series of {metric} match")
                labels = dict(got[0][0], **base)
            labels.update(rule.get("labels", {}))
            ann = {k: render(v, labels, value) for k, v in rule.get("annotations", {}).items()}
            exp.append({"exp_labels": labels, "exp_annotations": ann})
        tests.append({"eval_time": f"{phase_end[phase]}s", "alertname": alert, "exp_alerts": exp})

    doc = {"rule_files": [rules_path], "evaluation_interval": f"{STEP}s",
           "tests": [{"interval": f"{STEP}s", "input_series": series, "alert_rule_test": tests}]}
    with open(out_path, 'w') as f:
        yaml.safe_dump(doc, f, sort_keys=False, width=1000)
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, rest = argv[1], argv[2:]
    if cmd == "shapes":
        return cmd_shapes(*rest)
    if cmd == "phases":
        return cmd_phases(rest[0], rest[1], rest[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
