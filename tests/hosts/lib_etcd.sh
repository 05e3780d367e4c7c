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
  hn_bg c "$T/etcd/m$m.log" etcd --name "m$m" --data-dir "$T/etcd/m$m" --log-level warn \
    --listen-client-urls "http://${HN_ETCD_IP[$m]}:2379" \
    --advertise-client-urls "http://${HN_ETCD_IP[$m]}:2379" \
    --listen-peer-urls "http://${HN_ETCD_IP[$m]}:2380" \
    --initial-advertise-peer-urls "http://${HN_ETCD_IP[$m]}:2380" \
    --initial-cluster "$cluster" --initial-cluster-state new \
    --heartbeat-interval 100 --election-timeout 1000
  HN_ETCD_PID[$m]=$HN_PID
}
# hn_etcd_kill M — kill -9 of member M
hn_etcd_kill() { kill -9 "${HN_ETCD_PID[$1]}" 2>/dev/null; }
# hn_etcd_healthy M — member M answers /health with true (it has a leader)
hn_etcd_healthy() {
  hn_in c curl -sf -m 1 "http://${HN_ETCD_IP[$1]}:2379/health" 2>/dev/null | grep -q '"health":"true"'
}
hn_etcd_all_healthy() { local m; for m in 1 2 3; do hn_etcd_healthy "$m" || return 1; done; }

# hn_etcd_setup — the addresses and the three members, healthy; non-zero on failure
hn_etcd_setup() {
  command -v etcd >/dev/null || { echo "lib_etcd: etcd is missing (make deps installs etcd-server)"; return 1; }
  local m
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
