/*
 * The health verdict of `ferry storage validate`: named checks, each pass, warn, fail or
 * skip with a one-line detail, summed up as healthy, degraded or unhealthy. The I/O code
 * gathers facts (statvfs numbers, probe latencies, ...); the evaluators here turn facts
 * into check results, and the verdict, its exit code, its JSON and its human form are
 * computed from those results alone. Pure: nothing here touches the export.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum check_status { CHECK_PASS, CHECK_WARN, CHECK_FAIL, CHECK_SKIP };

struct check_result {
    const char *name; /* static: "mounted", "space", ... */
    enum check_status status;
    char detail[512]; /* one line */
};

enum verdict { VERDICT_HEALTHY, VERDICT_DEGRADED, VERDICT_UNHEALTHY };

/* Any fail (or a status out of range) -> unhealthy; else any warn -> degraded; skips do
 * not count, so no checks at all, or only skipped ones, is healthy. */
enum verdict verdict_aggregate(const struct check_result *checks, size_t n);

/* 0 healthy, 1 degraded, 2 unhealthy; 3 ("could not run") for a value out of range. */
int verdict_exit_code(enum verdict v);

/* "healthy", "degraded", "unhealthy"; "pass", "warn", "fail", "skip"; else "unknown". */
const char *verdict_name(enum verdict v);
const char *check_status_name(enum check_status s);

/* {"verdict": "...", "checks": [{"name", "status", "detail"}...]}, in the checks' order.
 * The caller puts the object; NULL when out of memory. */
struct json_object *verdict_to_json(enum verdict v, const struct check_result *checks, size_t n);

/* One line per check, names aligned, then the verdict:
 *       pass  mounted  10.0.0.5:/srv/nova on /opt/stack/data/nova/instances
 *       warn  space    12.3 GiB free of 100 GiB (12%); ...
 *     verdict: degraded */
void verdict_print(FILE *out, enum verdict v, const struct check_result *checks, size_t n);

/* Fills a check result; the detail is cut to fit. For the checks the I/O code evaluates itself. */
void check_result_set(struct check_result *c, const char *name, enum check_status status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * "space": fail when less than min_free_percent of the bytes are free, warn below twice
 * that, pass otherwise. Detail: "12.3 GiB free of 100 GiB (12%)", percentages rounded down.
 * A filesystem of 0 bytes fails; more free than total warns (the server's numbers are wrong).
 */
void check_space(struct check_result *c, uint64_t total_bytes, uint64_t free_bytes, unsigned min_free_percent);

/* "inodes": the same for inodes; total 0 skips ("filesystem reports no inode limit"). */
void check_inodes(struct check_result *c, uint64_t total, uint64_t free, unsigned min_free_percent);

/*
 * "latency": p50 and p99 (nearest rank) of the samples answered, in microseconds; fail if
 * p99 >= fail_ms, else warn if p99 >= warn_ms, else pass. No sample: fail ("no probe
 * answered"). The caller's array is left as it was.
 */
void check_latency(struct check_result *c, const uint32_t *samples_us, size_t n, uint32_t warn_ms, uint32_t fail_ms);

/*
 * The nearest-rank percentile: the smallest sample such that at least pct% of the samples
 * are <= it (pct 0 is the minimum, above 100 counts as 100). 0 when n is 0. Reads the
 * samples only: no copy, no sort, no allocation (O(32 n)).
 */
uint32_t percentile_nearest_rank(const uint32_t *samples, size_t n, unsigned pct);
