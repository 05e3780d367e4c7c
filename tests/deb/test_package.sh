#!/usr/bin/env bash
# test_package.sh DEB-DIR MAN-DIR — checks of the built package that need no install:
# lintian (no error, no warning), `man --warnings` on each page, the manual pages
# against the code (every configuration element and attribute of the RelaxNG schema in
# sipha.conf(5), every command-line option in its page), the unit checked by
# systemd-analyze (and its sandboxing score printed), the package's dependencies.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:?usage: test_package.sh DEB-DIR MAN-DIR}
mandir=${2:?usage: test_package.sh DEB-DIR MAN-DIR}
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok    $*"; }
ko() { fail=$((fail + 1)); echo "FAIL  $*"; }
summary() { echo "test_package: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; }

debs=("$dir"/sipha_*.deb)
{ [ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ]; } || { ko "one sipha_*.deb in $dir (make deb)"; summary; exit 1; }
deb=${debs[0]}
x=$(mktemp -d)
trap 'rm -rf "$x"' EXIT
dpkg-deb -x "$deb" "$x/root"

# --- lintian ---
lintian --fail-on error,warning "$deb" > "$x/lintian.out" 2> "$x/lintian.err"
rc=$?
grep -v '^running with root privileges is not recommended!$' "$x/lintian.err" >> "$x/lintian.out"
echo "      lintian $(lintian --version | awk '{ print $2 }') on $(basename "$deb"):"
if [ -s "$x/lintian.out" ]; then sed 's/^/      | /' "$x/lintian.out"; else echo "      | (no output)"; fi
tags=$(grep -c '^[EW]: ' "$x/lintian.out")
if [ "$rc" -eq 0 ] && [ "$tags" -eq 0 ]; then ok "lintian: no error, no warning"
else ko "lintian: exit $rc, $tags errors/warnings"; fi

# --- manual pages: man --warnings, built and packaged ---
srcs=("$ROOT"/man/*.scd)
pages=("$mandir"/*.[0-9])
if [ ${#pages[@]} -eq ${#srcs[@]} ]; then ok "${#pages[@]} pages built in $mandir from man/*.scd"
else ko "pages built: ${pages[*]} (sources: ${srcs[*]})"; fi
for p in "${pages[@]}" "$x/root"/usr/share/man/man*/*.gz; do
  [ -f "$p" ] || continue
  w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$p" 2>&1 >/dev/null)
  if [ -z "$w" ]; then ok "man --warnings ${p#"$x/root"}: none"; else ko "man --warnings $p: $w"; fi
done
for s in "${srcs[@]}"; do
  n=$(basename "$s" .scd)
  p=usr/share/man/man${n##*.}/$n.gz
  if [ -f "$x/root/$p" ]; then ok "packaged /$p"; else ko "/$p missing from the package"; fi
done
# Every program in the package has its page.
for b in "$x/root"/usr/bin/*; do
  n=$(basename "$b")
  if ls "$x/root"/usr/share/man/man[18]/"$n".[18].gz >/dev/null 2>&1; then ok "/usr/bin/$n has a manual page"
  else ko "/usr/bin/$n has no manual page"; fi
done

# Every element and attribute of the schema has its section and entry in sipha.conf(5).
missing=$(python3 - "$ROOT/agent/sipha-config.rng" "$ROOT/man/sipha.conf.5.scd" <<'EOF'
import re, sys, xml.etree.ElementTree as ET
ns = {"r": "http://relaxng.org/ns/structure/1.0"}
scd = open(sys.argv[2]).read()
sections = dict(re.findall(r"^## <([a-z-]+)>[^\n]*\n(.*?)(?=^## |^# |\Z)", scd, re.S | re.M))
out = []
for el in ET.parse(sys.argv[1]).getroot().iter("{%s}element" % ns["r"]):
    name = el.get("name")
    if name == "sipha":
        continue
    if name not in sections:
        out.append("<%s>" % name)
        continue
    for at in el.iter("{%s}attribute" % ns["r"]):
        if "*%s*" % at.get("name") not in sections[name]:
            out.append("<%s %s>" % (name, at.get("name")))
print(" ".join(out))
EOF
)
if [ -z "$missing" ]; then ok "sipha.conf(5) documents every element and attribute of sipha-config.rng"
else ko "sipha.conf(5) lacks: $missing"; fi
# Every option a program names in its --help, and every one its getopt string or
# option table accepts, is in its page (as *-o* or *--long*).
opts_of() {
  sed -n 's/.*getopt[_a-z]*(argc, argv, "\([^"]*\)".*/\1/p' "$1" | tr -d ':' | grep -o . | sed 's/^/-/'
  sed -n 's/.*{ "\([a-z-]*\)", [a-z_]*_argument.*/--\1/p' "$1"
}
for prog in "sipha-agent agent/main.c 8" "sipha-trapgen trapgen/trapgen_main.c 1" "sipha-ctl ctl/ctl_main.c 1"; do
  read -ra words <<<"$prog"; set -- "${words[@]}"  # program, source, section
  page=man/$1.$3.scd
  { [ -f "$ROOT/$page" ] && [ -x "$x/root/usr/bin/$1" ]; } || continue
  miss=""
  for o in $( { "$x/root/usr/bin/$1" --help 2>&1 | perl -ne 'print "$1\n" while /(?<![\w-])(-[A-Za-z0-9]|--[a-z][a-z-]+)(?![\w-])/g'
               [ -f "$ROOT/$2" ] && opts_of "$ROOT/$2"; } | sort -u); do
    grep -q -- "\*$o\*" "$ROOT/$page" || miss="$miss $o"
  done
  if [ -z "$miss" ]; then ok "$page documents every option of $1 (--help and $2)"; else ko "$page lacks$miss"; fi
done

# --- the unit ---
unit=$x/root/lib/systemd/system/sipha-agent@.service
if [ -f "$unit" ]; then
  ok "unit in /lib/systemd/system"
  if grep -q '^ExecStart=/usr/bin/sipha-agent ' "$unit"; then ok "unit runs /usr/bin/sipha-agent"
  else ko "unit ExecStart: $(grep ^ExecStart "$unit")"; fi
  # verified on this host's systemd with the package's binary and manual pages
  sed "s|^ExecStart=/usr/bin/|ExecStart=$x/root/usr/bin/|" "$unit" > "$x/sipha-agent@test.service"
  v=$(MANPATH=$x/root/usr/share/man systemd-analyze verify --man=yes "$x/sipha-agent@test.service" 2>&1)
  rc=$?
  if [ "$rc" -eq 0 ] && [ -z "$v" ]; then ok "systemd-analyze verify (Documentation= pages found): clean"
  else ko "systemd-analyze verify: exit $rc: $v"; fi
  score=$(systemd-analyze security --offline=true "$x/sipha-agent@test.service" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: //p')
  echo "      systemd-analyze security: exposure $score"
else
  ko "unit /lib/systemd/system/sipha-agent@.service in the package"
fi

# --- version: debian/changelog's is the project's (VERSION, what sipha-agent -V says) ---
v=$(dpkg-deb -f "$deb" Version)
if [ -f "$ROOT/VERSION" ]; then
  if [ "$v" = "$(cat "$ROOT/VERSION")" ]; then ok "package version $v = VERSION"
  else ko "package version $v, VERSION says $(cat "$ROOT/VERSION"): add a debian/changelog entry"; fi
fi

# --- dependencies: the dlopen'ed libraries named by hand, the rest by shlibs ---
depends=$(dpkg-deb -f "$deb" Depends)
echo "      Depends: $depends"
for d in 'libcurl4 (>= ' 'libxml2 (>= ' 'snmpd' 'libsnmp40' 'libmnl0' 'adduser'; do
  case ", $depends," in *", $d"*) ok "Depends names ${d%% (*}" ;; *) ko "Depends lacks ${d%% (*}" ;; esac
done
summary
