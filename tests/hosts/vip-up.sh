#!/bin/sh
# vip-up.sh — sipha VIP up script for the host tests (and a usable example):
#     vip-up.sh up VIP PREFIXLEN INTERFACE
# Adds VIP/PREFIXLEN to INTERFACE. sipha-agent runs it without a shell, with a
# minimal environment (PATH set), and counts a zero exit as success. `replace`
# rather than `add`: the address already being there is success (sipha runs the
# script because it saw the address missing, and another run or the kernel may
# have put it back since), and one exec of ip is all the takeover waits for.
set -u
if [ "$#" -ne 4 ] || [ "$1" != up ]; then
  echo "usage: $0 up VIP PREFIXLEN INTERFACE" >&2
  exit 2
fi
exec ip addr replace "$2/$3" dev "$4"
