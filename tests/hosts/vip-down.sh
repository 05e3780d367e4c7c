#!/bin/sh
# vip-down.sh — sipha VIP down script for the host tests (and a usable example):
#     vip-down.sh down VIP PREFIXLEN INTERFACE
# Removes VIP/PREFIXLEN from INTERFACE. The address already being gone is success
# (the goal of the script is its absence, not the act of deleting it).
set -u
if [ "$#" -ne 4 ] || [ "$1" != down ]; then
  echo "usage: $0 down VIP PREFIXLEN INTERFACE" >&2
  exit 2
fi
vip=$2 plen=$3 dev=$4

if err=$(ip addr del "$vip/$plen" dev "$dev" 2>&1); then
  exit 0
fi
# Absent is what was wanted. A missing device also leaves it absent, but then the
# listing fails: that stays a failure, since the configuration names a wrong NIC.
if listing=$(ip -o addr show dev "$dev" to "$vip" 2>/dev/null) && [ -z "$listing" ]; then
  exit 0
fi
echo "ip addr del $vip/$plen dev $dev: $err" >&2
exit 1
