/*
 * Bounded string copying: the truncation is deliberate and visible at the call site.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Copies src into dst (size bytes), always NUL-terminated; returns false if it was cut. */
static inline bool text_copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (size == 0)
        return false;
    if (n >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = 0;
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}
