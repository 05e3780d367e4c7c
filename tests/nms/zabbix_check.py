#!/usr/bin/env python3
"""zabbix_check.py — checks of nms/zabbix/sipha_zabbix_template.yaml against SIPHA-MIB,
real trap texts and a running agent (tests/nms/test_zabbix.sh). Prints "ok    ..." and
"FAIL  ..." lines; exits 1 on any failure.

  zabbix_check.py static TEMPLATE
      YAML (python3-yaml) of the Zabbix 6.0 export format: version, unique UUIDs; the
      discovery rule walks siphaInstName; every item prototype reads a readable column
      of siphaInstanceTable at {#SNMPINDEX}, with a value type that fits its SYNTAX and,
      for an enumeration, a value map equal to the MIB's; every constant a trigger
      compares an enumerated item with is one of its values; the trap items name
      SIPHA-MIB notifications. Needs snmptranslate and MIBDIRS.
  zabbix_check.py traps TEMPLATE LIST SYMBOLIC NUMERIC
      LIST is `sipha-trapgen --list`; SYMBOLIC and NUMERIC hold one trap per line as
      snmptrapd wrote them (without and with -On). Every trap item's regular
      expression matches exactly the notifications it names, in both forms, and each
      trap trigger's problem and recovery expressions pick the right ones.
  zabbix_check.py live TEMPLATE OUT SNMP-ARGS...
      does what Zabbix's SNMP discovery does with the rule (walk, {#SNMPINDEX},
      {#SIPHA.NAME}), then reads every item prototype of every discovered instance
      with snmpget SNMP-ARGS; each value must fit the item (number; one of its value
      map's values). Writes "KEY[INDEX] NAME VALUE" lines to OUT.
"""
import re
import subprocess
import sys

import yaml

FAILED = 0


def check(ok, what):
    global FAILED
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        FAILED += 1
    return ok


def template(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    return doc, doc["zabbix_export"]["templates"][0]


def translate(*args):
    r = subprocess.run(["snmptranslate", "-m", "SIPHA-MIB", *args], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else ""


def mib_object(oid):
    """(name, syntax line, enum dict, access) of a numeric OID from SIPHA-MIB."""
    name = translate(oid if oid.startswith('.') else '.' + oid)
    td = translate("-Td", name) if name else ""
    syn = re.search(r'^\s*SYNTAX\s+(.*)$', td, re.M)
    acc = re.search(r'^\s*MAX-ACCESS\s+(\S+)', td, re.M)
    syntax = syn.group(1).strip() if syn else ""
    enums = {int(v): k for k, v in re.findall(r'([A-Za-z][A-Za-z0-9]*)\((\d+)\)', syntax)} \
        if syntax.startswith("INTEGER {") else {}
    return name, syntax, enums, acc.group(1) if acc else ""


def walk_uuids(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "uuid":
                out.append(v)
            else:
                walk_uuids(v, out)
    elif isinstance(node, list):
        for v in node:
            walk_uuids(v, out)


def rules_of(tpl):
    return tpl.get("discovery_rules", [])


ENUM_CMP = re.compile(r'(last|min|max)\(/[^/]+/([^,)]+\])(?:,[^)]*)?\)\s*(=|<>|>=|<=|>|<)\s*(\d+)')


def cmd_static(path):
    doc, tpl = template(path)
    ex = doc["zabbix_export"]
    check(str(ex["version"]) == "6.0", "export format version 6.0")
    uuids = []
    walk_uuids(ex, uuids)
    check(all(re.fullmatch(r'[0-9a-f]{32}', u) for u in uuids), f"{len(uuids)} UUIDs, 32 lowercase hex digits each")
    check(len(set(uuids)) == len(uuids), "UUIDs unique")
    vmaps = {v["name"]: {int(m["value"]): m["newvalue"] for m in v["mappings"]} for v in tpl.get("valuemaps", [])}
    rules = rules_of(tpl)
    check(len(rules) == 1, "one discovery rule")
    rule = rules[0]
    m = re.fullmatch(r'discovery\[\{#SIPHA\.NAME\},([0-9.]+)\]', rule["snmp_oid"])
    check(bool(m) and mib_object(m.group(1))[0] == "SIPHA-MIB::siphaInstName",
          f"discovery rule walks siphaInstName ({rule['snmp_oid']})")
    enum_items = {}
    for p in rule["item_prototypes"]:
        key = p["key"]
        mo = re.fullmatch(r'([0-9.]+)\.\{#SNMPINDEX\}', p.get("snmp_oid", ""))
        if not check(p.get("type") == "SNMP_AGENT" and bool(mo), f"{key}: SNMP agent item at {{#SNMPINDEX}}"):
            continue
        name, syntax, enums, access = mib_object(mo.group(1))
        col = name.split("::")[-1]
        in_table = re.fullmatch(r'1\.3\.6\.1\.4\.1\.32473\.1\.1\.1\.1\.\d+', mo.group(1)) is not None
        check(in_table and access.startswith("read-"), f"{key}: reads {name} ({access})")
        check(key.endswith("[{#SNMPINDEX}]") and "{#SIPHA.NAME}" in p["name"],
              f"{key}: key and name carry the instance")
        vt = p.get("value_type", "UNSIGNED")
        steps = [s["type"] for s in p.get("preprocessing", [])]
        if syntax.startswith(("DisplayString", "OCTET")):
            check(vt in ("CHAR", "TEXT"), f"{key}: text value type for {col}")
        elif "CHANGE_PER_SECOND" in steps:
            check(vt == "FLOAT" and re.match(r'Counter', syntax) is not None,
                  f"{key}: per-second rate (FLOAT) of the counter {col}")
        else:
            check(vt == "UNSIGNED", f"{key}: UNSIGNED for {col} ({syntax.split()[0] if syntax else '?'})")
        if enums:
            vm = p.get("valuemap", {}).get("name")
            check(vm in vmaps and vmaps[vm] == enums, f"{key}: value map {vm} is the MIB's {col} enumeration")
            enum_items[key.replace("{#SNMPINDEX}", "")] = enums
        if "SIMPLE_CHANGE" in steps:
            check(syntax.startswith("Counter"), f"{key}: simple change of a counter ({col})")
    triggers = list(rule.get("trigger_prototypes", []))
    for p in rule["item_prototypes"]:
        triggers += p.get("trigger_prototypes", [])
    for t in triggers:
        for fn, item, op, val in ENUM_CMP.findall(t["expression"]):
            enums = enum_items.get(item.replace("{#SNMPINDEX}", ""))
            if enums is not None:
                check(int(val) in enums, f"\"{t['name']}\": {fn}({item}) {op} {val} ({enums.get(int(val), 'no such value')})")
    check(len(triggers) >= 6, f"{len(triggers)} trigger prototypes")
    for it in tpl.get("items", []):
        if it.get("type") != "SNMP_TRAP":
            continue
        rx = trap_regex(it["key"])
        for n in re.findall(r'sipha[A-Za-z]+', rx or ""):
            obj = translate("-On", "SIPHA-MIB::" + n)
            check(obj.startswith(".1.3.6.1.4.1.32473.1.0."), f"trap item names notification {n} ({obj})")
    return 1 if FAILED else 0


def trap_regex(key):
    m = re.fullmatch(r'snmptrap\["(.*)"\]', key)
    return m.group(1).replace('\\"', '"') if m else None


FIND = re.compile(r'find\(/[^/]+/(snmptrap\[".*?"\]),,"regexp","((?:[^"\\]|\\.)*)"\)')


def cmd_traps(path, listfile, sym, num):
    _, tpl = template(path)
    notes = [l.split()[:2] for l in open(listfile) if l.strip()]
    texts = {}
    for label, f in (("symbolic", sym), ("numeric", num)):
        lines = [l for l in open(f) if l.startswith("TRAP ")]
        check(len(lines) == len(notes), f"{len(lines)} {label} trap texts for {len(notes)} notifications")
        for (name, oid), line in zip(notes, lines):
            texts[(label, name)] = line
            want = f"SIPHA-MIB::{name}" if label == "symbolic" else f".{oid}"
            check(want in line, f"{label} trap text of {name} carries {want}")
    names = [n for n, _ in notes]
    traps = [it for it in tpl.get("items", []) if it.get("type") == "SNMP_TRAP"]
    check(len(traps) >= 6, f"{len(traps)} SNMP trap items")
    for it in traps:
        rx = re.compile(trap_regex(it["key"]))
        named = set(re.findall(r'sipha[A-Za-z]+', rx.pattern))
        for form in ("symbolic", "numeric"):
            got = {n for n in names if rx.search(texts[(form, n)])}
            check(got == named, f"{it['name']}: matches {', '.join(sorted(got)) or 'nothing'} ({form})")
        for t in it.get("triggers", []):
            for what in ("expression", "recovery_expression"):
                if what not in t:
                    continue
                for key, frx in FIND.findall(t[what]):
                    frx = re.compile(frx.replace('\\"', '"').replace('\\\\', '\\'))
                    fnamed = set(re.findall(r'sipha[A-Za-z]+', frx.pattern))
                    for form in ("symbolic", "numeric"):
                        got = {n for n in names if rx.search(texts[(form, n)]) and frx.search(texts[(form, n)])}
                        check(got == fnamed and fnamed, f"\"{t['name']}\" {what.replace('_', ' ')}: "
                              f"{', '.join(sorted(got)) or 'nothing'} ({form})")
    return 1 if FAILED else 0


def snmp(tool, args, *oids):
    r = subprocess.run([tool, "-On", "-Oe", "-Ot", *args, *oids], capture_output=True, text=True, timeout=30)
    return r.stdout


def cmd_live(path, out, args):
    _, tpl = template(path)
    rule = rules_of(tpl)[0]
    base = re.fullmatch(r'discovery\[\{#SIPHA\.NAME\},([0-9.]+)\]', rule["snmp_oid"]).group(1)
    found = []
    for line in snmp("snmpwalk", args, "." + base).splitlines():
        m = re.match(r'^\.' + re.escape(base) + r'\.(\d+) = STRING: "?([^"]*)"?$', line)
        if m:
            found.append((m.group(1), m.group(2)))
    check(len(found) >= 1, "discovery finds " + ", ".join(f"{{#SNMPINDEX}}={i} {{#SIPHA.NAME}}={n}" for i, n in found))
    vmaps = {v["name"]: {int(m["value"]) for m in v["mappings"]} for v in tpl.get("valuemaps", [])}
    with open(out, "w") as f:
        for idx, name in found:
            for p in rule["item_prototypes"]:
                oid = "." + p["snmp_oid"].replace("{#SNMPINDEX}", idx)
                key = p["key"].replace("{#SNMPINDEX}", idx)
                text = snmp("snmpget", args, oid).strip()
                m = re.match(r'^' + re.escape(oid) + r' = (?:[A-Za-z0-9]+: )?(-?\d+)(?: \S+)?$', text)
                if not check(m is not None, f"{name}: {key} reads a number ({text})"):
                    continue
                v = int(m.group(1))
                vm = p.get("valuemap", {}).get("name")
                if vm:
                    check(v in vmaps[vm], f"{name}: {key} = {v}, a value of {vm}")
                f.write(f"{key} {name} {v}\n")
    return 1 if FAILED else 0


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "static":
        return cmd_static(argv[2])
    if cmd == "traps":
        return cmd_traps(*argv[2:6])
    if cmd == "live":
        return cmd_live(argv[2], argv[3], argv[4:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
