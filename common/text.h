/*
 * Bounded string copying: the truncation is deliberate and visible at the call site.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Copies src into dst (size bytes), always NUL-terminated; returns false if it was cut. */
static inline bool text_copy(char *dst, size_t size, const char *src)
{
    if (size == 0)
        return false;
    size_t n = strlen(src);
    size_t copied = n < size ? n : size - 1;
    memmove(dst, src, copied);
    dst[copied] = 0;
    return n < size;
}

/* snprintf for messages that may be cut to fit: returns false if it was. */
static inline bool text_printf(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline bool text_printf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

/* "512 B", "1.5 KiB", "12.3 GiB", "100 GiB": binary units, one decimal, rounded, dropped when
 * zero. Returns buf. */
const char *text_bytes(char *buf, size_t size, uint64_t bytes);
