/*
 * The XXH3 implementation compiled into ferry (xxhash's header-only mode), so that one
 * object can be built for AVX2 and picked at run time: hashing the zeros of a large hole
 * must cost less than copying its data. Included by checksum.c and checksum_avx2.c only.
 */
#pragma once

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "stream_internal.h"

_Static_assert(sizeof(XXH3_state_t) <= sizeof(((struct checksum *)0)->state), "struct checksum holds an XXH3 state");

#define CHECKSUM_STATE(c) ((XXH3_state_t *)(void *)(c)->state)

#include <string.h>

enum { STRIPE = 64, LANES = 8, MAX_STRIPES_PER_BLOCK = 64 };

static inline uint64_t read64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v)); /* x86_64 is little-endian, as XXH_readLE64 reads */
    return v;
}

/*
 * `blocks` whole blocks of zero stripes: per lane, add the block's constant, then XXH3's
 * scramble. Each lane is one serial chain of dependent steps (the lanes are independent), so
 * a 4 GiB hole costs about four million such steps: checksum_avx2.c runs the eight lanes in
 * two AVX2 registers (about 10 ms for 4 GiB; the compiler's own vectorisation multiplied by
 * shifts and adds, five times slower).
 */
typedef void zero_blocks_fn(uint64_t acc[LANES], const uint64_t c[LANES], const uint64_t keys[LANES],
                            uint64_t blocks);

static inline void zero_blocks_scalar(uint64_t acc[LANES], const uint64_t c[LANES], const uint64_t keys[LANES],
                                      uint64_t blocks)
{
    for (uint64_t b = 0; b < blocks; b++)
        for (int i = 0; i < LANES; i++) {
            uint64_t a = acc[i] + c[i];
            a ^= a >> 47;
            a ^= keys[i];
            acc[i] = a * 0x9E3779B1U;
        }
}

/*
 * Adds `stripes` stripes of zeros to the state's accumulators, scrambling at block ends, as
 * XXH3's accumulate and scramble steps do for zero input (see checksum.c). Built in each
 * object: checksum_avx2.c passes its AVX2 zero_blocks.
 */
static inline void consume_zero_stripes(XXH3_state_t *s, uint64_t stripes, zero_blocks_fn *zero_blocks)
{
    const unsigned char *secret = s->extSecret ? s->extSecret : s->customSecret;
    size_t per_block = s->nbStripesPerBlock;
    uint64_t add[MAX_STRIPES_PER_BLOCK + 1][LANES]; /* prefix sums over the block's stripes */
    const unsigned char *key = secret + s->secretLimit;
    uint64_t keys[LANES];
    memset(add[0], 0, sizeof(add[0]));
    for (size_t n = 0; n < per_block; n++)
        for (int i = 0; i < LANES; i++) {
            uint64_t k = read64(secret + n * 8 + (size_t)i * 8);
            add[n + 1][i] = add[n][i] + (k & 0xFFFFFFFFu) * (k >> 32);
        }
    for (int i = 0; i < LANES; i++)
        keys[i] = read64(key + (size_t)i * 8);
    /* A partial block first, up to a block boundary, then whole blocks in a tight loop. */
    if (s->nbStripesSoFar > 0 && stripes >= per_block - s->nbStripesSoFar) {
        size_t from = s->nbStripesSoFar;
        for (int i = 0; i < LANES; i++) {
            uint64_t a = s->acc[i] + add[per_block][i] - add[from][i];
            a ^= a >> 47;
            a ^= keys[i];
            s->acc[i] = a * 0x9E3779B1U;
        }
        stripes -= per_block - from;
        s->nbStripesSoFar = 0;
    }
    if (s->nbStripesSoFar == 0 && stripes >= per_block) {
        uint64_t blocks = stripes / per_block, acc[LANES], c[LANES];
        for (int i = 0; i < LANES; i++) {
            acc[i] = s->acc[i];
            c[i] = add[per_block][i];
        }
        zero_blocks(acc, c, keys, blocks);
        for (int i = 0; i < LANES; i++)
            s->acc[i] = acc[i];
        stripes -= blocks * per_block;
    }
    while (stripes > 0) {
        size_t from = s->nbStripesSoFar;
        size_t n = per_block - from < stripes ? per_block - from : (size_t)stripes;
        uint64_t acc[LANES];
        for (int i = 0; i < LANES; i++)
            acc[i] = s->acc[i] + add[from + n][i] - add[from][i];
        s->nbStripesSoFar += n;
        stripes -= n;
        if (s->nbStripesSoFar == per_block) {
            for (int i = 0; i < LANES; i++) {
                uint64_t a = acc[i];
                a ^= a >> 47;
                a ^= keys[i];
                acc[i] = a * 0x9E3779B1U;
            }
            s->nbStripesSoFar = 0;
        }
        for (int i = 0; i < LANES; i++)
            s->acc[i] = acc[i];
    }
}
