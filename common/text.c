/*
 * Numbers for people.
 */
#include "text.h"

#include <inttypes.h>
#include <stdio.h>

__extension__ typedef unsigned __int128 u128;

/* "512 B", "1.5 KiB", "12.3 GiB", "100 GiB": one decimal, rounded, dropped when zero. */
const char *text_bytes(char *buf, size_t size, uint64_t bytes)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    unsigned u = 1;
    u128 tenths = 0;

    if (!buf || !size)
        return buf;
    if (bytes < 1024) {
        snprintf(buf, size, "%" PRIu64 " B", bytes);
        return buf;
    }
    for (;; u++) {
        u128 scale = (u128)1 << (10 * u);
        tenths = ((u128)bytes * 10 + scale / 2) / scale;
        /* Below 1024 of this unit once rounded; 2^64 B is only 16 EiB. */
        if (tenths < 10240 || u + 1 == sizeof(units) / sizeof(units[0]))
            break;
    }
    unsigned whole = (unsigned)(tenths / 10), tenth = (unsigned)(tenths % 10);
    if (tenth)
        snprintf(buf, size, "%u.%u %s", whole, tenth, units[u]);
    else
        snprintf(buf, size, "%u %s", whole, units[u]);
    return buf;
}
