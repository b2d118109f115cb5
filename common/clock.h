/*
 * Time as ferry measures it: the monotonic clock for deadlines, intervals and liveness
 * (never the wall clock, which other hosts do not share and which jumps).
 */
#pragma once

#include <stdint.h>

uint64_t clock_monotonic_ms(void);
uint64_t clock_monotonic_us(void);
/* Milliseconds left until deadline_ms (0 when past). */
uint64_t clock_remaining_ms(uint64_t deadline_ms);
