/* Differential privacy: exact discrete Laplace sampling (Canonne, Kamath, Steinke,
 * "The Discrete Gaussian for Differential Privacy", NeurIPS 2020, Algorithm 2).
 *
 * DLap(t) has P[X = x] proportional to exp(-|x| / t) over the integers. The scale is the
 * rational t = num/den (> 0). Sampling uses only integer arithmetic and uniform integers from
 * the CSPRNG (never floating-point log of a uniform: Mironov 2012). The running time depends
 * on the sample (it is a rejection sampler), as in the source; the output distribution is
 * exact.
 *
 * Applied to fixed-point data with sensitivity df (in encoded units) and budget eps, the
 * Laplace mechanism uses scale df/eps, given here as num/den. */
#ifndef PPML_DP_H
#define PPML_DP_H
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One sample of DLap(num/den). num, den in [1, 2^32). */
PPML_API int ppml_dlap_sample(int64_t *out, uint64_t num, uint64_t den) PPML_WUR;
/* count samples into out, drawn from a ChaCha20 keystream keyed by 32 fresh bytes of
 * ppml_randombytes for this call (wiped before returning). */
PPML_API int ppml_dlap_sample_vec(int64_t *out, size_t count, uint64_t num, uint64_t den) PPML_WUR;
/* Exact Bernoulli(exp(-num/den)) for num/den >= 0: returns 0 or 1 (0 when den = 0). */
PPML_API int ppml_bernoulli_exp(uint64_t num, uint64_t den);
/* Exact Bernoulli(num/den), 0 <= num <= den, den >= 1: returns 0 or 1 (32 random bits and one
 * division when den < 2^32, else about two bits and no division); PPML_EINVAL for other
 * arguments. */
PPML_API int ppml_bernoulli(uint64_t num, uint64_t den);

#ifdef __cplusplus
}
#endif
#endif
