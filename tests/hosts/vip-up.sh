#!/bin/sh
# vip-up.sh — sipha VIP up script for the host tests (and a usable example):
#     vip-up.sh up VIP PREFIXLEN INTERFACE
# Adds VIP/PREFIXLEN to INTERFACE. sipha-agent runs it without a shell, with a
# minimal environment (PATH set), and counts a zero exit as success. The address
# already being there is success: sipha runs the script because it saw the address
# missing, and another run (or the kernel) may have put it back since.
set -u
if [ "$#" -ne 4 ] || [ "$1" != up ]; then
  echo "usage: $0 up VIP PREFIXLEN INTERFACE" >&2
  exit 2
fi
vip=$2 plen=$3 dev=$4

if err=$(ip addr add "$vip/$plen" dev "$dev" 2>&1); then
  exit 0
fi
# "File exists" and its like: success only if the address really is on the device
# (`to ADDR` without a length matches the whole address, IPv4 or IPv6).
if [ -n "$(ip -o addr show dev "$dev" to "$vip" 2>/dev/null)" ]; then
  exit 0
fi
echo "ip addr add $vip/$plen dev $dev: $err" >&2
exit 1
