/*
 * Scope-bound cleanup, in the manner of systemd's _cleanup_(): a local declared with
 * _cleanup_free_ is freed on every return path, so early returns cannot leak.
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
    free(*(void **)p);
}

static inline void closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

static inline void fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hands ownership out of a _cleanup_ local: returns the value and clears the local. */
#define TAKE_PTR(p)                      \
    ({                                   \
        __typeof__(p) _taken_ = (p);     \
        (p) = NULL;                      \
        _taken_;                         \
    })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
