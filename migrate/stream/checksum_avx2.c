/*
 * XXH3-128 updates built with AVX2 (this file alone is compiled with -mavx2); checksum.c
 * calls it only on CPUs that have AVX2.
 */
#include "checksum_xxh3.h"

#include <immintrin.h>

void checksum_update_avx2(struct checksum *c, const void *data, size_t len);

void checksum_update_avx2(struct checksum *c, const void *data, size_t len)
{
    XXH3_128bits_update(CHECKSUM_STATE(c), data, len);
}

void checksum_zero_stripes_avx2(XXH3_state_t *s, uint64_t stripes);

/* XXH3's own AVX2 scramble (a 64-bit multiply by a 32-bit prime is two 32-bit ones), with
 * the xor of the key beside the shift so that each block's chain is a step shorter. */
static void zero_blocks_avx2(uint64_t acc[LANES], const uint64_t c[LANES], const uint64_t keys[LANES], uint64_t blocks)
{
    __m256i a0 = _mm256_loadu_si256((const __m256i *)(const void *)acc);
    __m256i a1 = _mm256_loadu_si256((const __m256i *)(const void *)(acc + 4));
    const __m256i c0 = _mm256_loadu_si256((const __m256i *)(const void *)c);
    const __m256i c1 = _mm256_loadu_si256((const __m256i *)(const void *)(c + 4));
    const __m256i k0 = _mm256_loadu_si256((const __m256i *)(const void *)keys);
    const __m256i k1 = _mm256_loadu_si256((const __m256i *)(const void *)(keys + 4));
    const __m256i prime = _mm256_set1_epi32((int)0x9E3779B1U);
    for (uint64_t b = 0; b < blocks; b++) {
        __m256i x0 = _mm256_add_epi64(a0, c0), x1 = _mm256_add_epi64(a1, c1);
        x0 = _mm256_xor_si256(_mm256_xor_si256(x0, k0), _mm256_srli_epi64(x0, 47));
        x1 = _mm256_xor_si256(_mm256_xor_si256(x1, k1), _mm256_srli_epi64(x1, 47));
        __m256i lo0 = _mm256_mul_epu32(x0, prime), hi0 = _mm256_mul_epu32(_mm256_srli_epi64(x0, 32), prime);
        __m256i lo1 = _mm256_mul_epu32(x1, prime), hi1 = _mm256_mul_epu32(_mm256_srli_epi64(x1, 32), prime);
        a0 = _mm256_add_epi64(lo0, _mm256_slli_epi64(hi0, 32));
        a1 = _mm256_add_epi64(lo1, _mm256_slli_epi64(hi1, 32));
    }
    _mm256_storeu_si256((__m256i *)(void *)acc, a0);
    _mm256_storeu_si256((__m256i *)(void *)(acc + 4), a1);
}

void checksum_zero_stripes_avx2(XXH3_state_t *s, uint64_t stripes)
{
    consume_zero_stripes(s, stripes, zero_blocks_avx2);
}
