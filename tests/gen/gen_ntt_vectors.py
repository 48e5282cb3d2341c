#!/usr/bin/env python3
"""Independent generator of the pinned NTT vectors in tests/vectors/ntt_vectors.txt.

Standard library only. For each case (n, bits) it finds the largest prime q < 2^bits with
q = 1 mod 2n, the smallest primitive 2n-th root psi, and the negacyclic NTT of a fixed input
by direct evaluation: A[k] = a(psi^(2*brv(k)+1)) mod q, k in bit-reversed order (the
convention of src/crypto/ntt/ring.h). It shares no code with the C implementation.

Usage: python3 tests/gen/gen_ntt_vectors.py > tests/vectors/ntt_vectors.txt
"""

CASES = [(8, 5), (16, 7), (64, 30), (256, 50), (1024, 61)]


def is_prime(n):
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):  # deterministic below 3.3e24
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def largest_prime(bits, m2):
    c = (1 << bits) - 1
    c -= (c - 1) % m2
    while c > (1 << (bits - 1)):
        if is_prime(c):
            return c
        c -= m2
    raise ValueError("no prime")


def min_root(q, n):
    m2 = 2 * n
    roots = [x for x in range(1, q) if pow(x, n, q) == q - 1] if q < 5000 else None
    if roots is not None:
        return min(roots)
    x = 2
    while True:
        c = pow(x, (q - 1) // m2, q)
        if pow(c, n, q) == q - 1:
            break
        x += 1
    return min(pow(c, k, q) for k in range(1, m2, 2))


def brv(x, bits):
    return int(format(x, "0%db" % bits)[::-1], 2) if bits else 0


def main():
    print("# negacyclic NTT vectors: case n q psi / in a_0..a_{n-1} / out A_0..A_{n-1}")
    for n, bits in CASES:
        q = largest_prime(bits, 2 * n)
        psi = min_root(q, n)
        logn = n.bit_length() - 1
        a = [((0x9E3779B97F4A7C15 * (i + 1)) % (1 << 64)) % q for i in range(n)]
        out = []
        for k in range(n):
            x = pow(psi, 2 * brv(k, logn) + 1, q)
            acc, p = 0, 1
            for ai in a:
                acc = (acc + ai * p) % q
                p = p * x % q
            out.append(acc)
        print("case %d %d %d" % (n, q, psi))
        print("in " + " ".join(map(str, a)))
        print("out " + " ".join(map(str, out)))


if __name__ == "__main__":
    main()
