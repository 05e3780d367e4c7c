# shellcheck shell=bash disable=SC2034 # globals here are read by the script that sources this
# lib_etcd.sh — a three-member etcd cluster for the pair of lib_netns.sh, as the
# arbiter of <arbiter kind="etcd">. Source it after lib_netns.sh, call hn_setup, then
# hn_etcd_setup.
#
# The members live in the client namespace c, each on its own address of the
# management bridge (10.0.1.21, .22, .23; clients on 2379, peers on 2380), so a rule in
# a host's namespace can cut that host from one member and not the others (the
# minority/majority cases), and a member can be stopped, frozen or restarted alone.
# Their data directories are under $T; the processes die with c (hn_cleanup).
#
# HN_ETCD_CGROUPS=1 before hn_etcd_setup puts each member in a cgroup v2 of its own
# (removed on exit), so that hn_etcd_isolate can cut one member off from the other two:
# the members share namespace c, and whichever member dials, the kernel gives the
# connection c's first address on the bridge (10.0.1.10) as its source, so only the
# sending socket's owner tells them apart (nft "socket cgroupv2"). Needs the cgroup v2
# hierarchy mounted under /sys/fs/cgroup, seen from its root (no cgroup namespace).

declare -A HN_ETCD_IP=([1]=10.0.1.21 [2]=10.0.1.22 [3]=10.0.1.23)
declare -A HN_ETCD_PID=()
HN_ETCD_KEY=/sipha/pair-1-2/primary
HN_ETCD_TTL=${HN_ETCD_TTL:-3}
HN_ETCD_URLS=''
for _m in 1 2 3; do HN_ETCD_URLS+="${HN_ETCD_URLS:+,}http://${HN_ETCD_IP[$_m]}:2379"; done
unset _m

# hn_etcd_xml — the <arbiter> element both instances get (through HN_EXTRA_XML)
hn_etcd_xml() {
  echo "<arbiter kind=\"etcd\" endpoints=\"$HN_ETCD_URLS\" ttl-s=\"$HN_ETCD_TTL\"/>"
}

# hn_etcd_start M — starts member M (1..3); again after a stop, from its data dir
hn_etcd_start() {
  local m=$1 cluster='' i
  for i in 1 2 3; do cluster+="${cluster:+,}m$i=http://${HN_ETCD_IP[$i]}:2380"; done
  mkdir -p "$T/etcd"
  local cmd=(etcd --name "m$m" --data-dir "$T/etcd/m$m" --log-level warn
    --listen-client-urls "http://${HN_ETCD_IP[$m]}:2379"
    --advertise-client-urls "http://${HN_ETCD_IP[$m]}:2379"
    --listen-peer-urls "http://${HN_ETCD_IP[$m]}:2380"
    --initial-advertise-peer-urls "http://${HN_ETCD_IP[$m]}:2380"
    --initial-cluster "$cluster" --initial-cluster-state new
    --heartbeat-interval 100 --election-timeout 1000)
  if [ -n "$HN_ETCD_CG" ]; then
    # its cgroup joined before ip netns exec, which hides the cgroup file system
    ( echo "$BASHPID" > "$HN_ETCD_CG/m$m/cgroup.procs" && exec ip netns exec "$HN_C" "${cmd[@]}" ) \
      >>"$T/etcd/m$m.log" 2>&1 &
    HN_PID=$!
    disown "$HN_PID"
  else
    hn_bg c "$T/etcd/m$m.log" "${cmd[@]}"
  fi
  HN_ETCD_PID[$m]=$HN_PID
}
# hn_etcd_kill M — kill -9 of member M
hn_etcd_kill() { kill -9 "${HN_ETCD_PID[$1]}" 2>/dev/null; }
# hn_etcd_running M — member M's process is there
hn_etcd_running() { [ -n "${HN_ETCD_PID[$1]:-}" ] && kill -0 "${HN_ETCD_PID[$1]}" 2>/dev/null; }
hn_etcd_dead() { ! hn_etcd_running "$1"; }
# hn_etcd_restart M — kill -9 of member M, and M started again once it is gone
hn_etcd_restart() {
  hn_etcd_kill "$1"
  t_wait 5 hn_etcd_dead "$1" || { echo "lib_etcd: member $1 does not die"; return 1; }
  hn_etcd_start "$1"
}
# hn_etcd_healthy M — member M answers /health with true (it has a leader)
hn_etcd_healthy() {
  hn_in c curl -sf -m 1 "http://${HN_ETCD_IP[$1]}:2379/health" 2>/dev/null | grep -q '"health":"true"'
}
hn_etcd_all_healthy() { local m; for m in 1 2 3; do hn_etcd_healthy "$m" || return 1; done; }

# The members' cgroups (HN_ETCD_CGROUPS=1): HN_ETCD_CG, their parent directory
HN_ETCD_CG=''
hn_etcd_cgroups() {
  local mnt m
  mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
  case $mnt in
    /sys/fs/cgroup | /sys/fs/cgroup/*) ;;
    *) echo "lib_etcd: no cgroup v2 hierarchy under /sys/fs/cgroup (HN_ETCD_CGROUPS)"; return 1 ;;
  esac
  mkdir "$mnt/sipha-etcd-$$" || return 1
  HN_ETCD_CG=$mnt/sipha-etcd-$$
  trap 'hn_cleanup; hn_etcd_cgroups_remove' EXIT
  for m in 1 2 3; do mkdir "$HN_ETCD_CG/m$m" || return 1; done
}
# (on exit, after hn_cleanup: a cgroup goes once its last process has)
hn_etcd_cgroups_remove() {
  local i
  for i in $(seq 30); do
    rmdir "$HN_ETCD_CG"/m* "$HN_ETCD_CG" 2>/dev/null
    [ -d "$HN_ETCD_CG" ] || return 0
    sleep 0.1
  done
  echo "lib_etcd: cannot remove $HN_ETCD_CG"
}

# hn_etcd_isolate M — member M cut off from the other two (HN_ETCD_CGROUPS=1): M's own
# peer traffic (dialled or answered) and every dial to M's peer port dropped in c;
# clients still reach every member. hn_etcd_heal undoes it.
hn_etcd_isolate() {
  local m=$1 cg
  [ -n "$HN_ETCD_CG" ] || { echo "lib_etcd: hn_etcd_isolate needs HN_ETCD_CGROUPS=1"; return 1; }
  cg=${HN_ETCD_CG#/sys/fs/cgroup/}/m$m
  # nsenter (hn_in), not ip netns exec: nft resolves the cgroup's path in /sys/fs/cgroup
  hn_in c nft -f - <<NFT
table inet etcdcut {
  chain out {
    type filter hook output priority 0;
    socket cgroupv2 level 2 "$cg" tcp dport 2380 drop
    socket cgroupv2 level 2 "$cg" tcp sport 2380 drop
    ip daddr ${HN_ETCD_IP[$m]} tcp dport 2380 drop
  }
}
NFT
}
hn_etcd_heal() { hn_in c nft delete table inet etcdcut 2>/dev/null; return 0; }

# hn_etcd_setup — the addresses and the three members, healthy; non-zero on failure
hn_etcd_setup() {
  command -v etcd >/dev/null || { echo "lib_etcd: etcd is missing (make deps installs etcd-server)"; return 1; }
  local m
  if [ "${HN_ETCD_CGROUPS:-}" = 1 ]; then hn_etcd_cgroups || return 1; fi
  for m in 1 2 3; do ip -n "$HN_C" addr add "${HN_ETCD_IP[$m]}/24" dev br-mgmt || return 1; done
  for m in 1 2 3; do hn_etcd_start "$m"; done
  t_wait 30 hn_etcd_all_healthy || { echo "lib_etcd: the cluster did not become healthy"; tail -3 "$T"/etcd/m*.log; return 1; }
}

# hn_etcd_leader — the member number (1..3) that leads, as the members say
hn_etcd_leader() {
  local m st
  for m in 1 2 3; do
    st=$(hn_in c curl -sf -m 1 -X POST -d '{}' "http://${HN_ETCD_IP[$m]}:2379/v3/maintenance/status" 2>/dev/null) || continue
    python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s["leader"] == s["header"]["member_id"] else 1)' \
      "$st" 2>/dev/null && { echo "$m"; return 0; }
  done
  return 1
}

# hn_etcd_member_id M — member M's id (decimal, as the JSON gateway writes it)
hn_etcd_member_id() {
  local st
  st=$(hn_in c curl -sf -m 1 -X POST -d '{}' "http://${HN_ETCD_IP[$1]}:2379/v3/maintenance/status" 2>/dev/null) || return 1
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])["header"]["member_id"])' "$st" 2>/dev/null
}
# hn_etcd_move_leader M — member M leads (leadership handed over by the leader); waits
# up to 5 s for it
hn_etcd_move_leader() {
  local l id
  l=$(hn_etcd_leader) || return 1
  [ "$l" = "$1" ] && return 0
  id=$(hn_etcd_member_id "$1") || return 1
  hn_in c curl -sf -m 5 -X POST -d "{\"targetID\":\"$id\"}" \
    "http://${HN_ETCD_IP[$l]}:2379/v3/maintenance/transfer-leadership" >/dev/null 2>&1 || return 1
  t_wait 5 hn_etcd_leads "$1"
}
hn_etcd_leads() { [ "$(hn_etcd_leader)" = "$1" ]; }

# hn_etcd_delete_key — the pair's key deleted (whoever holds it); fails when no member
# answers
hn_etcd_delete_key() {
  local m k
  k=$(printf %s "$HN_ETCD_KEY" | base64 -w0)
  for m in 1 2 3; do
    hn_in c curl -sf -m 1 -X POST -d "{\"key\":\"$k\"}" "http://${HN_ETCD_IP[$m]}:2379/v3/kv/deleterange" \
      >/dev/null 2>&1 && return 0
  done
  return 1
}

# hn_etcd_holder — the value of the pair's key ("NAME EPOCH"), "-" when there is none;
# fails when no member answers. A linearizable read, from any member that answers.
hn_etcd_holder() {
  local m out k
  k=$(printf %s "$HN_ETCD_KEY" | base64 -w0)
  for m in 1 2 3; do
    out=$(hn_in c curl -sf -m 1 -X POST -d "{\"key\":\"$k\"}" "http://${HN_ETCD_IP[$m]}:2379/v3/kv/range" 2>/dev/null) || continue
    python3 -c '
import base64, json, sys
kvs = json.loads(sys.argv[1]).get("kvs") or []
print(base64.b64decode(kvs[0]["value"]).decode() if kvs else "-")' "$out" && return 0
  done
  return 1
}
# hn_etcd_holder_name — only the NAME of the holder ("-" for none)
hn_etcd_holder_name() { local v; v=$(hn_etcd_holder) || return 1; echo "${v%% *}"; }
