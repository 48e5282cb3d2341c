#!/usr/bin/env bash
# CLI tests for DT-PKC: `ppml bench dtpkc` smoke run, and `ppml keygen dtpkc` (skipped when
# this build has no `ppml keygen`, which lives on the Paillier side).
set -u
PPML=${1:?usage: cli_dtpkc.sh PATH_TO_PPML}
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# bench: JSON lines with the contract fields, fixed parameters (no safe-prime search)
if "$PPML" bench dtpkc --json --quick --reps 1 > "$tmp/bench.json" 2> "$tmp/bench.err"; then
  for op in user_keygen encrypt decrypt_weak decrypt_strong partial_decrypt combine add scalar_mul_64; do
    if grep -q "\"suite\":\"dtpkc\",\"op\":\"$op\",\"params\":{\"bits\":2048},\"median_ns\":[0-9]*,\"min_ns\":[0-9]*,\"max_ns\":[0-9]*,\"reps\":" "$tmp/bench.json"; then
      ok "bench op $op"
    else
      bad "bench op $op missing"
    fi
  done
else
  bad "ppml bench dtpkc failed: $(cat "$tmp/bench.err")"
fi
if "$PPML" bench dtpkc --quick --bits 1024 > /dev/null 2> "$tmp/err"; then
  bad "bench accepted --bits 1024"
else
  grep -q '^ppml: error: ' "$tmp/err" && ok "bench refuses 1024 bits" || bad "bench error message"
fi

if ! "$PPML" keygen dtpkc --help > /dev/null 2>&1; then
  echo "skip: 'ppml keygen dtpkc' is not available in this build (cmd_keygen.c not merged)"
  [ $fail -eq 0 ] && echo "cli_dtpkc: passed (keygen part skipped)"
  exit $fail
fi

"$PPML" keygen dtpkc --help | grep -q -- '--insecure-test-bits' && ok "help" || bad "help text"
if "$PPML" keygen dtpkc --insecure-test-bits 512 --users 2 --out "$tmp/k" > "$tmp/out" 2> "$tmp/err"; then
  ok "keygen dtpkc (512-bit test modulus)"
  for f in params strong sk1 sk2 user1.sk user1.pk user2.sk user2.pk; do
    if [ -s "$tmp/k.$f" ] && [ "$(head -c 4 "$tmp/k.$f")" = "PPML" ]; then ok "file k.$f"; else bad "file k.$f"; fi
  done
  for f in strong sk1 sk2 user1.sk user2.sk; do
    m=$(stat -c %a "$tmp/k.$f")
    [ "$m" = 600 ] && ok "k.$f mode 0600" || bad "k.$f mode $m"
  done
  [ ! -e "$tmp/k.user3.sk" ] && ok "exactly two users" || bad "extra user key"
  cmp -s "$tmp/k.sk1" "$tmp/k.sk2" && bad "sk1 == sk2" || ok "sk1 != sk2"
else
  bad "keygen dtpkc failed: $(cat "$tmp/err")"
fi
for args in "--bits 1024 --out $tmp/w" "--bits 2049 --out $tmp/w" "--insecure-test-bits 512" \
            "--insecure-test-bits 100 --out $tmp/w" "--users -1 --out $tmp/w" "--frobnicate --out $tmp/w"; do
  # shellcheck disable=SC2086
  if "$PPML" keygen dtpkc $args > /dev/null 2> "$tmp/err"; then
    bad "keygen dtpkc $args succeeded"
  elif [ "$(wc -l < "$tmp/err")" -ge 1 ] && grep -q '^ppml: error: ' "$tmp/err"; then
    ok "keygen dtpkc $args refused"
  else
    bad "keygen dtpkc $args: no 'ppml: error:' line"
  fi
done
[ ! -e "$tmp/w.params" ] && ok "nothing written on refusal" || bad "files written on refusal"
[ $fail -eq 0 ] && echo "cli_dtpkc: passed"
exit $fail
