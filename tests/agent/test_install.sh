#!/usr/bin/env bash
# make install honours DESTDIR and PREFIX, and installs what the README says with
# safe modes (the snmpd snippet is 0600).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok    $*"; }
ko() { fail=$((fail + 1)); echo "FAIL  $*"; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
if make -s -C "$ROOT" install DESTDIR="$d" PREFIX=/opt/sipha SYSCONFDIR=/etc > "$d.log" 2>&1; then
  ok "make install ran"
else
  ko "make install ran"; cat "$d.log"
fi
rm -f "$d.log"
for f in /opt/sipha/bin/sipha-agent /opt/sipha/bin/sipha-trapgen; do
  if [ -x "$d$f" ]; then ok "$f installed, executable"; else ko "$f"; fi
done
for f in /opt/sipha/share/snmp/mibs/SIPHA-MIB.txt /opt/sipha/share/sipha/sipha-config.rng \
         /etc/sipha/sipha.example.xml /etc/snmp/snmpd.conf.d/sipha.conf; do
  if [ -f "$d$f" ]; then ok "$f installed"; else ko "$f"; fi
done
if [ "$(stat -c %a "$d/etc/snmp/snmpd.conf.d/sipha.conf" 2>/dev/null)" = 600 ]; then ok "snippet mode 0600"
else ko "snippet mode"; fi
if grep -q "^ExecStart=/opt/sipha/bin/sipha-agent -f -c /etc/sipha/%i.xml" "$d/opt/sipha/share/sipha/sipha-agent@.service" 2>/dev/null; then
  ok "systemd template points at the installed agent"
else
  ko "systemd template"
fi
# The installed agent finds its own schema (PREFIX/share/sipha) and validates with it.
# -t also checks the files a configuration names: the example's (key file, VIP
# scripts) do not exist here, so a copy names files that do.
out=$(env -u SIPHA_SCHEMA "$d/opt/sipha/bin/sipha-agent" -t -c "$ROOT/agent/sipha.example.xml" 2>&1)
if grep -q "the configuration is valid, but 3 problems with the files it names" <<<"$out"; then
  ok "installed agent validates the example, then names its 3 missing files"
else
  ko "installed agent: $out"
fi
( umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/halink.key" )
sed -e "s|/etc/sipha/halink.key|$d/halink.key|" -e "s|/usr/local/libexec/sipha/vip-[a-z]*|/bin/true|g" \
    -e "s|\"/var/lib/sipha\"|\"$d/state\"|" -e "s|\"/var/agentx/master\"|\"$d/agentx/master\"|" \
    "$ROOT/agent/sipha.example.xml" > "$d/example.xml"
out=$(env -u SIPHA_SCHEMA "$d/opt/sipha/bin/sipha-agent" -t -c "$d/example.xml" 2>&1)
if grep -q "configuration OK" <<<"$out"; then ok "installed agent: the example with its files OK"
else ko "installed agent: $out"; fi
printf '<grammar xmlns="http://relaxng.org/ns/structure/1.0"><start><element name="nothing"><empty/></element></start></grammar>\n' \
  > "$d/opt/sipha/share/sipha/sipha-config.rng"
if env -u SIPHA_SCHEMA "$d/opt/sipha/bin/sipha-agent" -t -c "$d/example.xml" >/dev/null 2>&1; then
  ko "installed agent ignores its own schema"
else
  ok "installed agent uses its own schema (a stricter one refuses)"
fi
if [ ! -e /opt/sipha ]; then ok "nothing installed outside DESTDIR"; else ko "/opt/sipha exists outside DESTDIR"; fi
echo "test_install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
