/*
 * Monotonic time in milliseconds and microseconds.
 */
#include "clock.h"

#include <time.h>

uint64_t clock_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t clock_monotonic_ms(void)
{
    return clock_monotonic_us() / 1000u;
}

uint64_t clock_remaining_ms(uint64_t deadline_ms)
{
    uint64_t now = clock_monotonic_ms();
    return deadline_ms > now ? deadline_ms - now : 0;
}
