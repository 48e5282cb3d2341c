/* Packing several bounded values into one Paillier plaintext (DESIGN §2):
 * m = sum_i v_i * 2^(i * slot_bits), capacity floor((|N| - 2) / slot_bits), so m < N/2 and
 * the top slot can never wrap modulo N. */
#include "paillier_internal.h"
#include "ppml/mem.h"

#include <stdlib.h>

#define MAX_SLOT_BITS 4096u

size_t ppml_paillier_pack_capacity(const ppml_paillier_pk *pk, unsigned slot_bits)
{
    if (!pk || slot_bits == 0 || pk->bits < 2)
        return 0;
    return (pk->bits - 2) / slot_bits;
}

int ppml_paillier_pack_ct(const ppml_paillier_pk *pk, mpz_t c, const mpz_t *cts, size_t count,
                          unsigned slot_bits)
{
    if (!pk || !c || (!cts && count) || slot_bits == 0 || slot_bits > MAX_SLOT_BITS)
        return PPML_EINVAL;
    if (count == 0 || count > ppml_paillier_pack_capacity(pk, slot_bits))
        return PPML_ERANGE;
    /* Horner: c = (...(c_{k-1})^(2^w) * c_{k-2})^(2^w) ... * c_0. */
    mpz_t acc, t, e;
    mpz_inits(acc, t, e, NULL);
    mpz_setbit(e, slot_bits);
    mpz_mod(acc, cts[count - 1], pk->n2);
    for (size_t i = count - 1; i-- > 0;) {
        mpz_powm(t, acc, e, pk->n2);
        mpz_mul(t, t, cts[i]);
        mpz_mod(acc, t, pk->n2);
    }
    mpz_swap(c, acc);
    mpz_clears(acc, t, e, NULL);
    return PPML_OK;
}

int ppml_paillier_unpack(mpz_t *slots, size_t count, const mpz_t m, unsigned slot_bits)
{
    if ((!slots && count) || !m || slot_bits == 0 || slot_bits > MAX_SLOT_BITS)
        return PPML_EINVAL;
    if (mpz_sgn(m) < 0)
        return PPML_ERANGE;
    /* All slots must account for m exactly: bits above count*slot_bits mean a slot overflowed
     * or the value was negative (wrapped mod N). */
    if (count && mpz_sizeinbase(m, 2) > (size_t)count * slot_bits && mpz_sgn(m) != 0)
        return PPML_ERANGE;
    if (!count && mpz_sgn(m) != 0)
        return PPML_ERANGE;
    for (size_t i = 0; i < count; i++) {
        mpz_fdiv_q_2exp(slots[i], m, (mp_bitcnt_t)i * slot_bits);
        mpz_fdiv_r_2exp(slots[i], slots[i], slot_bits);
    }
    return PPML_OK;
}

/* Slot width for signed packing: value_bits + 1 (room for one later addition). */
static int packed_params(const ppml_paillier_pk *pk, unsigned value_bits, size_t *cap)
{
    if (!pk || value_bits < 2 || value_bits > 64)
        return PPML_EINVAL;
    *cap = ppml_paillier_pack_capacity(pk, value_bits + 1);
    return *cap ? PPML_OK : PPML_ERANGE;
}

size_t ppml_paillier_packed_count(const ppml_paillier_pk *pk, size_t count, unsigned value_bits)
{
    size_t cap;
    if (packed_params(pk, value_bits, &cap))
        return 0;
    return count / cap + (count % cap != 0);
}

/* Offset 2^(value_bits-1) as an unsigned 64-bit value: v + offset in [0, 2^value_bits). */
static int in_range(int64_t v, unsigned value_bits)
{
    if (value_bits >= 64)
        return v != INT64_MIN;
    int64_t lim = (int64_t)1 << (value_bits - 1);
    return v > -lim && v < lim;
}

int ppml_paillier_encrypt_packed(const ppml_paillier_pk *pk, mpz_t *cts, const int64_t *v,
                                 size_t count, unsigned value_bits)
{
    size_t cap;
    int e = packed_params(pk, value_bits, &cap);
    if (e)
        return e;
    if ((!cts || !v) && count)
        return PPML_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (!in_range(v[i], value_bits))
            return PPML_ERANGE;
    unsigned w = value_bits + 1;
    uint64_t offset = (uint64_t)1 << (value_bits - 1);
    size_t nct = count / cap + (count % cap != 0);
    mpz_t m, s;
    mpz_inits(m, s, NULL);
    for (size_t j = 0; j < nct && !e; j++) {
        size_t lo = j * cap, hi = lo + cap < count ? lo + cap : count;
        mpz_set_ui(m, 0);
        for (size_t i = hi; i-- > lo;) {
            mpz_mul_2exp(m, m, w);
            mpz_set_ui(s, (unsigned long)((uint64_t)v[i] + offset));
            mpz_add(m, m, s);
        }
        e = ppml_paillier_encrypt(pk, cts[j], m);
    }
    mpz_clears(m, s, NULL);
    return e;
}

int ppml_paillier_decrypt_packed(const ppml_paillier_sk *sk, int64_t *v, size_t count,
                                 const mpz_t *cts, unsigned value_bits)
{
    size_t cap;
    if (!sk)
        return PPML_EINVAL;
    int e = packed_params(sk->pk, value_bits, &cap);
    if (e)
        return e;
    if ((!cts || !v) && count)
        return PPML_EINVAL;
    unsigned w = value_bits + 1;
    size_t nct = count / cap + (count % cap != 0);
    int64_t *tmp = malloc((count ? count : 1) * sizeof *tmp);
    if (!tmp)
        return PPML_ENOMEM;
    mpz_t m, s, off;
    mpz_inits(m, s, off, NULL);
    mpz_setbit(off, value_bits - 1);
    for (size_t j = 0; j < nct && !e; j++) {
        size_t lo = j * cap, hi = lo + cap < count ? lo + cap : count;
        e = ppml_paillier_decrypt(sk, m, cts[j]);
        if (!e && mpz_sizeinbase(m, 2) > (hi - lo) * (size_t)w && mpz_sgn(m) != 0)
            e = PPML_ERANGE; /* more slots than expected: wrong value_bits or overflow */
        for (size_t i = lo; i < hi && !e; i++) {
            mpz_fdiv_r_2exp(s, m, w);
            mpz_fdiv_q_2exp(m, m, w);
            mpz_sub(s, s, off);
            if (!mpz_fits_slong_p(s))
                e = PPML_ERANGE;
            else
                tmp[i] = (int64_t)mpz_get_si(s);
        }
    }
    if (!e)
        for (size_t i = 0; i < count; i++)
            v[i] = tmp[i];
    ppml_free_secret(tmp, (count ? count : 1) * sizeof *tmp);
    mpz_clears(m, s, off, NULL);
    return e;
}
