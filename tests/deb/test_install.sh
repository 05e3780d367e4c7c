#!/usr/bin/env bash
# test_install.sh DEB — the built package on a clean system: a fresh Debian root made
# by debootstrap (minbase, from the host's own APT source), into which apt installs
# DEB and resolves its dependencies (snmpd, libsnmp40, libmnl0, libcurl4, libxml2...)
# against a dpkg database that has never seen sipha. Then, in network, PID and mount
# namespaces of their own (only a loopback, nothing of the host's network), snmpd and
# sipha-agent start from the installed files as their systemd units would (the
# agent as user sipha with the unit's capabilities, via setpriv), the MIB is walked
# (numeric OIDs: Debian ships no IETF MIB for SIPHA-MIB's imports), a VIP is put on by
# the agent's script with the address lifetime the agent renews, and finally
# `dpkg --purge` must leave nothing of the package behind.
#
# Root only (debootstrap, chroot, namespaces); needs the host's APT source reachable.
# SIPHA_DEB_MIRROR overrides the mirror; SIPHA_DEB_KEEP=1 keeps the root for a look.
set -u
deb=${1:?usage: test_install.sh PACKAGE.deb}
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok    $*"; }
ko() { fail=$((fail + 1)); echo "FAIL  $*"; }
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else ko "$d"; fi; }
summary() { echo "test_install: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
t0=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }

if [ "$(id -u)" -ne 0 ]; then
  echo "test_install: SKIPPED (needs root: debootstrap, chroot, namespaces)"
  exit 0
fi
for c in debootstrap unshare chroot systemd-tmpfiles dpkg-deb ip; do
  command -v "$c" >/dev/null || { ko "$c is installed (scripts/deps.d/deb.list)"; summary; exit 1; }
done
deb=$(readlink -f "$deb")
[ -f "$deb" ] || { ko "package $deb exists"; summary; exit 1; }
pkg=$(dpkg-deb -f "$deb" Package)

# --- the host's APT source for this release: "URI SUITE COMPONENTS..." lines ---
. /etc/os-release
codename=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
apt_entries() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]\+\)[[:space:]]\+\([^[:space:]]\+\)[[:space:]]\+\([^#]*\).*$/\2 \3 \4/p' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'function flush(   i, j, nu, ns, u, s) {
           if (types ~ /(^| )deb( |$)/ && enabled != "no") {
             nu = split(uris, u, " "); ns = split(suites, s, " ")
             for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print u[i], s[j], comps
           }
           types = uris = suites = comps = key = ""; enabled = "yes"
         }
         BEGIN { enabled = "yes" }
         /^#/ { next }
         /^[[:space:]]*$/ { flush(); next }
         /^[[:space:]]/ { sub(/^[[:space:]]+/, ""); val[key] = val[key] " " $0
                           if (key == "uris") uris = uris " " $0; next }
         { key = tolower(substr($0, 1, index($0, ":") - 1)); v = substr($0, index($0, ":") + 1)
           gsub(/^[[:space:]]+|[[:space:]]+$/, "", v)
           if (key == "types") types = v; else if (key == "uris") uris = v
           else if (key == "suites") suites = v; else if (key == "components") comps = v
           else if (key == "enabled") enabled = tolower(v) }
         END { flush() }' "$f"
  done
}
entries=$(apt_entries | awk -v c="$codename" '$2 == c || $2 == c "-updates" || $2 == c "-security"' | sort -u)
mirror=${SIPHA_DEB_MIRROR:-$(awk -v c="$codename" '$2 == c { print $1; exit }' <<<"$entries")}
if [ -z "$mirror" ]; then
  ko "an APT source for $codename on this host (or SIPHA_DEB_MIRROR)"; summary; exit 1
fi
[ -n "$entries" ] || entries="$mirror $codename main"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/sipha-deb-install.XXXXXX")
R=$work/root
cleanup() {
  # every mount lived in a mount namespace of its own and went with it; refuse to
  # delete through a mount all the same
  if findmnt -rn -o TARGET | grep -q "^$R"; then echo "test_install: mounts left under $R, not removed"; return; fi
  if [ -n "${SIPHA_DEB_KEEP:-}" ]; then echo "test_install: root kept in $R"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- a fresh Debian root ---
t=$(date +%s.%N)
if debootstrap --variant=minbase "$codename" "$R" "$mirror" > "$work/debootstrap.log" 2>&1; then
  ok "debootstrap --variant=minbase $codename ($(secs "$t"))"
else
  tail -n 20 "$work/debootstrap.log"; ko "debootstrap --variant=minbase $codename $mirror"; summary; exit 1
fi
while read -r uri suite comps; do echo "deb $uri $suite $comps"; done <<<"$entries" > "$R/etc/apt/sources.list"
# No /etc/hosts, as on a minimal system: nothing the package ships or the test runs
# may need a host name resolved (127.0.0.1 and ::1 throughout).
rm -f "$R/etc/hosts"
# Services are started by this test, not by maintainer scripts.
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d"
chmod 0755 "$R/usr/sbin/policy-rc.d"
if chroot "$R" dpkg-query -W "$pkg" >/dev/null 2>&1; then ko "the fresh dpkg database does not know $pkg"
else ok "the fresh dpkg database does not know $pkg"; fi

# in_root CMD...: CMD in the root, /proc mounted in a mount namespace of its own.
in_root() {
  # shellcheck disable=SC2016 # $0 and $@ are for the inner sh
  unshare --mount --fork -- sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$R" \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# --- install: apt resolves the package's dependencies ---
# /var/agentx as an snmpd that ran before sipha leaves it (Debian's snmpd.conf starts
# an AgentX master): root:root 0750.
install -d -o root -g root -m 0750 "$R/var/agentx"
cp "$deb" "$R/tmp/"
t=$(date +%s.%N)
if in_root apt-get -q update > "$work/apt.log" 2>&1 &&
   in_root apt-get install -y -q --no-install-recommends "/tmp/$(basename "$deb")" snmp iproute2 \
     >> "$work/apt.log" 2>&1; then
  ok "apt-get install $(basename "$deb") (and snmp, iproute2 for the test) ($(secs "$t"))"
else
  tail -n 30 "$work/apt.log"; ko "apt-get install $(basename "$deb")"; summary; exit 1
fi
echo "      apt brought in: $(sed -n 's/^Setting up \([^ :]*\).*/\1/p' "$work/apt.log" | sort | tr '\n' ' ')"
for d in snmpd libsnmp40 libmnl0 libcurl4 libxml2 adduser; do
  # shellcheck disable=SC2016 # a dpkg-query format
  check "dependency $d installed by apt" in_root dpkg-query -W -f='${Status}\n' "$d"
done
in_root dpkg-query -L "$pkg" | sort > "$work/files"
# shellcheck disable=SC2016 # a dpkg-query format
status=$(in_root dpkg-query -W -f='${Status}' "$pkg")
if [ "$status" = "install ok installed" ]; then ok "$pkg installed"; else ko "$pkg status: $status"; fi

# --- what the package put in place ---
for f in /usr/bin/sipha-agent /usr/bin/sipha-trapgen /usr/bin/sipha-ctl; do check "$f executable" test -x "$R$f"; done
for f in /usr/share/snmp/mibs/SIPHA-MIB.txt /usr/share/sipha/sipha-config.rng \
         /etc/sipha/sipha.example.xml /etc/snmp/snmpd.conf.d/sipha.conf \
         /lib/systemd/system/sipha-agent@.service /usr/lib/tmpfiles.d/sipha.conf \
         /usr/share/man/man8/sipha-agent.8.gz /usr/share/man/man1/sipha-trapgen.1.gz \
         /usr/share/man/man1/sipha-ctl.1.gz \
         /usr/share/man/man5/sipha.conf.5.gz; do
  check "$f installed" test -f "$R$f"
done
# shellcheck disable=SC2016 # a dpkg-query format
conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' "$pkg" | awk 'NF { print $1 }' | sort | tr '\n' ' ')
if [ "$conffiles" = "/etc/sipha/sipha.example.xml /etc/snmp/snmpd.conf.d/sipha.conf " ]; then
  ok "conffiles: $conffiles"
else
  ko "conffiles: $conffiles"
fi
if [ "$(stat -c %a "$R/etc/snmp/snmpd.conf.d/sipha.conf")" = 600 ]; then ok "snmpd snippet mode 0600"
else ko "snmpd snippet mode $(stat -c %a "$R/etc/snmp/snmpd.conf.d/sipha.conf")"; fi
if grep -q '^agentXPerms  *0660 0750 Debian-snmp sipha$' "$R/etc/snmp/snmpd.conf.d/sipha.conf"; then
  ok "snippet gives the AgentX socket to group sipha"
else
  ko "snippet agentXPerms line"
fi
user=$(in_root getent passwd sipha)
IFS=: read -r _ _ uid _ _ home shell <<<"$user"
if [ -n "$user" ] && [ "$uid" -lt 1000 ] && [ "$home" = /var/lib/sipha ] && [ "$shell" = /usr/sbin/nologin ]; then
  ok "system user sipha (uid $uid, home $home, shell $shell)"
else
  ko "system user sipha: '$user'"
fi
check "group sipha exists" in_root getent group sipha
st=$(chroot "$R" stat -c '%U:%G %a' /var/lib/sipha)
if [ "$st" = "sipha:sipha 700" ]; then ok "/var/lib/sipha sipha:sipha 0700"; else ko "/var/lib/sipha $st"; fi

# --- /var/agentx: the postinst gave it to group sipha; so does boot's tmpfiles ---
st=$(chroot "$R" stat -c '%U:%G %a' /var/agentx)
if [ "$st" = "root:sipha 750" ]; then ok "postinst: an earlier snmpd's /var/agentx (root:root 0750) is now root:sipha 0750"
else ko "/var/agentx after the install: $st"; fi
chown root:root "$R/var/agentx"
systemd-tmpfiles --root="$R" --create sipha.conf
st=$(chroot "$R" stat -c '%U:%G %a' /var/agentx)
if [ "$st" = "root:sipha 750" ]; then ok "tmpfiles.d (as at boot): /var/agentx root:sipha 0750 again"
else ko "/var/agentx after systemd-tmpfiles: $st"; fi

# --- run it: snmpd and the agent as their units say, in namespaces of their own ---
unit=$R/lib/systemd/system/sipha-agent@.service
unit_val() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
exec_start=$(unit_val ExecStart | sed 's/%i/test/g')
snmpd_start=$(sed -n 's/^ExecStart=//p' "$R/lib/systemd/system/snmpd.service" | tail -n 1)
caps=$(unit_val AmbientCapabilities | tr 'A-Z ' 'a-z\n' | sed 's/^cap_/+/' | paste -sd, -)
bound=$(unit_val CapabilityBoundingSet | tr 'A-Z ' 'a-z\n' | sed 's/^cap_/+/' | paste -sd, -)
nnp=$(unit_val NoNewPrivileges)
echo "      unit: User=$(unit_val User) caps=$caps bounding=$bound NoNewPrivileges=$nnp"
echo "      ExecStart=$exec_start"
if [ "$caps" = "+net_raw,+net_admin" ]; then ok "unit grants exactly CAP_NET_RAW CAP_NET_ADMIN"
else ko "unit capabilities: $caps"; fi
if grep -q '^After=.*snmpd\.service' "$unit"; then ok "unit ordered after snmpd.service"
else ko "unit not ordered after snmpd"; fi
for k in ProtectSystem=strict NoNewPrivileges=true PrivateTmp=true ProtectHome=true PrivateDevices=true \
         RestrictAddressFamilies= SystemCallFilter= User=sipha; do
  if grep -q "^$k" "$unit"; then ok "unit sets $k"; else ko "unit lacks $k"; fi
done

mkdir -p "$R/etc/sipha" "$R/usr/local/libexec/sipha-test"
cat > "$R/usr/local/libexec/sipha-test/vip" <<'EOF'
#!/bin/sh
# test VIP script: sipha-agent runs it as "vip up|down VIP PREFIXLEN INTERFACE"
case "$1" in
  up) exec ip addr replace "$2/$3" dev "$4" ;;
  down) exec ip addr del "$2/$3" dev "$4" ;;
esac
exit 2
EOF
chmod 0755 "$R/usr/local/libexec/sipha-test/vip"
cat > "$R/etc/sipha/test.xml" <<'EOF'
<sipha>
  <instance index="1" name="deb-test" initial-role="primary"/>
  <sip address="127.0.0.1" port="5060"/>
  <options sip-iptakeover-monitoring="true"/>
  <vip address="192.0.2.100" prefix-len="32" interface="lo"
       up-script="/usr/local/libexec/sipha-test/vip" down-script="/usr/local/libexec/sipha-test/vip"/>
  <takeover announce-count="0" vip-lifetime="3"/>
</sipha>
EOF
# The run, as one script inside the root; its output is parsed below.
cat > "$R/tmp/run.sh" <<EOF
#!/bin/bash
# Runs in the root, PID 1 of a PID namespace: every process ends with it.
mkdir -p /run/agentx
$snmpd_start > /tmp/snmpd.log 2>&1 &
i=0; while [ ! -S /var/agentx/master ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
echo "agentx: \$(stat -c '%U:%G %a' /var/agentx/master 2>&1) dir \$(stat -c '%U:%G %a' /var/agentx)"
setpriv --reuid=sipha --regid=sipha --init-groups --inh-caps=-all,$caps --ambient-caps=$caps \\
        --bounding-set=-all,$bound $( [ "$nnp" = true ] && echo --no-new-privs ) -- \\
        $exec_start > /tmp/agent.log 2>&1 &
agent=\$!
echo "agent-pid: \$agent"
w() { snmpwalk -v 2c -c sipha-public -On -t 1 -r 1 127.0.0.1 "\$@"; }
# until the VIP is up (the agent's script put it on), 30 s at most
end=\$(( \$(date +%s) + 30 ))
while [ \$(date +%s) -lt \$end ]; do
  w .1.3.6.1.4.1.32473.1.1.3.1.6.1.1 2>/dev/null | grep -q 'INTEGER: 2' && break
  sleep 0.1
done
grep -E '^Cap(Eff|Amb)' /proc/\$agent/status
echo "agent-user: \$(stat -c %U /proc/\$agent)"
# One SIP request to the instance's address: the agent's packet socket (CAP_NET_RAW)
# counts it in siphaInstSipMsgsIn.
perl -MIO::Socket::INET -e '
  my \$s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:5060", Proto => "udp") or die "socket: \$!";
  \$s->send(join("\r\n", "OPTIONS sip:deb-test\@127.0.0.1:5060 SIP/2.0",
    "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-deb-1", "Max-Forwards: 70",
    "From: <sip:t\@127.0.0.1>;tag=1", "To: <sip:deb-test\@127.0.0.1>", "Call-ID: deb-test-1",
    "CSeq: 1 OPTIONS", "Content-Length: 0", "", "")) or die "send: \$!";'
end=\$(( \$(date +%s) + 10 ))
while [ \$(date +%s) -lt \$end ]; do
  w .1.3.6.1.4.1.32473.1.1.1.1.12.1 2>/dev/null | grep -q 'Counter64: [1-9]' && break
  sleep 0.1
done
echo "--- walk"
w .1.3.6.1.4.1.32473.1
echo "--- addr"
ip -o addr show dev lo
echo "--- ctl"
sipha-ctl status -v 2c -c sipha-public udp:127.0.0.1:161; echo "ctl-rc: \$?"
echo "--- trapgen"
sipha-trapgen --list | wc -l
sipha-trapgen -c public udp:127.0.0.1:16299 all; echo "trapgen-rc: \$?"
echo "--- stop"
kill -TERM \$agent
i=0; while kill -0 \$agent 2>/dev/null && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
wait \$agent; echo "agent-exit: \$?"
EOF
chmod 0755 "$R/tmp/run.sh"
t=$(date +%s.%N)
# shellcheck disable=SC2016 # $0 is for the inner sh
unshare --net --pid --mount --fork -- sh -c '
  ip link set lo up && mount -t proc proc "$0/proc" && exec chroot "$0" \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 /tmp/run.sh' "$R" > "$work/run.out" 2>&1
echo "      run: $(secs "$t")"
out=$work/run.out
sed 's/^/      | /' "$out" | grep -v '^      | \.1\.3\.6\.1\.4\.1\.32473\.1\.1\.6\.\|^      | sent sipha' | head -n 90
echo "      | (event table rows and trapgen's 'sent' lines left out)"
echo "      agent log:"
sed 's/^/      | /' "$R/tmp/agent.log" | head -n 20
oid() { sed -n "s/^\.1\.3\.6\.1\.4\.1\.32473\.1\.1\.$1 = //p" "$out" | head -n 1; }
if grep -q '^agentx: Debian-snmp:sipha 660 dir root:sipha 750$' "$out"; then
  ok "snmpd made /var/agentx/master Debian-snmp:sipha 0660 in /var/agentx root:sipha 0750"
else
  ko "AgentX socket: $(grep '^agentx:' "$out")"
fi
if [ "$(sed -n 's/^agent-user: //p' "$out")" = sipha ]; then ok "agent runs as user sipha"; else ko "agent user"; fi
amb=$(awk '/^CapAmb:/ { print $2 }' "$out"); eff=$(awk '/^CapEff:/ { print $2 }' "$out")
if [ "$amb" = 0000000000003000 ] && [ "$eff" = 0000000000003000 ]; then
  ok "agent holds CAP_NET_ADMIN and CAP_NET_RAW only (CapEff $eff)"
else
  ko "agent capabilities CapEff=$eff CapAmb=$amb"
fi
if [ "$(oid 1.1.2.1)" = 'STRING: "deb-test"' ]; then ok "walk: siphaInstName.1 = deb-test"
else ko "walk: siphaInstName.1 = '$(oid 1.1.2.1)'"; fi
if [ "$(oid 1.1.3.1)" = 'INTEGER: 2' ]; then ok "walk: siphaInstRole.1 = primary(2)"
else ko "walk: siphaInstRole.1 = '$(oid 1.1.3.1)'"; fi
in=$(oid 1.1.12.1)
case $in in
  'Counter64: '[1-9]*) ok "walk: siphaInstSipMsgsIn.1 = ${in#*: } (the packet socket counted SIP: CAP_NET_RAW)" ;;
  *) ko "walk: siphaInstSipMsgsIn.1 = '$in'" ;;
esac
if [ "$(oid 3.1.6.1.1)" = 'INTEGER: 2' ]; then
  ok "walk: siphaVipActual.1.1 = present(2) (the up script ran with the ambient CAP_NET_ADMIN)"
else
  ko "walk: siphaVipActual.1.1 = '$(oid 3.1.6.1.1)'"
fi
n=$(grep -c '^\.1\.3\.6\.1\.4\.1\.32473\.1\.' "$out")
if [ "$n" -ge 50 ]; then ok "walk: $n SIPHA-MIB values"; else ko "walk: only $n SIPHA-MIB values"; fi
lft=$(grep ' 192\.0\.2\.100/32 ' "$out" | sed -n 's/.*valid_lft \([^ ]*\).*/\1/p')
case $lft in
  [1-3]sec) ok "the VIP holds the agent's address lifetime (valid_lft $lft: rtnetlink with CAP_NET_ADMIN)" ;;
  *) ko "VIP lifetime: '$lft'" ;;
esac
if grep -q -i 'CAP_NET_RAW\|counting disabled\|not permitted\|permission denied\|refused' "$R/tmp/agent.log"; then
  ko "agent log has no permission error: $(grep -i -m1 'CAP_NET_RAW\|counting disabled\|not permitted\|denied\|refused' "$R/tmp/agent.log")"
else
  ok "agent log has no permission error"
fi
if [ "$(sed -n 's/^ctl-rc: //p' "$out")" = 0 ] && grep -q 'deb-test' <(sed -n '/^--- ctl/,/^ctl-rc/p' "$out"); then
  ok "sipha-ctl status reads the instance through snmpd"
else
  ko "sipha-ctl status"
fi
if [ "$(sed -n '/^--- trapgen/{n;p}' "$out")" -ge 20 ] 2>/dev/null; then ok "sipha-trapgen --list"
else ko "sipha-trapgen --list"; fi
if [ "$(sed -n 's/^trapgen-rc: //p' "$out")" = 0 ]; then ok "sipha-trapgen sends every notification"
else ko "sipha-trapgen all"; fi
if [ "$(sed -n 's/^agent-exit: //p' "$out")" = 0 ]; then ok "agent stops on SIGTERM with status 0"
else ko "agent exit status '$(sed -n 's/^agent-exit: //p' "$out")'"; fi
if ls "$R/var/lib/sipha"/instance-1.state >/dev/null 2>&1; then ok "agent wrote its state in /var/lib/sipha"
else ko "no /var/lib/sipha/instance-1.state"; fi
if [ "$fail" -gt 0 ]; then
  echo "--- agent log"; tail -n 30 "$R/tmp/agent.log"; echo "--- snmpd log"; tail -n 15 "$R/tmp/snmpd.log"
fi

# --- purge: the admin's own files go first, then nothing of the package may stay ---
rm -rf "$R/etc/sipha/test.xml" "$R/usr/local/libexec/sipha-test"
t=$(date +%s.%N)
if in_root dpkg --purge "$pkg" > "$work/purge.log" 2>&1; then ok "dpkg --purge $pkg ($(secs "$t"))"
else cat "$work/purge.log"; ko "dpkg --purge $pkg"; fi
check "dpkg no longer knows $pkg" bash -c "! chroot '$R' dpkg-query -W '$pkg'"
left=()
while read -r f; do
  [ "$f" = /. ] && continue
  [ -e "$R$f" ] || [ -L "$R$f" ] || continue
  # a directory another package also owns may stay
  if [ -d "$R$f" ] && in_root dpkg-query -S "$f" >/dev/null 2>&1; then continue; fi
  left+=("$f")
done < "$work/files"
for f in /var/lib/sipha /etc/sipha; do [ -e "$R$f" ] && left+=("$f"); done
ls "$R/var/lib/dpkg/info/$pkg".* >/dev/null 2>&1 && left+=("/var/lib/dpkg/info/$pkg.*")
if [ ${#left[@]} -eq 0 ]; then ok "nothing of $pkg left after the purge ($(wc -l < "$work/files") paths checked)"
else ko "left after the purge: ${left[*]}"; fi
echo "      the system user sipha stays after the purge, as Debian leaves system users"

echo "test_install: total $(secs "$t0")"
summary
