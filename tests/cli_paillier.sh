#!/usr/bin/env bash
# CLI tests for the Paillier commands: keygen, encrypt/decrypt (ppml and python-paillier JSON,
# packed and not), key export/import, bad inputs (non-zero exit + one "ppml: error:" line),
# and a python-paillier format check against an independent stdlib Python implementation.
# Usage: tests/cli_paillier.sh path/to/ppml
set -u
PPML=${1:?usage: cli_paillier.sh PPML_BINARY}
PPML=$(cd "$(dirname "$PPML")" && pwd)/$(basename "$PPML")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# run CMD...: must succeed
run() { if "$@" >out.txt 2>err.txt; then ok; else bad "$* (exit $?): $(cat err.txt)"; fi; }
# refuse CMD...: must fail with exactly one line "ppml: error: ..." on stderr
refuse() {
    if "$@" >out.txt 2>err.txt; then bad "accepted: $*"; return; fi
    if [ "$(grep -c '^ppml: error: ' err.txt)" = 1 ] && [ "$(grep -vc '^ppml: warning: ' err.txt)" = 1 ]; then ok
    else bad "error output of '$*': $(cat err.txt)"; fi
}
# same_csv A B: equal as numbers (same shape, |a - b| <= tol)
same_csv() {
    awk -F, -v tol="${3:-0}" 'NR==FNR { a[FNR] = $0; n = FNR; next }
        { if (!(FNR in a)) exit 1; split(a[FNR], x, ","); if (length(x) != NF) exit 1;
          for (i = 1; i <= NF; i++) { if ($i ~ /^[A-Za-z_]/ || x[i] ~ /^[A-Za-z_]/) { if ($i != x[i]) exit 1 }
          else { d = $i - x[i]; if (d < 0) d = -d; if (d > tol) exit 1 } } m = FNR }
        END { exit (m == n ? 0 : 1) }' "$1" "$2"
}
T_KEYS=--insecure-test-keys

printf 'age,weight,score\n34,70.5,-1.25\n51,82.25,3.5\n-7,0,0.0009765625\n1000000,-123456.5,0\n' > data.csv
printf '1.5\n-2.25\n3\n' > nohdr.csv

# --- help on every command
for c in "keygen --help" "keygen paillier --help" "encrypt --help" "decrypt --help" "key --help" "key export --help"; do
    run "$PPML" $c
    grep -q usage out.txt && ok || bad "no usage text for $c"
done

# --- keygen (small test keys only through the named test option)
run "$PPML" keygen paillier --insecure-test-bits 512 --out k
[ -f k.pk ] && [ -f k.sk ] && ok || bad "keygen wrote no files"
[ "$(stat -c %a k.sk)" = 600 ] && ok || bad "secret key mode $(stat -c %a k.sk)"
refuse "$PPML" keygen paillier --insecure-test-bits 512 --out k          # exists
run "$PPML" keygen paillier --insecure-test-bits 512 --out k --force
refuse "$PPML" keygen paillier --bits 1024 --out weak
refuse "$PPML" keygen paillier --bits 2100 --out odd
refuse "$PPML" keygen paillier --out
refuse "$PPML" keygen paillier
refuse "$PPML" keygen elgamal --out x
refuse "$PPML" keygen paillier --bits 2048 --frobnicate --out x
[ ! -e weak.pk ] && [ ! -e weak.sk ] && ok || bad "refused keygen left files"

# --- encrypt / decrypt round trips (ppml format, unpacked and packed)
run "$PPML" encrypt --key k.pk --in data.csv --out d.ct $T_KEYS
run "$PPML" decrypt --key k.sk --in d.ct --out d.csv $T_KEYS
same_csv data.csv d.csv && ok || bad "round trip: $(cat d.csv)"
run "$PPML" encrypt --key k.pk --in data.csv --out p.ct --packed --value-bits 40 --frac-bits 8 $T_KEYS
run "$PPML" decrypt --key k.sk --in p.ct --out p.csv $T_KEYS
same_csv data.csv p.csv 0.002 && ok || bad "packed round trip: $(cat p.csv)"
[ "$(stat -c %s p.ct)" -lt "$(stat -c %s d.ct)" ] && ok || bad "packed file not smaller"
run "$PPML" encrypt --key k.sk --in nohdr.csv --out n.ct --frac-bits 0 --threads 2 $T_KEYS
run "$PPML" decrypt --key k.sk --in n.ct --out n.csv $T_KEYS
printf '2\n-2\n3\n' > want.csv   # F = 0 rounds half away from zero
same_csv want.csv n.csv && ok || bad "frac-bits 0: $(cat n.csv)"

# --- python-paillier JSON: keys and encrypted vectors
run "$PPML" key export --in k.pk --format json --out pub.json $T_KEYS
run "$PPML" key export --in k.sk --format json --out priv.json $T_KEYS
[ "$(stat -c %a priv.json)" = 600 ] && ok || bad "private JWK mode"
grep -q '"kty": "DAJ"' pub.json && grep -q '"alg": "PAI-GN1"' pub.json && ok || bad "public JWK fields"
run "$PPML" key import --format json --in priv.json --out k2 $T_KEYS
run "$PPML" key import --format json --in pub.json --out kp $T_KEYS
[ -f k2.sk ] && [ -f k2.pk ] && [ -f kp.pk ] && [ ! -e kp.sk ] && ok || bad "import outputs"
for fb in 16 18; do
    run "$PPML" encrypt --key pub.json --in data.csv --out d$fb.json --format json --frac-bits $fb $T_KEYS
    run "$PPML" decrypt --key k2.sk --in d$fb.json --out j$fb.csv $T_KEYS
    same_csv data.csv j$fb.csv && ok || bad "json round trip F=$fb: $(cat j$fb.csv)"
    run "$PPML" decrypt --key priv.json --in d$fb.json --out jj$fb.csv $T_KEYS
    same_csv data.csv jj$fb.csv && ok || bad "json round trip via JWK secret key"
done
grep -q '"values": \[\["' d16.json && grep -q ', -4\]' d16.json && ok || bad "python-paillier vector shape/exponent"

# Independent check with the Python standard library: decrypt ppml's JSON with the private
# JWK the way python-paillier does (p, q from the JWK; value = plaintext * 16^exponent), and
# write a vector the way phe's json.dumps does (bare integers) for ppml to decrypt.
if command -v python3 >/dev/null; then
    cat > phe_like.py <<'PY'
import base64, json, math, random, sys
def b64(s): return int.from_bytes(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)), "big")
priv = json.load(open("priv.json"))
n = b64(priv["pub"]["n"]); p, q = b64(priv["p"]), b64(priv["q"])
assert p * q == n and priv["kty"] == "DAJ" and "decrypt" in priv["key_ops"]
lam = (p - 1) * (q - 1); assert b64(priv["lambda"]) == lam and b64(priv["mu"]) * lam % n == 1
n2 = n * n; mu = pow(lam, -1, n); maxint = n // 3 - 1
def dec(c):
    m = (pow(c, lam, n2) - 1) // n * mu % n
    return m if m <= maxint else m - n
doc = json.load(open(sys.argv[1]))
assert int(doc["public_key"]["n"]) == n and int(doc["public_key"]["g"]) == n + 1
vals = [dec(int(c)) * 16.0 ** e for c, e in doc["values"]]
meta = doc["ppml"]; cols = meta["cols"]
with open("py.csv", "w") as f:
    f.write(",".join(meta["names"]) + "\n")
    for i in range(meta["rows"]):
        f.write(",".join(repr(v) for v in vals[i * cols:(i + 1) * cols]) + "\n")
rng = random.Random(5); out = []
for v, e in ((12345, 0), (-3, 0), (-8, -1), (40, 1)):
    r = rng.randrange(1, n)
    out.append((str((1 + (v % n) * n) * pow(r, n, n2) % n2), e))
json.dump({"public_key": {"g": n + 1, "n": n}, "values": out}, open("from_py.json", "w"))
PY
    run python3 phe_like.py d16.json
    same_csv data.csv py.csv && ok || bad "python decryption of ppml JSON: $(cat py.csv)"
    run "$PPML" decrypt --key k.sk --in from_py.json --out fp.csv $T_KEYS
    printf '12345\n-3\n-0.5\n640\n' > want_py.csv
    same_csv want_py.csv fp.csv && ok || bad "ppml decryption of python JSON: $(cat fp.csv)"
fi

# --- bad inputs: non-zero exit, one error line, nothing half-written
refuse "$PPML" encrypt --key k.pk --in data.csv --out x.ct                 # small key without the test switch
refuse "$PPML" decrypt --key k.sk --in d.ct --out x.csv
refuse "$PPML" encrypt --key k.sk --in data.csv --out x.ct --packed --format json $T_KEYS
refuse "$PPML" encrypt --key k.pk --in missing.csv --out x.ct $T_KEYS
refuse "$PPML" encrypt --key missing.pk --in data.csv --out x.ct $T_KEYS
refuse "$PPML" encrypt --key data.csv --in data.csv --out x.ct $T_KEYS
refuse "$PPML" encrypt --key k.pk --in data.csv $T_KEYS
refuse "$PPML" encrypt --key k.pk --in data.csv --out x.ct --frac-bits 99 $T_KEYS
refuse "$PPML" encrypt --key k.pk --in data.csv --out x.ct --format xml $T_KEYS
refuse "$PPML" encrypt --key k.pk --in data.csv --out x.ct --value-bits 8 $T_KEYS
refuse "$PPML" encrypt --key k.pk --in data.csv --out x.ct --packed --value-bits 8 $T_KEYS  # 1000000 does not fit
printf 'a,b\n1,2\n3\n' > ragged.csv
refuse "$PPML" encrypt --key k.pk --in ragged.csv --out x.ct $T_KEYS
printf 'a,b\n1,zz\n' > nonnum.csv
refuse "$PPML" encrypt --key k.pk --in nonnum.csv --out x.ct $T_KEYS
printf 'a,b\n' > empty.csv
refuse "$PPML" encrypt --key k.pk --in empty.csv --out x.ct $T_KEYS
printf '1,inf\n' > inf.csv
refuse "$PPML" encrypt --key k.pk --in inf.csv --out x.ct $T_KEYS
[ ! -e x.ct ] && ok || bad "refused encrypt left x.ct"
run "$PPML" keygen paillier --insecure-test-bits 512 --out other
refuse "$PPML" decrypt --key other.sk --in d.ct --out x.csv $T_KEYS          # other key
refuse "$PPML" decrypt --key other.sk --in d16.json --out x.csv $T_KEYS
refuse "$PPML" decrypt --key k.pk --in d.ct --out x.csv $T_KEYS              # public key
head -c 200 d.ct > trunc.ct
refuse "$PPML" decrypt --key k.sk --in trunc.ct --out x.csv $T_KEYS
cp d.ct flip.ct && printf '\x02' | dd of=flip.ct bs=1 seek=6 conv=notrunc 2>/dev/null
refuse "$PPML" decrypt --key k.sk --in flip.ct --out x.csv $T_KEYS
head -c 100 d16.json > trunc.json
refuse "$PPML" decrypt --key k.sk --in trunc.json --out x.csv $T_KEYS
head -c 100 k.sk > trunc.sk
refuse "$PPML" decrypt --key trunc.sk --in d.ct --out x.csv $T_KEYS
[ ! -e x.csv ] && ok || bad "refused decrypt left x.csv"
refuse "$PPML" key export --in k.pk --format pem --out x.json $T_KEYS
refuse "$PPML" key export --in data.csv --format json --out x.json $T_KEYS
refuse "$PPML" key export --in k.pk --format json --out pub.json $T_KEYS         # exists
refuse "$PPML" key import --format json --in data.csv --out x $T_KEYS
sed 's/DAJ/RSA/' pub.json > rsa.json
refuse "$PPML" key import --format json --in rsa.json --out x $T_KEYS
refuse "$PPML" key import --format json --in pub.json --out x                   # small key, no switch
refuse "$PPML" key frobnicate --in a --out b
[ ! -e x.pk ] && [ ! -e x.sk ] && ok || bad "refused import left files"

# --- one real 2048-bit run (no test switches)
run "$PPML" keygen paillier --bits 2048 --out real
run "$PPML" encrypt --key real.pk --in data.csv --out r.ct
run "$PPML" decrypt --key real.sk --in r.ct --out r.csv
same_csv data.csv r.csv && ok || bad "2048-bit round trip: $(cat r.csv)"
run "$PPML" key export --in real.sk --format json --out real.json
run "$PPML" encrypt --key real.pk --in data.csv --out r.json --format json
run "$PPML" decrypt --key real.json --in r.json --out rj.csv
same_csv data.csv rj.csv && ok || bad "2048-bit json round trip"

# --- bench smoke test (quick)
run "$PPML" bench paillier --quick --json --bits 2048
for op in keygen encrypt_naive encrypt_djn encrypt_crt decrypt_naive decrypt_crt add scalar_mul_64 \
          scalar_mul_full packed_encrypt_per_value packed_decrypt_per_value; do
    grep -q "\"op\":\"$op\"" out.txt && ok || bad "bench line $op missing"
done
grep -q '"speedup_vs_naive"' out.txt && ok || bad "bench ratios missing"

echo "cli_paillier: $passes passed, $fails failed"
[ "$fails" = 0 ]
