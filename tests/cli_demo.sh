#!/usr/bin/env bash
# ppml demo end to end (one epoch, a few test records, real 2048-bit keys): exit status 0
# means the encrypted diagnosis agreed with the plaintext argmax on every record. Skipped in
# the sanitizer build (it is the release build's job; the pieces run under ASan in their
# own tests).
set -u
ppml=$1
if [[ -n "${PPML_SANITIZED:-}" ]]; then echo "cli_demo: skipped under sanitizers"; echo "cli_demo: 0 passed, 0 failed"; exit 0; fi
fail=0; pass=0
ok() { if "$@"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $*" >&2; fi; }
out=$("$ppml" demo --epochs 1 --max-test 4 2>/dev/null); rc=$?
ok test $rc -eq 0
ok grep -q 'encrypted diagnosis = plaintext argmax of the same model: 4/4' <<<"$out"
ok grep -q 'secure SVM' <<<"$out"
out=$("$ppml" demo --mcs 1 2>&1); rc=$?
ok test $rc -ne 0
ok grep -q '^ppml: error: ' <<<"$out"
out=$("$ppml" demo --data /nonexistent.csv 2>&1); rc=$?
ok test $rc -ne 0
ok grep -q '^ppml: error: ' <<<"$out"
ok "$ppml" demo --help >/dev/null
echo "cli_demo: $pass passed, $fail failed"
[ $fail -eq 0 ]
