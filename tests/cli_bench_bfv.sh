#!/bin/bash
# ppml bench bfv --quick --json: one JSON line per op with the DESIGN §7 fields.
set -eu
PPML="$1"
out=$("$PPML" bench bfv --quick --json --n 4096)
lines=$(printf '%s\n' "$out" | wc -l)
[ "$lines" -eq 12 ] || { echo "expected 12 lines, got $lines"; printf '%s\n' "$out"; exit 1; }
for op in keygen relin_keygen galois_keygen encode encrypt decrypt decode add multiply_plain \
          multiply_relin rotate_rows ciphertext_bytes; do
    line=$(printf '%s\n' "$out" | grep "\"op\":\"$op\"") || { echo "missing op $op"; exit 1; }
    for key in suite op params median_ns min_ns max_ns reps; do
        printf '%s' "$line" | grep -q "\"$key\":" || { echo "op $op: missing $key"; exit 1; }
    done
    printf '%s' "$line" | grep -q '"suite":"bfv"' || { echo "op $op: wrong suite"; exit 1; }
    printf '%s' "$line" | grep -q '"n":4096' || { echo "op $op: wrong params"; exit 1; }
done
printf '%s\n' "$out" | grep '"op":"ciphertext_bytes"' | grep -q '"bytes":' || { echo "no bytes field"; exit 1; }
# Bad --n is refused with the usual error line and a non-zero status.
err=$(mktemp)
trap 'rm -f "$err"' EXIT
if "$PPML" bench bfv --quick --n 1000 2>"$err"; then echo "--n 1000 accepted"; exit 1; fi
grep -q '^ppml: error:' "$err" || { echo "no error line"; exit 1; }
echo "cli_bench_bfv: ok"
