/*
 * XXH3-128 updates built with AVX2 (this file alone is compiled with -mavx2); checksum.c
 * calls it only on CPUs that have AVX2.
 */
#include "checksum_xxh3.h"

void checksum_update_avx2(struct checksum *c, const void *data, size_t len);

void checksum_update_avx2(struct checksum *c, const void *data, size_t len)
{
    XXH3_128bits_update(CHECKSUM_STATE(c), data, len);
}

void checksum_zero_stripes_avx2(XXH3_state_t *s, uint64_t stripes);

void checksum_zero_stripes_avx2(XXH3_state_t *s, uint64_t stripes)
{
    consume_zero_stripes(s, stripes);
}
