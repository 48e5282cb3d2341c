#!/usr/bin/env bash
# ppml verify: a small synthetic scheme-D run keeps its uploads in a store (--store); each
# upload verifies against the provider's signed Merkle root (with and without --pk); a
# ciphertext changed in the store, a dropped item, a wrong key, an unknown dataset and a
# missing store each end with "ppml: error:" and a non-zero status.
set -u
PPML=${1:?usage: cli_verify.sh path/to/ppml}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
expect_error() {
  local what=$1; shift
  if "$@" >"$tmp/out" 2>"$tmp/err"; then bad "$what: succeeded"; return; fi
  grep -q '^ppml: error: ' "$tmp/err" && ok || { bad "$what: no 'ppml: error:' line"; cat "$tmp/err" >&2; }
}

db=$tmp/uploads.db
# 3 workers, 60 x 40 values: 3 uploads of one ciphertext each (n = 8192 slots).
"$PPML" dmlp --local --nodes 3 --synthetic 60 40 --iters 2 --eps 1 --no-baseline --no-nonprivate \
  --store "$db" --task syn >"$tmp/run" 2>"$tmp/run.err" && ok || { bad "dmlp --store run"; cat "$tmp/run.err" >&2; }
grep -q 'stored 3 uploads' "$tmp/run" && ok || bad "run reports the stored uploads"
pk=$(sed -n 's/.*provider key \([0-9a-f]\{64\}\).*/\1/p' "$tmp/run")
[ ${#pk} -eq 64 ] && ok || bad "run prints the provider key"

for k in 0 1 2; do
  "$PPML" verify --store "$db" --dataset "dp0/syn/$k" >"$tmp/v" 2>"$tmp/v.err" && ok || { bad "verify upload $k"; cat "$tmp/v.err" >&2; }
  grep -q '^verified: 1 ciphertexts' "$tmp/v" && ok || { bad "verify $k output"; cat "$tmp/v" >&2; }
done
"$PPML" verify --store "$db" --dataset dp0/syn/0 --pk "$pk" >"$tmp/v" 2>&1 && ok || bad "verify with --pk"
[ "$(sqlite3 "$db" "SELECT count FROM datasets WHERE id = 'dp0/syn/1'")" = 1 ] && ok || bad "stored count"

# Wrong key: another run's key (the provider key is fresh per run).
other=0000000000000000000000000000000000000000000000000000000000000000
expect_error "wrong --pk" "$PPML" verify --store "$db" --dataset dp0/syn/0 --pk "$other"
expect_error "malformed --pk" "$PPML" verify --store "$db" --dataset dp0/syn/0 --pk xyz

# Tamper: flip one byte in the body of a stored ciphertext (past the 52-byte header).
cp "$db" "$tmp/t.db"
sqlite3 "$tmp/t.db" "UPDATE items SET data = CAST(substr(data, 1, 1000) ||
  CASE WHEN substr(data, 1001, 1) = x'5a' THEN x'a5' ELSE x'5a' END || substr(data, 1002) AS BLOB)
  WHERE dataset = 'dp0/syn/1' AND idx = 0" || bad "sqlite3 update"
[ "$(sqlite3 "$db" "SELECT length(data), typeof(data) FROM items WHERE dataset = 'dp0/syn/1'")" = \
  "$(sqlite3 "$tmp/t.db" "SELECT length(data), typeof(data) FROM items WHERE dataset = 'dp0/syn/1'")" ] && ok || bad "tamper kept the length"
[ "$(sqlite3 "$db" "SELECT hex(data) FROM items WHERE dataset = 'dp0/syn/1'")" != \
  "$(sqlite3 "$tmp/t.db" "SELECT hex(data) FROM items WHERE dataset = 'dp0/syn/1'")" ] && ok || bad "tamper changed the item"
expect_error "tampered ciphertext" "$PPML" verify --store "$tmp/t.db" --dataset dp0/syn/1
grep -q 'FAILED' "$tmp/err" && ok || bad "tamper message says FAILED"
"$PPML" verify --store "$tmp/t.db" --dataset dp0/syn/0 >/dev/null 2>&1 && ok || bad "untouched upload still verifies"

# Dropped item (a shorter dataset than signed).
cp "$db" "$tmp/d.db"
sqlite3 "$tmp/d.db" "DELETE FROM items WHERE dataset = 'dp0/syn/2'" || bad "sqlite3 delete"
expect_error "dropped item" "$PPML" verify --store "$tmp/d.db" --dataset dp0/syn/2

expect_error "unknown dataset" "$PPML" verify --store "$db" --dataset dp0/syn/99
grep -q "no dataset 'dp0/syn/99'" "$tmp/err" && ok || bad "unknown dataset message"
expect_error "missing store" "$PPML" verify --store "$tmp/none.db" --dataset dp0/syn/0
[ ! -e "$tmp/none.db" ] && ok || bad "verify created a store"
expect_error "no --dataset" "$PPML" verify --store "$db"
expect_error "same task twice" "$PPML" dmlp --local --nodes 3 --synthetic 60 40 --iters 1 --store "$db" --task syn
expect_error "--store with plain" "$PPML" dmlp --local --nodes 3 --synthetic 60 40 --iters 1 --encoding plain --store "$tmp/p.db"
"$PPML" verify --help >/dev/null && ok || bad "help"

echo "cli_verify: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
