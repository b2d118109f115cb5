/*
 * The verdict of `ferry storage validate`, its three forms (exit code, JSON, text), and
 * the evaluators that judge gathered numbers. Thresholds compare exact integers (128-bit
 * where a product could overflow), and what the detail shows is rounded so that it never
 * contradicts the status: a percentage shown as 10% never failed a 10% minimum.
 */
#include "verdict.h"

#include "text.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <string.h>

typedef unsigned __int128 u128;

/* --- the verdict ----------------------------------------------------------------------- */

enum verdict verdict_aggregate(const struct check_result *checks, size_t n)
{
    enum verdict v = VERDICT_HEALTHY;
    for (size_t i = 0; checks && i < n; i++) {
        switch (checks[i].status) {
        case CHECK_PASS:
        case CHECK_SKIP:
            break;
        case CHECK_WARN:
            v = VERDICT_DEGRADED;
            break;
        case CHECK_FAIL:
        default: /* a status nobody knows cannot vouch for anything */
            return VERDICT_UNHEALTHY;
        }
    }
    return v;
}

int verdict_exit_code(enum verdict v)
{
    switch (v) {
    case VERDICT_HEALTHY:
        return 0;
    case VERDICT_DEGRADED:
        return 1;
    case VERDICT_UNHEALTHY:
        return 2;
    }
    return 3;
}

const char *verdict_name(enum verdict v)
{
    switch (v) {
    case VERDICT_HEALTHY:
        return "healthy";
    case VERDICT_DEGRADED:
        return "degraded";
    case VERDICT_UNHEALTHY:
        return "unhealthy";
    }
    return "unknown";
}

const char *check_status_name(enum check_status s)
{
    switch (s) {
    case CHECK_PASS:
        return "pass";
    case CHECK_WARN:
        return "warn";
    case CHECK_FAIL:
        return "fail";
    case CHECK_SKIP:
        return "skip";
    }
    return "unknown";
}

static size_t detail_len(const struct check_result *c)
{
    return strnlen(c->detail, sizeof(c->detail));
}

struct json_object *verdict_to_json(enum verdict v, const struct check_result *checks, size_t n)
{
    struct json_object *root = json_object_new_object();
    struct json_object *list = json_object_new_array();
    if (!root || !list)
        goto fail;
    json_object_object_add(root, "verdict", json_object_new_string(verdict_name(v)));
    json_object_object_add(root, "checks", list);
    for (size_t i = 0; checks && i < n; i++) {
        const struct check_result *c = &checks[i];
        struct json_object *o = json_object_new_object();
        if (!o)
            goto fail_root;
        json_object_object_add(o, "name", c->name ? json_object_new_string(c->name) : NULL);
        json_object_object_add(o, "status", json_object_new_string(check_status_name(c->status)));
        json_object_object_add(o, "detail", json_object_new_string_len(c->detail, (int)detail_len(c)));
        json_object_array_add(list, o);
    }
    return root;

fail:
    json_object_put(list);
fail_root:
    json_object_put(root);
    return NULL;
}

void verdict_print(FILE *out, enum verdict v, const struct check_result *checks, size_t n)
{
    int width = 0;
    for (size_t i = 0; checks && i < n; i++) {
        int len = (int)strlen(checks[i].name ? checks[i].name : "?");
        if (len > width)
            width = len;
    }
    for (size_t i = 0; checks && i < n; i++) {
        const struct check_result *c = &checks[i];
        const char *name = c->name ? c->name : "?";
        if (detail_len(c))
            fprintf(out, "  %-4s  %-*s  %.*s\n", check_status_name(c->status), width, name, (int)detail_len(c),
                    c->detail);
        else
            fprintf(out, "  %-4s  %s\n", check_status_name(c->status), name);
    }
    fprintf(out, "verdict: %s\n", verdict_name(v));
}

void check_result_set(struct check_result *c, const char *name, enum check_status status, const char *fmt, ...)
{
    va_list ap;
    if (!c)
        return;
    c->name = name;
    c->status = status;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);
    /* One line, whatever the facts held (an errno text, a path with a newline...). */
    for (char *p = c->detail; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

/* --- free space and inodes ------------------------------------------------------------- */


/* The shared shape of "space" and "inodes": amounts is already "X free of Y". */
static void check_free(struct check_result *c, const char *name, const char *key, const char *amounts,
                       uint64_t total, uint64_t free, unsigned min_percent)
{
    if (free > total) {
        check_result_set(c, name, CHECK_WARN, "%s: the filesystem reports more free than in total", amounts);
        return;
    }
    unsigned percent = (unsigned)((u128)free * 100 / total); /* rounded down, like the comparisons */
    u128 free100 = (u128)free * 100, min_total = (u128)min_percent * total;
    if (free100 < min_total)
        check_result_set(c, name, CHECK_FAIL, "%s (%u%%); below [storage] %s (%u%%)", amounts, percent, key,
                         min_percent);
    else if (free100 < 2 * min_total)
        check_result_set(c, name, CHECK_WARN, "%s (%u%%); below twice [storage] %s (%u%%)", amounts, percent, key,
                         min_percent);
    else
        check_result_set(c, name, CHECK_PASS, "%s (%u%%)", amounts, percent);
}

void check_space(struct check_result *c, uint64_t total_bytes, uint64_t free_bytes, unsigned min_free_percent)
{
    char t[32], f[32], amounts[80];
    if (!c)
        return;
    if (total_bytes == 0) {
        check_result_set(c, "space", CHECK_FAIL, "the filesystem reports a size of 0 bytes");
        return;
    }
    snprintf(amounts, sizeof(amounts), "%s free of %s", text_bytes(f, sizeof(f), free_bytes),
             text_bytes(t, sizeof(t), total_bytes));
    check_free(c, "space", "min_free_percent", amounts, total_bytes, free_bytes, min_free_percent);
}

void check_inodes(struct check_result *c, uint64_t total, uint64_t free, unsigned min_free_percent)
{
    char amounts[80];
    if (!c)
        return;
    if (total == 0) {
        check_result_set(c, "inodes", CHECK_SKIP, "filesystem reports no inode limit");
        return;
    }
    snprintf(amounts, sizeof(amounts), "%" PRIu64 " inodes free of %" PRIu64, free, total);
    check_free(c, "inodes", "min_free_inodes_percent", amounts, total, free, min_free_percent);
}

/* --- latency --------------------------------------------------------------------------- */

uint32_t percentile_nearest_rank(const uint32_t *samples, size_t n, unsigned pct)
{
    if (!samples || n == 0)
        return 0;
    if (pct > 100)
        pct = 100;
    u128 rank = ((u128)pct * n + 99) / 100; /* ceil(pct/100 x n), at least 1 */
    if (rank == 0)
        rank = 1;
    /* The smallest value v with at least rank samples <= v: always one of the samples. */
    uint32_t lo = 0, hi = UINT32_MAX;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        size_t at_most = 0;
        for (size_t i = 0; i < n; i++)
            at_most += samples[i] <= mid;
        if (at_most >= rank)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* "850 us", "1.2 ms", "500 ms". */
static const char *format_us(char *buf, size_t size, uint64_t us)
{
    if (us < 1000) {
        snprintf(buf, size, "%" PRIu64 " us", us);
        return buf;
    }
    uint64_t tenths = (us + 50) / 100;
    if (tenths % 10)
        snprintf(buf, size, "%" PRIu64 ".%" PRIu64 " ms", tenths / 10, tenths % 10);
    else
        snprintf(buf, size, "%" PRIu64 " ms", tenths / 10);
    return buf;
}

void check_latency(struct check_result *c, const uint32_t *samples_us, size_t n, uint32_t warn_ms, uint32_t fail_ms)
{
    char p50s[32], p99s[32], limit[32];
    if (!c)
        return;
    if (!samples_us || n == 0) {
        check_result_set(c, "latency", CHECK_FAIL, "no probe answered");
        return;
    }
    uint32_t p50 = percentile_nearest_rank(samples_us, n, 50), p99 = percentile_nearest_rank(samples_us, n, 99);
    format_us(p50s, sizeof(p50s), p50);
    format_us(p99s, sizeof(p99s), p99);
    const char *probes = n == 1 ? "probe" : "probes";
    if ((uint64_t)p99 >= (uint64_t)fail_ms * 1000)
        check_result_set(c, "latency", CHECK_FAIL,
                         "p50 %s, p99 %s over %zu %s; p99 at or above [storage] latency_fail (%s)", p50s, p99s, n,
                         probes, format_us(limit, sizeof(limit), (uint64_t)fail_ms * 1000));
    else if ((uint64_t)p99 >= (uint64_t)warn_ms * 1000)
        check_result_set(c, "latency", CHECK_WARN,
                         "p50 %s, p99 %s over %zu %s; p99 at or above [storage] latency_warn (%s)", p50s, p99s, n,
                         probes, format_us(limit, sizeof(limit), (uint64_t)warn_ms * 1000));
    else
        check_result_set(c, "latency", CHECK_PASS, "p50 %s, p99 %s over %zu %s", p50s, p99s, n, probes);
}
