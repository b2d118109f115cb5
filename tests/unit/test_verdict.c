/*
 * The health verdict: aggregation over every sequence of statuses (against an oracle
 * written differently), exit codes and names, the JSON and text forms byte for byte,
 * check_result_set, and the space, inode and latency evaluators at each threshold, with
 * the details they print; the nearest-rank percentile against a sorting oracle on
 * random samples (fixed seed), leaving the caller's samples as they were.
 */
#include "verdict.h"
#include "test_support.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GiB ((uint64_t)1 << 30)

static struct check_result result(const char *name, enum check_status status, const char *detail)
{
    struct check_result c = { .name = name, .status = status };
    snprintf(c.detail, sizeof(c.detail), "%s", detail);
    return c;
}

static void expect_check(const struct check_result *c, const char *name, enum check_status status,
                         const char *detail)
{
    ASSERT_STR(c->name, name);
    if (c->status != status)
        fprintf(stderr, "\n    %s: status %s, expected %s (%s)\n", name, check_status_name(c->status),
                check_status_name(status), c->detail);
    CU_ASSERT_EQUAL(c->status, status);
    ASSERT_STR(c->detail, detail);
}

/* --- the verdict ------------------------------------------------------------------------ */

/* Worst status wins, by counting rather than by the module's early return. */
static enum verdict oracle(const enum check_status *s, size_t n)
{
    size_t fails = 0, warns = 0;
    for (size_t i = 0; i < n; i++) {
        fails += s[i] == CHECK_FAIL;
        warns += s[i] == CHECK_WARN;
    }
    return fails ? VERDICT_UNHEALTHY : warns ? VERDICT_DEGRADED : VERDICT_HEALTHY;
}

static void test_aggregate(void)
{
    struct check_result c[6];
    /* Every sequence of up to 5 statuses: 1 + 4 + 16 + 64 + 256 + 1024 of them. */
    unsigned seen[3] = { 0 };
    for (size_t n = 0; n <= 5; n++) {
        size_t combos = 1;
        for (size_t i = 0; i < n; i++)
            combos *= 4;
        for (size_t k = 0; k < combos; k++) {
            enum check_status s[5];
            size_t v = k;
            for (size_t i = 0; i < n; i++, v /= 4) {
                s[i] = (enum check_status)(v % 4);
                c[i] = result("x", s[i], "");
            }
            enum verdict got = verdict_aggregate(c, n);
            CU_ASSERT_EQUAL(got, oracle(s, n));
            if ((unsigned)got < 3)
                seen[got]++;
        }
    }
    CU_ASSERT(seen[VERDICT_HEALTHY] > 0 && seen[VERDICT_DEGRADED] > 0 && seen[VERDICT_UNHEALTHY] > 0);

    /* The named cases. */
    CU_ASSERT_EQUAL(verdict_aggregate(NULL, 0), VERDICT_HEALTHY);
    CU_ASSERT_EQUAL(verdict_aggregate(NULL, 3), VERDICT_HEALTHY);
    c[0] = result("a", CHECK_SKIP, "");
    c[1] = result("b", CHECK_SKIP, "");
    CU_ASSERT_EQUAL(verdict_aggregate(c, 2), VERDICT_HEALTHY); /* skips do not count */
    c[1] = result("b", CHECK_WARN, "");
    CU_ASSERT_EQUAL(verdict_aggregate(c, 2), VERDICT_DEGRADED);
    CU_ASSERT_EQUAL(verdict_aggregate(c, 1), VERDICT_HEALTHY); /* only n are read */
    c[2] = result("c", CHECK_FAIL, "");
    c[3] = result("d", CHECK_PASS, "");
    CU_ASSERT_EQUAL(verdict_aggregate(c, 4), VERDICT_UNHEALTHY);
    /* A status nobody knows is a failure. */
    c[0] = result("a", (enum check_status)7, "");
    CU_ASSERT_EQUAL(verdict_aggregate(c, 1), VERDICT_UNHEALTHY);
    c[0] = result("a", (enum check_status)-1, "");
    CU_ASSERT_EQUAL(verdict_aggregate(c, 1), VERDICT_UNHEALTHY);
}

static void test_exit_codes_and_names(void)
{
    CU_ASSERT_EQUAL(verdict_exit_code(VERDICT_HEALTHY), 0);
    CU_ASSERT_EQUAL(verdict_exit_code(VERDICT_DEGRADED), 1);
    CU_ASSERT_EQUAL(verdict_exit_code(VERDICT_UNHEALTHY), 2);
    CU_ASSERT_EQUAL(verdict_exit_code((enum verdict)3), 3);
    CU_ASSERT_EQUAL(verdict_exit_code((enum verdict)-1), 3);
    ASSERT_STR(verdict_name(VERDICT_HEALTHY), "healthy");
    ASSERT_STR(verdict_name(VERDICT_DEGRADED), "degraded");
    ASSERT_STR(verdict_name(VERDICT_UNHEALTHY), "unhealthy");
    ASSERT_STR(verdict_name((enum verdict)3), "unknown");
    ASSERT_STR(check_status_name(CHECK_PASS), "pass");
    ASSERT_STR(check_status_name(CHECK_WARN), "warn");
    ASSERT_STR(check_status_name(CHECK_FAIL), "fail");
    ASSERT_STR(check_status_name(CHECK_SKIP), "skip");
    ASSERT_STR(check_status_name((enum check_status)4), "unknown");
}

/* --- JSON and text ---------------------------------------------------------------------- */

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static void test_json(void)
{
    struct check_result c[4] = {
        result("mounted", CHECK_PASS, "10.0.0.5:/srv/nova on /opt/stack/data/nova/instances"),
        result("space", CHECK_WARN, "quote \" backslash \\ tab \t newline \n end"),
        result(NULL, CHECK_SKIP, ""),
        result("weird", (enum check_status)9, "x"),
    };
    struct json_object *root = verdict_to_json(VERDICT_DEGRADED, c, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    /* Through text and back, as a consumer sees it. */
    struct json_object *back = json_tokener_parse(json_object_to_json_string(root));
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_EQUAL(json_object_object_length(back), 2);
    ASSERT_STR(jstr(back, "verdict"), "degraded");
    struct json_object *checks = NULL;
    CU_ASSERT_TRUE(json_object_object_get_ex(back, "checks", &checks));
    CU_ASSERT_TRUE(json_object_is_type(checks, json_type_array));
    CU_ASSERT_EQUAL(json_object_array_length(checks), 4);
    struct json_object *e = json_object_array_get_idx(checks, 0);
    CU_ASSERT_EQUAL(json_object_object_length(e), 3);
    ASSERT_STR(jstr(e, "name"), "mounted");
    ASSERT_STR(jstr(e, "status"), "pass");
    ASSERT_STR(jstr(e, "detail"), "10.0.0.5:/srv/nova on /opt/stack/data/nova/instances");
    e = json_object_array_get_idx(checks, 1);
    ASSERT_STR(jstr(e, "name"), "space");
    ASSERT_STR(jstr(e, "status"), "warn");
    ASSERT_STR(jstr(e, "detail"), "quote \" backslash \\ tab \t newline \n end");
    e = json_object_array_get_idx(checks, 2);
    struct json_object *name = (struct json_object *)1;
    CU_ASSERT_TRUE(json_object_object_get_ex(e, "name", &name));
    CU_ASSERT_PTR_NULL(name); /* no name: null */
    ASSERT_STR(jstr(e, "status"), "skip");
    ASSERT_STR(jstr(e, "detail"), "");
    ASSERT_STR(jstr(json_object_array_get_idx(checks, 3), "status"), "unknown");
    json_object_put(back);
    json_object_put(root);

    /* No checks: an empty list. A detail that fills its array without a NUL stops at 512. */
    root = verdict_to_json(VERDICT_HEALTHY, NULL, 0);
    ASSERT_STR(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN), "{\"verdict\":\"healthy\",\"checks\":[]}");
    json_object_put(root);
    struct check_result full = { .name = "full", .status = CHECK_FAIL };
    memset(full.detail, 'd', sizeof(full.detail));
    root = verdict_to_json(VERDICT_UNHEALTHY, &full, 1);
    checks = NULL;
    CU_ASSERT_TRUE(json_object_object_get_ex(root, "checks", &checks));
    const char *d = jstr(json_object_array_get_idx(checks, 0), "detail");
    CU_ASSERT_EQUAL(d ? strlen(d) : 0, sizeof(full.detail));
    ASSERT_STR(jstr(root, "verdict"), "unhealthy");
    json_object_put(root);
}

static char *printed(enum verdict v, const struct check_result *c, size_t n)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    verdict_print(f, v, c, n);
    fclose(f);
    return text;
}

static void test_print(void)
{
    struct check_result c[4] = {
        result("mounted", CHECK_PASS, "10.0.0.5:/srv/nova on /opt/stack/data/nova/instances"),
        result("space", CHECK_WARN, "12.3 GiB free of 100 GiB (12%)"),
        result("inodes", CHECK_SKIP, ""),
        result("latency", CHECK_FAIL, "no probe answered"),
    };
    char *text = printed(VERDICT_UNHEALTHY, c, 4);
    ASSERT_STR(text, "  pass  mounted  10.0.0.5:/srv/nova on /opt/stack/data/nova/instances\n"
                     "  warn  space    12.3 GiB free of 100 GiB (12%)\n"
                     "  skip  inodes\n"
                     "  fail  latency  no probe answered\n"
                     "verdict: unhealthy\n");
    free(text);

    text = printed(VERDICT_HEALTHY, NULL, 0);
    ASSERT_STR(text, "verdict: healthy\n");
    free(text);

    /* No name, an unknown status and verdict, a detail without a NUL. */
    struct check_result odd[2] = { result(NULL, (enum check_status)9, "x"), { .name = "ab", .status = CHECK_PASS } };
    memset(odd[1].detail, 'd', sizeof(odd[1].detail));
    text = printed((enum verdict)7, odd, 2);
    char expected[1024];
    snprintf(expected, sizeof(expected), "  unknown  ?   x\n  pass  ab  %.512s\nverdict: unknown\n", odd[1].detail);
    ASSERT_STR(text, expected);
    free(text);
}

static void test_check_result_set(void)
{
    struct check_result c;
    check_result_set(&c, "mounted", CHECK_PASS, "%s on %s", "10.0.0.5:/srv/nova", "/mnt");
    expect_check(&c, "mounted", CHECK_PASS, "10.0.0.5:/srv/nova on /mnt");
    /* One line, whatever it was given. */
    check_result_set(&c, "source", CHECK_FAIL, "a\nb\tc\rd\x7f" "e\x01");
    expect_check(&c, "source", CHECK_FAIL, "a b c d e ");
    /* Cut to fit. */
    char long_text[1000];
    memset(long_text, 'y', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = 0;
    check_result_set(&c, "long", CHECK_WARN, "%s", long_text);
    CU_ASSERT_EQUAL(strlen(c.detail), sizeof(c.detail) - 1);
    check_result_set(NULL, "x", CHECK_PASS, "nothing");
}

/* --- space and inodes -------------------------------------------------------------------- */

static void test_space(void)
{
    struct check_result c;
    /* The documented example: 12.3 GiB of 100 GiB. */
    uint64_t free12 = 123 * GiB / 10;
    check_space(&c, 100 * GiB, free12, 5);
    expect_check(&c, "space", CHECK_PASS, "12.3 GiB free of 100 GiB (12%)");
    check_space(&c, 100 * GiB, free12, 10);
    expect_check(&c, "space", CHECK_WARN,
                 "12.3 GiB free of 100 GiB (12%); below twice [storage] min_free_percent (10%)");
    check_space(&c, 100 * GiB, free12, 13);
    expect_check(&c, "space", CHECK_FAIL, "12.3 GiB free of 100 GiB (12%); below [storage] min_free_percent (13%)");

    /* Each threshold exactly: fail below min, warn below 2 x min, pass from there. */
    check_space(&c, 1000, 99, 10);
    expect_check(&c, "space", CHECK_FAIL, "99 B free of 1000 B (9%); below [storage] min_free_percent (10%)");
    check_space(&c, 1000, 100, 10);
    CU_ASSERT_EQUAL(c.status, CHECK_WARN);
    check_space(&c, 1000, 199, 10);
    expect_check(&c, "space", CHECK_WARN, "199 B free of 1000 B (19%); below twice [storage] min_free_percent (10%)");
    check_space(&c, 1000, 200, 10);
    expect_check(&c, "space", CHECK_PASS, "200 B free of 1000 B (20%)");
    /* Percentages are rounded down, never up into a contradiction: 9.99% fails and says 9%. */
    check_space(&c, 10000, 999, 10);
    CU_ASSERT_EQUAL(c.status, CHECK_FAIL);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.detail, "(9%)"));
    /* min 0: nothing is too little. */
    check_space(&c, 1000, 0, 0);
    expect_check(&c, "space", CHECK_PASS, "0 B free of 1000 B (0%)");
    /* min 100: only an empty filesystem is not a failure, and even that warns. */
    check_space(&c, 1000, 999, 100);
    CU_ASSERT_EQUAL(c.status, CHECK_FAIL);
    check_space(&c, 1000, 1000, 100);
    expect_check(&c, "space", CHECK_WARN,
                 "1000 B free of 1000 B (100%); below twice [storage] min_free_percent (100%)");
    check_space(&c, 1000, 1000, 50);
    CU_ASSERT_EQUAL(c.status, CHECK_PASS);
    /* Facts that cannot be right. */
    check_space(&c, 0, 0, 10);
    expect_check(&c, "space", CHECK_FAIL, "the filesystem reports a size of 0 bytes");
    check_space(&c, 1024, 2048, 10);
    expect_check(&c, "space", CHECK_WARN, "2 KiB free of 1 KiB: the filesystem reports more free than in total");
    /* The largest numbers do not overflow. */
    check_space(&c, UINT64_MAX, UINT64_MAX / 2, 10);
    expect_check(&c, "space", CHECK_PASS, "8 EiB free of 16 EiB (49%)");
    check_space(&c, UINT64_MAX, UINT64_MAX / 10 - 1, 10);
    CU_ASSERT_EQUAL(c.status, CHECK_FAIL);
    check_space(NULL, 1, 1, 1);
}

/* The byte amounts in the detail: units, rounding, carrying into the next unit. */
static void test_byte_amounts(void)
{
    static const struct {
        uint64_t bytes;
        const char *text;
    } cases[] = {
        { 0, "0 B" },
        { 1, "1 B" },
        { 1023, "1023 B" },
        { 1024, "1 KiB" },
        { 1536, "1.5 KiB" },
        { 1075, "1 KiB" },  /* 1.0498: rounds to 1.0 */
        { 1076, "1.1 KiB" }, /* 1.0508 */
        { 1048063, "1023.5 KiB" },
        { 1048524, "1023.9 KiB" }, /* 1023.949 KiB */
        { 1048525, "1 MiB" },      /* 1023.950 KiB would read 1024.0 KiB */
        { 1048576, "1 MiB" },
        { 100 * GiB, "100 GiB" },
        { 1024 * GiB, "1 TiB" },
        { 5 * 1024 * 1024 * GiB / 2, "2.5 PiB" },
        { UINT64_MAX, "16 EiB" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct check_result c;
        char expected[128];
        check_space(&c, UINT64_MAX, cases[i].bytes, 0);
        snprintf(expected, sizeof(expected), "%s free of 16 EiB (%u%%)", cases[i].text,
                 (unsigned)((unsigned __int128)cases[i].bytes * 100 / UINT64_MAX));
        ASSERT_STR(c.detail, expected);
    }
}

static void test_inodes(void)
{
    struct check_result c;
    check_inodes(&c, 0, 0, 5);
    expect_check(&c, "inodes", CHECK_SKIP, "filesystem reports no inode limit");
    check_inodes(&c, 0, 123, 5);
    CU_ASSERT_EQUAL(c.status, CHECK_SKIP);
    check_inodes(&c, 1000, 49, 5);
    expect_check(&c, "inodes", CHECK_FAIL,
                 "49 inodes free of 1000 (4%); below [storage] min_free_inodes_percent (5%)");
    check_inodes(&c, 1000, 50, 5);
    expect_check(&c, "inodes", CHECK_WARN,
                 "50 inodes free of 1000 (5%); below twice [storage] min_free_inodes_percent (5%)");
    check_inodes(&c, 1000, 99, 5);
    CU_ASSERT_EQUAL(c.status, CHECK_WARN);
    check_inodes(&c, 1000, 100, 5);
    expect_check(&c, "inodes", CHECK_PASS, "100 inodes free of 1000 (10%)");
    check_inodes(&c, 6553600, 6553600, 5);
    expect_check(&c, "inodes", CHECK_PASS, "6553600 inodes free of 6553600 (100%)");
    check_inodes(&c, 10, 11, 5);
    expect_check(&c, "inodes", CHECK_WARN, "11 inodes free of 10: the filesystem reports more free than in total");
    check_inodes(&c, UINT64_MAX, UINT64_MAX, 100);
    CU_ASSERT_EQUAL(c.status, CHECK_WARN);
    check_inodes(NULL, 1, 1, 1);
}

/* --- latency ----------------------------------------------------------------------------- */

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void test_percentile(void)
{
    /* The textbook examples of the nearest-rank method. */
    const uint32_t a[] = { 15, 20, 35, 40, 50 };
    CU_ASSERT_EQUAL(percentile_nearest_rank(a, 5, 5), 15);
    CU_ASSERT_EQUAL(percentile_nearest_rank(a, 5, 30), 20);
    CU_ASSERT_EQUAL(percentile_nearest_rank(a, 5, 40), 20);
    CU_ASSERT_EQUAL(percentile_nearest_rank(a, 5, 50), 35);
    CU_ASSERT_EQUAL(percentile_nearest_rank(a, 5, 100), 50);
    const uint32_t b[] = { 20, 3, 16, 8, 13, 6, 15, 8, 7, 10 }; /* unsorted */
    const uint32_t b_copy[] = { 20, 3, 16, 8, 13, 6, 15, 8, 7, 10 };
    CU_ASSERT_EQUAL(percentile_nearest_rank(b, 10, 25), 7);
    CU_ASSERT_EQUAL(percentile_nearest_rank(b, 10, 50), 8);
    CU_ASSERT_EQUAL(percentile_nearest_rank(b, 10, 75), 15);
    CU_ASSERT_EQUAL(percentile_nearest_rank(b, 10, 100), 20);
    CU_ASSERT(!memcmp(b, b_copy, sizeof(b)));
    /* Edges: 0 is the minimum, above 100 the maximum, one sample is every percentile. */
    CU_ASSERT_EQUAL(percentile_nearest_rank(b, 10, 0), 3);
    CU_ASSERT_EQUAL(percentile_nearest_rank(b, 10, 101), 20);
    CU_ASSERT_EQUAL(percentile_nearest_rank(b, 10, 4000000000u), 20);
    const uint32_t one[] = { 42 };
    for (unsigned p = 0; p <= 100; p += 25)
        CU_ASSERT_EQUAL(percentile_nearest_rank(one, 1, p), 42);
    const uint32_t extremes[] = { UINT32_MAX, 0 };
    CU_ASSERT_EQUAL(percentile_nearest_rank(extremes, 2, 50), 0);
    CU_ASSERT_EQUAL(percentile_nearest_rank(extremes, 2, 51), UINT32_MAX);
    const uint32_t same[] = { 7, 7, 7 };
    CU_ASSERT_EQUAL(percentile_nearest_rank(same, 3, 99), 7);
    CU_ASSERT_EQUAL(percentile_nearest_rank(NULL, 0, 50), 0);
    CU_ASSERT_EQUAL(percentile_nearest_rank(NULL, 5, 50), 0);
    CU_ASSERT_EQUAL(percentile_nearest_rank(a, 0, 50), 0);

    /* Random samples against sorting, at every percentile. */
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + (size_t)(rng() % 300);
        uint32_t *s = malloc(n * sizeof(*s)), *sorted = malloc(n * sizeof(*s)), *orig = malloc(n * sizeof(*s));
        CU_ASSERT_FATAL(s && sorted && orig);
        uint32_t range = round % 3 == 0 ? 10 : round % 3 == 1 ? 100000 : UINT32_MAX;
        for (size_t i = 0; i < n; i++)
            s[i] = range == UINT32_MAX ? (uint32_t)rng() : (uint32_t)(rng() % range);
        memcpy(sorted, s, n * sizeof(*s));
        memcpy(orig, s, n * sizeof(*s));
        qsort(sorted, n, sizeof(*s), cmp_u32);
        for (unsigned p = 0; p <= 100; p++) {
            size_t rank = (p * n + 99) / 100;
            uint32_t expected = sorted[rank ? rank - 1 : 0];
            uint32_t got = percentile_nearest_rank(s, n, p);
            if (got != expected)
                fprintf(stderr, "\n    n %zu p %u: got %u, expected %u\n", n, p, got, expected);
            CU_ASSERT_EQUAL(got, expected);
        }
        /* The samples are read, never reordered. */
        CU_ASSERT(!memcmp(s, orig, n * sizeof(*s)));
        free(s);
        free(sorted);
        free(orig);
    }
}

static void test_latency(void)
{
    struct check_result c;
    uint32_t s[100];
    for (unsigned i = 0; i < 100; i++)
        s[(i * 37) % 100] = (i + 1) * 1000; /* 1 ms .. 100 ms, shuffled */
    uint32_t copy[100];
    memcpy(copy, s, sizeof(s));

    check_latency(&c, s, 100, 500, 1000);
    expect_check(&c, "latency", CHECK_PASS, "p50 50 ms, p99 99 ms over 100 probes");
    CU_ASSERT(!memcmp(s, copy, sizeof(s))); /* the caller's samples as they were */
    /* p99 exactly at the warning threshold warns; below it passes. */
    check_latency(&c, s, 100, 99, 500);
    expect_check(&c, "latency", CHECK_WARN,
                 "p50 50 ms, p99 99 ms over 100 probes; p99 at or above [storage] latency_warn (99 ms)");
    check_latency(&c, s, 100, 100, 500);
    CU_ASSERT_EQUAL(c.status, CHECK_PASS);
    /* ...and at the failure threshold fails. */
    check_latency(&c, s, 100, 50, 99);
    expect_check(&c, "latency", CHECK_FAIL,
                 "p50 50 ms, p99 99 ms over 100 probes; p99 at or above [storage] latency_fail (99 ms)");
    check_latency(&c, s, 100, 50, 100);
    CU_ASSERT_EQUAL(c.status, CHECK_WARN);
    /* To the microsecond. */
    const uint32_t just_below = 99999, at = 100000;
    check_latency(&c, &just_below, 1, 100, 200);
    CU_ASSERT_EQUAL(c.status, CHECK_PASS);
    check_latency(&c, &at, 1, 100, 200);
    CU_ASSERT_EQUAL(c.status, CHECK_WARN);
    check_latency(&c, &just_below, 1, 50, 100);
    CU_ASSERT_EQUAL(c.status, CHECK_WARN);
    check_latency(&c, &at, 1, 50, 100);
    CU_ASSERT_EQUAL(c.status, CHECK_FAIL);
    /* Failure wins over warning even if the thresholds are the wrong way round. */
    check_latency(&c, s, 100, 200, 50);
    CU_ASSERT_EQUAL(c.status, CHECK_FAIL);
    CU_ASSERT(!memcmp(s, copy, sizeof(s)));

    /* The p99 of 100 samples is the 99th: one slow probe does not fail the check. */
    uint32_t spike[100];
    for (unsigned i = 0; i < 100; i++)
        spike[i] = 800;
    spike[37] = 4000000;
    check_latency(&c, spike, 100, 50, 500);
    expect_check(&c, "latency", CHECK_PASS, "p50 800 us, p99 800 us over 100 probes");
    spike[38] = 4000000; /* two are 2%: now p99 is slow */
    check_latency(&c, spike, 100, 50, 500);
    expect_check(&c, "latency", CHECK_FAIL,
                 "p50 800 us, p99 4000 ms over 100 probes; p99 at or above [storage] latency_fail (500 ms)");

    /* Microsecond and millisecond spellings. */
    static const struct {
        uint32_t us;
        const char *text;
    } spell[] = {
        { 0, "0 us" },         { 999, "999 us" },     { 1000, "1 ms" },        { 1049, "1 ms" },
        { 1050, "1.1 ms" },    { 1234, "1.2 ms" },    { 1949, "1.9 ms" },      { 1950, "2 ms" },
        { 500000, "500 ms" },  { 999999, "1000 ms" }, { UINT32_MAX, "4294967.3 ms" },
    };
    for (size_t i = 0; i < sizeof(spell) / sizeof(spell[0]); i++) {
        char expected[128];
        check_latency(&c, &spell[i].us, 1, UINT32_MAX, UINT32_MAX);
        snprintf(expected, sizeof(expected), "p50 %s, p99 %s over 1 probe", spell[i].text, spell[i].text);
        expect_check(&c, "latency", CHECK_PASS, expected);
    }

    /* Nothing answered. */
    check_latency(&c, NULL, 0, 50, 500);
    expect_check(&c, "latency", CHECK_FAIL, "no probe answered");
    check_latency(&c, s, 0, 50, 500);
    expect_check(&c, "latency", CHECK_FAIL, "no probe answered");
    check_latency(&c, NULL, 3, 50, 500);
    expect_check(&c, "latency", CHECK_FAIL, "no probe answered");
    check_latency(NULL, s, 100, 50, 500);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "aggregate every sequence", test_aggregate },
        { "exit codes and names", test_exit_codes_and_names },
        { "JSON", test_json },
        { "text", test_print },
        { "check_result_set", test_check_result_set },
        { "space", test_space },
        { "byte amounts", test_byte_amounts },
        { "inodes", test_inodes },
        { "nearest-rank percentile", test_percentile },
        { "latency", test_latency },
        { NULL, NULL },
    };
    return test_run_suite("verdict", cases);
}
