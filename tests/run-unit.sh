#!/usr/bin/env bash
# Runs every unit test binary in DIR; with VALGRIND=1 under valgrind's memcheck,
# failing on any leak or error. Ends with "N passed, N failed".
set -u
dir=${1:?usage: run-unit.sh DIR}
pass=0; fail=0
for t in "$dir"/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  if [ "${VALGRIND:-0}" = 1 ]; then
    cmd=(valgrind -q --leak-check=full "--show-leak-kinds=definite,indirect,possible"
         "--errors-for-leak-kinds=definite,indirect,possible" --error-exitcode=99 "$t")
  else
    cmd=("$t")
  fi
  if SIPHA_SCHEMA="$PWD/agent/sipha-config.rng" SIPHA_SRC="$PWD" "${cmd[@]}" > "$dir/$name.log" 2>&1; then
    pass=$((pass + 1)); echo "ok    $name"
  else
    fail=$((fail + 1)); echo "FAIL  $name"; tail -n 40 "$dir/$name.log"
  fi
done
label=unit; [ "${VALGRIND:-0}" = 1 ] && label=valgrind
echo "$label: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
