#!/usr/bin/env python3
"""include_graph.py — the #include "..." graph of sipha, checked and drawn.

  include_graph.py check [-v]   exit 1, printing each finding, when
      - a file of a layer includes a header of a folder its layer may not use;
      - headers include each other in a circle;
      - a quoted include names no header of the tree, or one found in two folders;
      - the layering itself has a circle;
      - docs/architecture.dot shows other folders or layer edges than the tree has
        (run `make graph`); the include counts on its edges are not compared.
    Silent and exit 0 when all is well (-v prints a summary).
  include_graph.py dot-layers   the folder-level graph (DOT) on stdout
  include_graph.py dot-files    the file-level graph (DOT) on stdout
  include_graph.py graph DIR    DIR/architecture.{dot,svg}, DIR/architecture-files.svg
                                (needs Graphviz's dot)

What a layer may include comes from one place: the Makefile's INC_<layer> lines, read
back from make itself (`make --eval`), so this check and the build cannot disagree.
A file's layer is the first folder of its path, as the Makefile's layer_of says. The
build already rejects most wrong includes, but not all: a header is only compiled
with the -I list of the .c files that include it, so a wrong include in a header used
only from agent/ builds fine; nor does -I stop "../agent/x.h". This check reads
every file of every layer instead. tests/ may include anything and is not checked for
direction (its headers take part in the circle check).

Run from anywhere; the repository is the parent of this script's folder.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FREE_LAYERS = {"tests"}          # may include anything (checked for circles only)
DOT_FILE = "docs/architecture.dot"
SIGNATURE = "// layers:"         # the line of DOT_FILE that `check` compares

# One line per folder for the pictures (what the folder is, not what it may include).
ROLES = {
    "base": "loop, curl glue, errbuf, rows, arrays, addresses",
    "engine": "pure HA logic: inputs in, outputs out",
    "monitors": "kernel and network event sources",
    "sipsrv": "the SIP server beside the agent: Kamailio RPC and events",
    "etcd": "etcd v3: JSON gateway client, lease holder, contact store",
    "halink": "HA link between the pair: codec, key, socket",
    "mib": "model: rows, OIDs, values, event log, notifications",
    "agent": "composition root: process, AgentX, config",
    "trapgen": "sipha-trapgen, a tool on mib/",
    "ctl": "sipha-ctl: status and switchover over SNMP",
}


def fail_usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


# --- the allowed table, from the Makefile -----------------------------------------

def read_inc_lines():
    """{layer: [folders it may include, itself first]} from the Makefile's INC_*."""
    dump = ('_include_graph_dump: ; @printf "%s\\n" '
            '$(foreach v,$(sort $(filter INC_%,$(.VARIABLES))),"$(v)=$($(v))")')
    env = dict(os.environ)
    for v in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(v, None)
    try:
        out = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT,
                              "--eval", dump, "_include_graph_dump"],
                             env=env, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        sys.exit("include_graph: cannot read the INC_* lines of the Makefile: " + err.strip())
    table = {}
    for line in out.splitlines():
        m = re.match(r"INC_([A-Za-z0-9_]+)=(.*)$", line)
        if not m:
            continue
        dirs = []
        for flag in m.group(2).split():
            if not flag.startswith("-I"):
                sys.exit("include_graph: INC_%s has %r, not an -I flag" % (m.group(1), flag))
            d = os.path.normpath(flag[2:])
            if d not in dirs:
                dirs.append(d)
        table[m.group(1)] = dirs
    if not table:
        sys.exit("include_graph: the Makefile has no INC_<layer> lines")
    return table


def layers_of(table):
    """The checked layers: INC_ names that are folders of the tree, less tests/."""
    return sorted(l for l in table
                  if l not in FREE_LAYERS and os.path.isdir(os.path.join(ROOT, l)))


# --- the tree and its includes ----------------------------------------------------

INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"\n]+)"', re.M)


def strip_comments(text):
    """C text with comments blanked (newlines kept, so line numbers stay right)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def source_files(folders):
    """Every .c/.h under the given top folders, as sorted repository-relative paths."""
    files = []
    for top in folders:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
            dirnames.sort()
            for f in filenames:
                if f.endswith((".c", ".h")):
                    files.append(os.path.relpath(os.path.join(dirpath, f), ROOT))
    return sorted(files)


class Tree:
    """Files of the layers (and tests/), their quoted includes, resolved."""

    def __init__(self, table):
        self.table = table
        self.layers = layers_of(table)
        self.files = source_files(self.layers + sorted(FREE_LAYERS))
        self.headers = {}                      # basename -> [paths]
        for f in self.files:
            if f.endswith(".h"):
                self.headers.setdefault(os.path.basename(f), []).append(f)
        self.includes = []                     # (file, line, name, resolved or None)
        self.problems = []
        for f in self.files:
            with open(os.path.join(ROOT, f), encoding="utf-8", errors="replace") as fh:
                text = strip_comments(fh.read())
            for m in INCLUDE_RE.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                self.includes.append((f, line, m.group(1), self.resolve(f, line, m.group(1))))

    def resolve(self, f, line, name):
        """The header a quoted include means: next to the file, else by its name."""
        here = os.path.normpath(os.path.join(os.path.dirname(f), name))
        if os.path.isfile(os.path.join(ROOT, here)):
            return here
        if "/" in name:
            found = [p for p in self.files if p == os.path.normpath(name)
                     or p.endswith("/" + os.path.normpath(name))]
        else:
            found = self.headers.get(name, [])
        if len(found) == 1:
            return found[0]
        if found:
            self.problems.append('%s:%d: #include "%s" is ambiguous: %s'
                                 % (f, line, name, " and ".join(found)))
        else:
            self.problems.append('%s:%d: #include "%s" names no header of the tree'
                                 % (f, line, name))
        return None


def folder_of(path):
    return os.path.dirname(path)


def layer_of(path):
    return path.split("/", 1)[0]


# --- the checks -------------------------------------------------------------------

def direction_problems(tree):
    found = []
    for f, line, name, target in tree.includes:
        layer = layer_of(f)
        if target is None or layer in FREE_LAYERS:
            continue
        allowed = tree.table[layer]
        if folder_of(target) not in allowed:
            found.append('%s:%d: #include "%s" is %s, but %s/ may include only %s'
                         ' (INC_%s in the Makefile)'
                         % (f, line, name, target, layer,
                            " ".join(d + "/" for d in allowed), layer))
    return found


def strongly_connected(nodes, edges):
    """Tarjan's components of the graph, each sorted, in a stable order."""
    index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        # Iterative, so a deep include chain cannot hit Python's recursion limit.
        work = [(v, iter(sorted(edges.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                comps.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return comps


def cycle_in(comp, edges):
    """A shortest circle through the first node of a strongly connected component."""
    start, members = comp[0], set(comp)
    parent, frontier = {}, [start]
    while frontier:                            # breadth first, so the circle is short
        nxt = []
        for v in frontier:
            for w in sorted(edges.get(v, ())):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [start] + path[::-1][1:] + [start] if v != start else [start, start]
                if w in members and w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    return comp + [start]                      # not reached for a real component


def circle_problems(nodes, edges, what):
    found = []
    for comp in strongly_connected(nodes, edges):
        if len(comp) > 1 or comp[0] in edges.get(comp[0], ()):
            more = "" if len(comp) <= 2 else " (%d in all: %s)" % (len(comp), " ".join(comp))
            found.append("%s circle: %s%s" % (what, " -> ".join(cycle_in(comp, edges)), more))
    return found


def header_graph(tree):
    edges = {}
    for f, _, _, target in tree.includes:
        if f.endswith(".h") and target and target.endswith(".h"):
            edges.setdefault(f, set()).add(target)
    return [f for f in tree.files if f.endswith(".h")], edges


def layering_graph(table, layers):
    """Folder edges the INC_* lines allow between checked layers (self left out)."""
    return {l: {d for d in table[l] if d in layers and d != l} for l in layers}


# --- the pictures -----------------------------------------------------------------

def layer_edges(tree):
    """{(from layer, to layer): number of include lines}, between checked layers."""
    counts = {}
    for f, _, _, target in tree.includes:
        a, b = layer_of(f), target and layer_of(target)
        if a in tree.layers and b in tree.layers and a != b:
            counts[(a, b)] = counts.get((a, b), 0) + 1
    return counts


def signature(tree):
    edges = sorted("%s>%s" % e for e in layer_edges(tree))
    return "%s %s; %s" % (SIGNATURE, ",".join(tree.layers), " ".join(edges))


def q(s):
    return '"%s"' % s.replace('"', '\\"')


def dot_layers(tree):
    counts = layer_edges(tree)
    allowed = layering_graph(tree.table, tree.layers)
    nfiles = {l: sum(1 for f in tree.files if layer_of(f) == l) for l in tree.layers}
    out = ["// Generated by scripts/include_graph.py (make graph); do not edit.",
           "// The line below is what make lint compares with the tree.",
           signature(tree),
           "digraph sipha_layers {",
           '  graph [rankdir=TB, nodesep=0.5, ranksep=0.55, fontname="Helvetica",'
           ' labelloc=t, fontsize=14,',
           '         label="sipha: folders and their #include \\"...\\" edges'
           ' (label: include lines; dashed: allowed by the Makefile, unused)"];',
           '  node [shape=box, style="rounded,filled", fillcolor="#eef3fa",'
           ' fontname="Helvetica", fontsize=11];',
           '  edge [fontname="Helvetica", fontsize=10, color="#44556f"];']
    for l in tree.layers:
        label = "%s/\\n%s\\n(%d files)" % (l, ROLES.get(l, ""), nfiles[l])
        out.append("  %s [label=%s];" % (q(l), q(label)))
    for a in tree.layers:
        for b in sorted(allowed[a]):
            if (a, b) in counts:
                out.append("  %s -> %s [label=%s];" % (q(a), q(b), q(str(counts[(a, b)]))))
            elif not any(b in allowed[c] for c in allowed[a]):
                # Unused and not implied by a layer in between (trapgen/ -> base/ is).
                out.append('  %s -> %s [style=dashed, color="#9aa5b5"];' % (q(a), q(b)))
    for (a, b), n in sorted(counts.items()):   # only if the tree breaks the layering
        if b not in allowed[a]:
            out.append('  %s -> %s [label=%s, color=red, fontcolor=red];' % (q(a), q(b), q(str(n))))
    out.append("}")
    return "\n".join(out) + "\n"


def dot_files(tree):
    """Modules (x.c and x.h as one node) in folder clusters, include edges between them."""
    def module(path):
        return os.path.splitext(path)[0]
    checked = [f for f in tree.files if layer_of(f) in tree.layers]
    mods = {}
    for f in checked:
        mods.setdefault(folder_of(f), set()).add(module(f))
    edges = set()
    for f, _, _, target in tree.includes:
        if layer_of(f) in tree.layers and target and layer_of(target) in tree.layers:
            a, b = module(f), module(target)
            if a != b:
                edges.add((a, b))
    out = ["// Generated by scripts/include_graph.py (make graph); do not edit.",
           "digraph sipha_files {",
           '  graph [rankdir=TB, ranksep=0.6, nodesep=0.15, fontname="Helvetica",'
           ' labelloc=t, fontsize=14, newrank=true,',
           '         label="sipha: modules (x.c + x.h) by folder and their #include edges"];',
           '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica",'
           ' fontsize=9, height=0.25];',
           '  edge [color="#44556f80", arrowsize=0.5];']
    for folder in sorted(mods):
        out.append("  subgraph %s {" % q("cluster_" + folder))
        out.append('    label=%s; style="rounded,filled"; fillcolor="#eef3fa"; color="#9aa5b5";'
                   % q(folder + "/"))
        for m in sorted(mods[folder]):
            out.append("    %s [label=%s];" % (q(m), q(os.path.basename(m))))
        out.append("  }")
    for a, b in sorted(edges):
        out.append("  %s -> %s;" % (q(a), q(b)))
    out.append("}")
    return "\n".join(out) + "\n"


def run_dot(text, svg):
    try:
        subprocess.run(["dot", "-Tsvg", "-o", svg], input=text, text=True, check=True)
    except FileNotFoundError:
        sys.exit("include_graph: Graphviz's dot not found (apt-get install graphviz)")
    except subprocess.CalledProcessError:
        sys.exit("include_graph: dot failed on " + svg)


def write_graphs(outdir):
    tree = Tree(read_inc_lines())
    os.makedirs(outdir, exist_ok=True)
    layers = dot_layers(tree)
    run_dot(layers, os.path.join(outdir, "architecture.svg"))
    run_dot(dot_files(tree), os.path.join(outdir, "architecture-files.svg"))
    tmp = os.path.join(outdir, ".architecture.dot.tmp")
    with open(tmp, "w") as fh:
        fh.write(layers)
    os.replace(tmp, os.path.join(outdir, "architecture.dot"))


# --- main -------------------------------------------------------------------------

def check(verbose):
    table = read_inc_lines()
    layers = layers_of(table)
    problems = circle_problems(layers, layering_graph(table, layers), "Makefile INC_* layering")
    tree = Tree(table)
    problems += tree.problems
    problems += direction_problems(tree)
    problems += circle_problems(*header_graph(tree), "include")
    dot = os.path.join(ROOT, DOT_FILE)
    want = signature(tree)
    try:
        with open(dot) as fh:
            have = next((l.rstrip("\n") for l in fh if l.startswith(SIGNATURE)), None)
    except OSError:
        have = None
    if have != want and not problems:          # otherwise fixing those may settle it
        problems.append("%s is stale (folders or layer edges changed): run `make graph`\n"
                        "  file: %s\n  tree: %s" % (DOT_FILE, have or "(none)", want))
    for p in problems:
        print("include: " + p, file=sys.stderr)
    if verbose:
        quoted = len(tree.includes)
        print("include: %d quoted includes in %d files of %s (+ %s); allowed edges from the"
              " Makefile: %s; %d problem(s)"
              % (quoted, len(tree.files), "/ ".join(layers) + "/",
                 "/ ".join(sorted(FREE_LAYERS)) + "/",
                 "; ".join("%s: %s" % (l, " ".join(table[l])) for l in layers), len(problems)))
    return 1 if problems else 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "check" and set(argv[2:]) <= {"-v"}:
        return check("-v" in argv[2:])
    if argv[1:] == ["dot-layers"]:
        sys.stdout.write(dot_layers(Tree(read_inc_lines())))
        return 0
    if argv[1:] == ["dot-files"]:
        sys.stdout.write(dot_files(Tree(read_inc_lines())))
        return 0
    if len(argv) == 3 and argv[1] == "graph":
        write_graphs(argv[2])
        return 0
    fail_usage()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
