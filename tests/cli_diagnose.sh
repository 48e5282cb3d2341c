#!/usr/bin/env bash
# ppml diagnose: user side of the encrypted diagnosis with in-process servers (test keys).
set -u
ppml=$1
root=$(cd "$(dirname "$0")/.." && pwd)
fail=0; pass=0
ok() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $*" >&2; fi; }

ok "$ppml" diagnose --help >/dev/null
out=$("$ppml" diagnose --data "$root/data/wine.csv" --row 0 --test-keys); rc=$?
ok test $rc -eq 0
ok grep -q '^class: class_[0-2] (index [0-2])$' <<<"$out"
ok grep -q 'bytes up' <<<"$out"
out=$("$ppml" diagnose --data "$root/data/iris.csv" --x 5.1,3.5,1.4,0.2 --test-keys); rc=$?
ok test $rc -eq 0
ok grep -q '^class: setosa' <<<"$out"
out=$("$ppml" diagnose --data "$root/data/wine.csv" --row 5 --test-keys --paillier-result --css-rotations); rc=$?
ok test $rc -eq 0
ok grep -q '^class: class_[0-2] (index [0-2])$' <<<"$out"
# the real keys: BFV n = 16384, CSS floods the noise CCS decrypts (default), and n = 8192
# without the flood
out=$("$ppml" diagnose --data "$root/data/wine.csv" --row 3); rc=$?
ok test $rc -eq 0
ok grep -q '^class: class_[0-2] (index [0-2])$' <<<"$out"
out=$("$ppml" diagnose --data "$root/data/wine.csv" --row 3 --no-circuit-private); rc=$?
ok test $rc -eq 0
ok grep -q '^class: class_[0-2] (index [0-2])$' <<<"$out"
out=$("$ppml" diagnose --data "$root/data/wine.csv" --all --test-keys); rc=$?
ok test $rc -eq 0
ok grep -q 'equal to the plaintext model' <<<"$out"
# errors: one line "ppml: error: ...", non-zero status
for args in "--row 0" "--data $root/data/wine.csv" "--data $root/data/wine.csv --row 100000 --test-keys" \
            "--data $root/data/iris.csv --x 1,2 --test-keys" "--data /nonexistent.csv --row 0" \
            "--data $root/data/wine.csv --row 0 --all" "--bogus" \
            "--css tcp://127.0.0.1:1 --no-circuit-private --x 1,2"; do
  out=$("$ppml" diagnose $args 2>&1 >/dev/null); rc=$?
  ok test $rc -ne 0
  ok grep -q '^ppml: error: ' <<<"$out"
done
echo "cli_diagnose: $pass passed, $fail failed"
[ $fail -eq 0 ]
