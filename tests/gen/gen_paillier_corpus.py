#!/usr/bin/env python3
"""Seed corpora for the Paillier fuzz targets (Python 3 standard library only).

Uses the first (512-bit) key of tests/vectors/paillier_kat.txt, which the fuzz targets
embed (tests/fuzz/fuzz_paillier_common.h), and writes valid and deliberately corrupted
objects into tests/fuzz/corpus/fuzz_paillier_load/ (ppml binary) and
tests/fuzz/corpus/fuzz_paillier_json/ (python-paillier JSON).

Run from the repository root:  python3 tests/gen/gen_paillier_corpus.py
"""
import base64
import hashlib
import json
import os
import random
import struct

KAT = "tests/vectors/paillier_kat.txt"
LOAD = "tests/fuzz/corpus/fuzz_paillier_load"
JSON = "tests/fuzz/corpus/fuzz_paillier_json"


def read_key():
    vals = {}
    with open(KAT) as f:
        in_key = False
        for line in f:
            parts = line.split()
            if parts[:2] == ["key", "512"]:
                in_key = True
                continue
            if in_key and parts and parts[0] in ("n", "p", "q", "hn"):
                vals[parts[0]] = int(parts[1], 16)
            if in_key and parts and parts[0] == "end":
                break
    return vals["n"], vals["p"], vals["q"], vals["hn"]


def mpz(x):
    raw = x.to_bytes((x.bit_length() + 7) // 8, "little") if x else b""
    return struct.pack("<I", len(raw)) + raw


def obj(t, pid, body, version=1, flags=0):
    return b"PPML" + struct.pack("<HHHHQ", 52, version, t, flags, 52 + len(body)) + pid + body


def b64u(x):
    return base64.urlsafe_b64encode(x.to_bytes((x.bit_length() + 7) // 8, "big")).decode().rstrip("=")


def main():
    n, p, q, hn = read_key()
    n2 = n * n
    pid = hashlib.blake2b(n.to_bytes((n.bit_length() + 7) // 8, "big"), digest_size=32).digest()
    width = (n2.bit_length() + 7) // 8
    rng = random.Random(7)

    def ct(m):
        r = rng.randrange(1, n)
        return (1 + m * n) * pow(r, n, n2) % n2

    def cts_body(cs):
        return struct.pack("<IQ", width, len(cs)) + b"".join(c.to_bytes(width, "little") for c in cs)

    os.makedirs(LOAD, exist_ok=True)
    os.makedirs(JSON, exist_ok=True)
    pk = obj(0x0101, pid, mpz(n) + mpz(hn))
    sk = obj(0x0102, pid, mpz(n) + mpz(hn) + mpz(p) + mpz(q))
    cts = [ct(m) for m in (0, 1, n - 1)]
    ctvec = obj(0x0104, pid, cts_body(cts))
    names = [b"age", b"weight"]
    mat_head = struct.pack("<IIIIB", 2, 2, 16, 0, 1) + b"".join(struct.pack("<I", len(s)) + s for s in names)
    matrix = obj(0x0105, pid, mat_head + cts_body([ct(m) for m in (1, 2, 3, n - 4)]))
    packed = obj(0x0105, pid, struct.pack("<IIIIB", 1, 4, 8, 16, 0) + cts_body([ct(12345)]))
    files = {
        "pk.bin": pk,
        "sk.bin": sk,
        "ctvec.bin": ctvec,
        "ctvec_empty.bin": obj(0x0104, pid, cts_body([])),
        "matrix.bin": matrix,
        "matrix_packed.bin": packed,
        # corrupted
        "pk_truncated.bin": pk[:-3],
        "pk_version2.bin": obj(0x0101, pid, mpz(n) + mpz(hn), version=2),
        "pk_flags.bin": obj(0x0101, pid, mpz(n) + mpz(hn), flags=1),
        "pk_wrong_id.bin": obj(0x0101, bytes(32), mpz(n) + mpz(hn)),
        "pk_even_n.bin": obj(0x0101, pid, mpz(n + 1) + mpz(hn)),
        "sk_pq_mismatch.bin": obj(0x0102, pid, mpz(n) + mpz(hn) + mpz(p) + mpz(q + 2)),
        "sk_bad_hn.bin": obj(0x0102, pid, mpz(n) + mpz(1 + 2 * n) + mpz(p) + mpz(q)),
        "sk_flipped.bin": sk[:70] + bytes([sk[70] ^ 0x10]) + sk[71:],
        "ctvec_zero.bin": obj(0x0104, pid, cts_body([cts[0], 0])),
        "ctvec_gcd.bin": obj(0x0104, pid, cts_body([p])),
        "ctvec_big_count.bin": obj(0x0104, pid, struct.pack("<IQ", width, 1 << 60)),
        "ctvec_width.bin": obj(0x0104, pid, struct.pack("<IQ", width + 1, 0)),
        "matrix_count.bin": obj(0x0105, pid, struct.pack("<IIIIB", 3, 2, 16, 0, 0) + cts_body(cts)),
        "matrix_names.bin": obj(0x0105, pid, struct.pack("<IIIIB", 1, 1, 16, 0, 1) + struct.pack("<I", 3) + b"a\nb" + cts_body(cts[:1])),
    }
    for name, data in files.items():
        with open(os.path.join(LOAD, name), "wb") as f:
            f.write(data)

    pub = {"kty": "DAJ", "alg": "PAI-GN1", "key_ops": ["encrypt"], "n": b64u(n), "kid": "corpus"}
    phi = (p - 1) * (q - 1)
    jfiles = {
        "jwk_pub.json": json.dumps(pub),
        "jwk_priv.json": json.dumps({"kty": "DAJ", "key_ops": ["decrypt"], "p": b64u(p), "q": b64u(q), "pub": pub}),
        "jwk_priv_old.json": json.dumps({"kty": "DAJ", "key_ops": ["decrypt"], "lambda": b64u(phi),
                                         "mu": b64u(pow(phi, -1, n)), "pub": pub}),
        "ctvec_ints.json": json.dumps({"public_key": {"g": n + 1, "n": n},
                                       "values": [[str(c), e] for c, e in zip(cts, (0, -4, 3))]}),
        "ctvec_strs.json": json.dumps({"public_key": {"g": str(n + 1), "n": str(n)},
                                       "values": [[str(cts[1]), -8]]}),
        # corrupted
        "jwk_pub_kty.json": json.dumps(dict(pub, kty="RSA")),
        "jwk_pub_b64.json": json.dumps(dict(pub, n=b64u(n) + "*")),
        "jwk_priv_mu.json": json.dumps({"kty": "DAJ", "key_ops": ["decrypt"], "lambda": b64u(phi),
                                        "mu": b64u(pow(phi, -1, n) + 1), "pub": pub}),
        "jwk_priv_truncated.json": json.dumps({"kty": "DAJ", "p": b64u(p), "q": b64u(q), "pub": pub})[:-20],
        "ctvec_ge_n2.json": json.dumps({"public_key": {"g": n + 1, "n": n}, "values": [[str(n2), 0]]}),
        "ctvec_g.json": json.dumps({"public_key": {"g": n + 2, "n": n}, "values": []}),
        "ctvec_exp.json": json.dumps({"public_key": {"g": n + 1, "n": n}, "values": [[str(cts[0]), 1.5]]}),
        "nested.json": "[" * 64 + "]" * 64,
    }
    for name, text in jfiles.items():
        with open(os.path.join(JSON, name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
