#!/usr/bin/env bash
# Independent generator for tests/vectors/dtpkc_safe_primes_2048.txt: two 1024-bit safe
# primes from OpenSSL's DH parameter generator (not ppml's sieve), one hex number per line.
# test_dtpkc re-checks that both are safe primes before using them.
set -euo pipefail
out=${1:-tests/vectors/dtpkc_safe_primes_2048.txt}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo "# two 1024-bit safe primes p, q (openssl dhparam 1024); N = pq has 2048 bits; TEST ONLY (public)"
  for i in 1 2; do
    openssl dhparam -out "$tmp/p$i.pem" 1024 2>/dev/null
    openssl dhparam -in "$tmp/p$i.pem" -noout -text | sed -n '/P:/,/G:/p' | grep -v -e 'P:' -e 'G:' |
      tr -d ' :\n' | sed 's/^00//'
    echo
  done
} > "$out"
