#!/usr/bin/env bash
# CLI basics: help, version, unknown commands and the bench list follow DESIGN §7.
set -u
ppml=$1
fail=0; pass=0
ok() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $*" >&2; fi; }

ok "$ppml" --help >/dev/null
ok "$ppml" --version >/dev/null
out=$("$ppml" no-such-command 2>&1); rc=$?
ok test $rc -ne 0
ok grep -q '^ppml: error: ' <<<"$out"
ok "$ppml" bench --list >/dev/null
out=$("$ppml" bench no-such-suite 2>&1); rc=$?
ok test $rc -ne 0
ok grep -q '^ppml: error: ' <<<"$out"
out=$("$ppml" bench dp --json --quick); rc=$?
ok test $rc -eq 0
while read -r line; do
  for key in suite op params median_ns min_ns max_ns reps; do
    ok grep -q "\"$key\":" <<<"$line"
  done
done <<<"$out"
out=$("$ppml" bench dp --reps 0 2>&1); rc=$?
ok test $rc -ne 0
echo "cli_core: $pass passed, $fail failed"
[ $fail -eq 0 ]
