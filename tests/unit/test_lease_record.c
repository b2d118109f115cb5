/*
 * Lease records and fence requests: the exact bytes written, round trips at the edges of
 * every field, every invalid field refused, and a decoder that never says OK to anything
 * but an intact, valid record: torn at every byte, zero-filled, each byte flipped, a new
 * record torn over an old one, bad checksums, future versions, broken structure, bad
 * values, NUL bytes, random bytes and random re-sealed mutations (fixed seeds).
 */
#include "lease_record.h"
#include "test_support.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* --- helpers ------------------------------------------------------------------------- */

static const char GOLDEN_LEASE[] = "ferry-lease 1\n"
                                   "host compute1\n"
                                   "host_id 6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6a\n"
                                   "counter 1234\n"
                                   "state live\n"
                                   "fence_ack -\n"
                                   "written_at 1764255600\n"
                                   "checksum 2528c0ecd46824da\n";

static const char GOLDEN_REQUEST[] = "ferry-fence-request 1\n"
                                     "target compute1\n"
                                     "request_id compute2-1764255600-1\n"
                                     "requested_by compute2\n"
                                     "requested_at 1764255600\n"
                                     "checksum baa50faf9860f66a\n";

static struct lease_record sample_lease(void)
{
    struct lease_record r = {
        .version = LEASE_RECORD_VERSION,
        .host = "compute1",
        .host_id = "6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6a",
        .counter = 1234,
        .state = LEASE_LIVE,
        .fence_ack = "",
        .written_at = 1764255600,
    };
    return r;
}

static struct fence_request sample_request(void)
{
    struct fence_request q = {
        .target = "compute1",
        .request_id = "compute2-1764255600-1",
        .requested_by = "compute2",
        .requested_at = 1764255600,
    };
    return q;
}

/* body + "checksum <xxh64 of body>\n", computed here, independently of the module. */
static size_t seal(const char *body, size_t body_len, char *out, size_t size)
{
    int n = snprintf(out, size, "%.*schecksum %016llx\n", (int)body_len, body,
                     (unsigned long long)XXH64(body, body_len, 0));
    CU_ASSERT_FATAL(n > 0 && (size_t)n < size);
    return (size_t)n;
}

static size_t seal_str(const char *body, char *out, size_t size)
{
    return seal(body, strlen(body), out, size);
}

static void fill_sentinel(void *p, size_t n)
{
    memset(p, 0xa5, n);
}

static bool is_sentinel(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0xa5)
            return false;
    return true;
}

/*
 * Decodes buf as a lease record and expects status, a one-line reason holding needle (on
 * failure), and *r untouched unless OK.
 */
static void expect_lease(const char *buf, size_t len, enum lease_decode_status expected, const char *needle)
{
    struct lease_record r;
    char why[256];
    fill_sentinel(&r, sizeof(r));
    enum lease_decode_status s = lease_record_decode(buf, len, &r, why, sizeof(why));
    if (s != expected)
        fprintf(stderr, "\n    decoded as %s (%s), expected %s\n", lease_decode_status_name(s), why,
                lease_decode_status_name(expected));
    CU_ASSERT_EQUAL(s, expected);
    CU_ASSERT_PTR_NULL(memchr(why, '\n', strlen(why)));
    if (expected == LEASE_DECODE_OK) {
        ASSERT_STR(why, "");
        CU_ASSERT_FALSE(is_sentinel(&r, sizeof(r)));
    } else {
        CU_ASSERT(strlen(why) > 0);
        CU_ASSERT(is_sentinel(&r, sizeof(r)));
        if (needle)
            ASSERT_CONTAINS(why, needle);
    }
}

static void expect_lease_str(const char *text, enum lease_decode_status expected, const char *needle)
{
    expect_lease(text, strlen(text), expected, needle);
}

/* Seals body and expects the decode to give status with why holding needle. */
static void expect_sealed(const char *body, enum lease_decode_status expected, const char *needle)
{
    char buf[2048];
    size_t n = seal_str(body, buf, sizeof(buf));
    expect_lease(buf, n, expected, needle);
}

static void expect_request(const char *buf, size_t len, enum lease_decode_status expected, const char *needle)
{
    struct fence_request q;
    char why[256];
    fill_sentinel(&q, sizeof(q));
    enum lease_decode_status s = fence_request_decode(buf, len, &q, why, sizeof(why));
    if (s != expected)
        fprintf(stderr, "\n    decoded as %s (%s), expected %s\n", lease_decode_status_name(s), why,
                lease_decode_status_name(expected));
    CU_ASSERT_EQUAL(s, expected);
    if (expected == LEASE_DECODE_OK) {
        ASSERT_STR(why, "");
    } else {
        CU_ASSERT(is_sentinel(&q, sizeof(q)));
        if (needle)
            ASSERT_CONTAINS(why, needle);
    }
}

/* The two kinds of record, for the tests that treat them alike. */
struct kind {
    const char *name;
    const char *golden;
    enum lease_decode_status (*decode)(const char *buf, size_t len, char *why, size_t why_size);
    /* Re-encodes what decoded OK; returns the length or a negative errno. */
    int (*reencode)(const char *buf, size_t len, char *out, size_t size);
};

static enum lease_decode_status decode_lease(const char *buf, size_t len, char *why, size_t why_size)
{
    struct lease_record r;
    return lease_record_decode(buf, len, &r, why, why_size);
}

static enum lease_decode_status decode_request(const char *buf, size_t len, char *why, size_t why_size)
{
    struct fence_request q;
    return fence_request_decode(buf, len, &q, why, why_size);
}

static int reencode_lease(const char *buf, size_t len, char *out, size_t size)
{
    struct lease_record r;
    if (lease_record_decode(buf, len, &r, NULL, 0) != LEASE_DECODE_OK)
        return -EINVAL;
    return lease_record_encode(&r, out, size);
}

static int reencode_request(const char *buf, size_t len, char *out, size_t size)
{
    struct fence_request q;
    if (fence_request_decode(buf, len, &q, NULL, 0) != LEASE_DECODE_OK)
        return -EINVAL;
    return fence_request_encode(&q, out, size);
}

static const struct kind kinds[] = {
    { "lease record", GOLDEN_LEASE, decode_lease, reencode_lease },
    { "fence request", GOLDEN_REQUEST, decode_request, reencode_request },
};

/* xorshift64*: the same bytes on every run. */
static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* --- encoding ------------------------------------------------------------------------ */

static void test_encode_exact(void)
{
    struct lease_record r = sample_lease();
    char buf[LEASE_RECORD_MAX];
    int n = lease_record_encode(&r, buf, sizeof(buf));
    CU_ASSERT_EQUAL(n, (int)strlen(GOLDEN_LEASE));
    ASSERT_STR(buf, GOLDEN_LEASE);

    /* The checksum is XXH64 (seed 0) of every byte before the checksum line. */
    char sealed[LEASE_RECORD_MAX];
    const char *ck = strstr(GOLDEN_LEASE, "checksum ");
    seal(GOLDEN_LEASE, (size_t)(ck - GOLDEN_LEASE), sealed, sizeof(sealed));
    ASSERT_STR(buf, sealed);

    struct fence_request q = sample_request();
    n = fence_request_encode(&q, buf, sizeof(buf));
    CU_ASSERT_EQUAL(n, (int)strlen(GOLDEN_REQUEST));
    ASSERT_STR(buf, GOLDEN_REQUEST);

    /* The other states and an acknowledgement, spelled as documented. */
    r.state = LEASE_FENCED;
    strcpy(r.fence_ack, "compute2-1764255600-1");
    CU_ASSERT(lease_record_encode(&r, buf, sizeof(buf)) > 0);
    ASSERT_CONTAINS(buf, "\nstate fenced\nfence_ack compute2-1764255600-1\n");
    r.state = LEASE_RELEASED;
    CU_ASSERT(lease_record_encode(&r, buf, sizeof(buf)) > 0);
    ASSERT_CONTAINS(buf, "\nstate released\n");
}

static void roundtrip_lease(const struct lease_record *r)
{
    char buf[LEASE_RECORD_MAX], again[LEASE_RECORD_MAX];
    struct lease_record d;
    int n = lease_record_encode(r, buf, sizeof(buf));
    CU_ASSERT(n > 0 && n < LEASE_RECORD_MAX);
    if (n <= 0)
        return;
    CU_ASSERT_EQUAL((size_t)n, strlen(buf));
    memset(&d, 0x5a, sizeof(d));
    CU_ASSERT_EQUAL(lease_record_decode(buf, (size_t)n, &d, NULL, 0), LEASE_DECODE_OK);
    CU_ASSERT_EQUAL(d.version, r->version);
    ASSERT_STR(d.host, r->host);
    ASSERT_STR(d.host_id, r->host_id);
    CU_ASSERT_EQUAL(d.counter, r->counter);
    CU_ASSERT_EQUAL(d.state, r->state);
    ASSERT_STR(d.fence_ack, r->fence_ack);
    CU_ASSERT_EQUAL(d.written_at, r->written_at);
    /* One encoding per record. */
    CU_ASSERT_EQUAL(lease_record_encode(&d, again, sizeof(again)), n);
    ASSERT_STR(again, buf);
}

static void test_roundtrip_edges(void)
{
    static const uint64_t counters[] = { 0, 1, 9, 10, 1234, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX - 1,
                                         UINT64_MAX };
    static const int64_t times[] = { INT64_MIN, INT64_MIN + 1, -1764255600, -1, 0, 1, 1764255600, INT64_MAX };
    static const enum lease_state states[] = { LEASE_LIVE, LEASE_FENCED, LEASE_RELEASED };
    struct lease_record r = sample_lease();

    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        r.counter = counters[i];
        roundtrip_lease(&r);
    }
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        r.written_at = times[i];
        roundtrip_lease(&r);
    }
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        r.state = states[i];
        roundtrip_lease(&r);
    }
    /* Longest everything: still far below the maximum. */
    memset(r.host, 'h', LEASE_HOST_MAX);
    r.host[LEASE_HOST_MAX] = 0;
    memset(r.fence_ack, '9', LEASE_HOST_MAX);
    r.fence_ack[LEASE_HOST_MAX] = 0;
    r.counter = UINT64_MAX;
    r.written_at = INT64_MIN;
    r.state = LEASE_RELEASED;
    roundtrip_lease(&r);
    /* Shortest: one-character names and ids, every allowed character. */
    strcpy(r.host, "a");
    strcpy(r.fence_ack, "Z");
    roundtrip_lease(&r);
    strcpy(r.host, "0Az.b_c-9");
    strcpy(r.fence_ack, "0Az.b_c-9:x");
    strcpy(r.host_id, "00000000-0000-0000-0000-000000000000");
    roundtrip_lease(&r);
    strcpy(r.host_id, "ffffffff-ffff-ffff-ffff-ffffffffffff");
    roundtrip_lease(&r);

    /* Fence requests. */
    struct fence_request q = sample_request(), d;
    char buf[LEASE_RECORD_MAX];
    memset(q.request_id, 'r', LEASE_HOST_MAX);
    q.request_id[LEASE_HOST_MAX] = 0;
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        q.requested_at = times[i];
        int n = fence_request_encode(&q, buf, sizeof(buf));
        CU_ASSERT(n > 0);
        memset(&d, 0, sizeof(d));
        CU_ASSERT_EQUAL(fence_request_decode(buf, (size_t)(n > 0 ? n : 0), &d, NULL, 0), LEASE_DECODE_OK);
        ASSERT_STR(d.target, q.target);
        ASSERT_STR(d.request_id, q.request_id);
        ASSERT_STR(d.requested_by, q.requested_by);
        CU_ASSERT_EQUAL(d.requested_at, q.requested_at);
    }
}

static void expect_encode_invalid(const struct lease_record *r)
{
    char buf[LEASE_RECORD_MAX];
    memset(buf, 'x', sizeof(buf));
    int n = lease_record_encode(r, buf, sizeof(buf));
    if (n != -EINVAL)
        fprintf(stderr, "\n    encode of host '%.65s' host_id '%.37s' fence_ack '%.65s' returned %d\n", r->host,
                r->host_id, r->fence_ack, n);
    CU_ASSERT_EQUAL(n, -EINVAL);
    CU_ASSERT_EQUAL(buf[0], 'x'); /* nothing written */
}

static void test_encode_invalid(void)
{
    static const char *const bad_hosts[] = { "", "a/b", "/", "a b", " a", "a ", "a\tb", "a\nb", "a\rb", "\x01",
                                             "a\x7f", "caf\xc3\xa9", ".", "..", ".hidden", "-f", "_x", "a:b",
                                             "a\\b", "a*b", "a,b", "a=b", "a\"b" };
    static const char *const bad_uuids[] = {
        "",
        "6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6",   /* 35 */
        "6F1C2A9E-0D3B-4C55-9A7E-1F2E3D4C5B6A",  /* uppercase */
        "6f1c2a9e0d3b-4c55-9a7e-1f2e3d4c5b6a-",  /* hyphen moved */
        "6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6g",  /* not hex */
        "6f1c2a9e-0d3b-4c55-9a7e 1f2e3d4c5b6a",  /* space for hyphen */
        "{6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6}", /* braces */
        "6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6a",  /* (valid: the control) */
    };
    struct lease_record r;

    for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++) {
        r = sample_lease();
        strcpy(r.host, bad_hosts[i]);
        expect_encode_invalid(&r);
    }
    r = sample_lease();
    memset(r.host, 'h', sizeof(r.host)); /* 65 characters: no terminator */
    expect_encode_invalid(&r);

    char buf[LEASE_RECORD_MAX];
    for (size_t i = 0; i < sizeof(bad_uuids) / sizeof(bad_uuids[0]); i++) {
        r = sample_lease();
        /* Too long for the array: copied unterminated, which is invalid too. */
        size_t l = strlen(bad_uuids[i]);
        memcpy(r.host_id, bad_uuids[i], l < sizeof(r.host_id) ? l + 1 : sizeof(r.host_id));
        if (i + 1 < sizeof(bad_uuids) / sizeof(bad_uuids[0]))
            expect_encode_invalid(&r);
        else
            CU_ASSERT(lease_record_encode(&r, buf, sizeof(buf)) > 0);
    }
    r = sample_lease();
    memset(r.host_id, 'a', sizeof(r.host_id)); /* unterminated */
    expect_encode_invalid(&r);

    static const char *const bad_acks[] = { "-", "-x", "a b", "a/b", ".x", "x\n" };
    for (size_t i = 0; i < sizeof(bad_acks) / sizeof(bad_acks[0]); i++) {
        r = sample_lease();
        strcpy(r.fence_ack, bad_acks[i]);
        expect_encode_invalid(&r);
    }
    r = sample_lease();
    memset(r.fence_ack, 'a', sizeof(r.fence_ack));
    expect_encode_invalid(&r);

    r = sample_lease();
    r.state = (enum lease_state)3;
    expect_encode_invalid(&r);
    r.state = (enum lease_state)-1;
    expect_encode_invalid(&r);

    r = sample_lease();
    r.version = 0;
    expect_encode_invalid(&r);
    r.version = LEASE_RECORD_VERSION + 1;
    expect_encode_invalid(&r);

    r = sample_lease();
    CU_ASSERT_EQUAL(lease_record_encode(NULL, buf, sizeof(buf)), -EINVAL);
    CU_ASSERT_EQUAL(lease_record_encode(&r, NULL, 0), -EINVAL);
    CU_ASSERT_EQUAL(lease_record_encode(&r, NULL, sizeof(buf)), -EINVAL);

    /* Fence requests: each of the three names. */
    struct fence_request q = sample_request();
    CU_ASSERT_EQUAL(fence_request_encode(NULL, buf, sizeof(buf)), -EINVAL);
    CU_ASSERT_EQUAL(fence_request_encode(&q, NULL, sizeof(buf)), -EINVAL);
    strcpy(q.target, "../etc");
    CU_ASSERT_EQUAL(fence_request_encode(&q, buf, sizeof(buf)), -EINVAL);
    q = sample_request();
    strcpy(q.request_id, "-");
    CU_ASSERT_EQUAL(fence_request_encode(&q, buf, sizeof(buf)), -EINVAL);
    q = sample_request();
    strcpy(q.request_id, "");
    CU_ASSERT_EQUAL(fence_request_encode(&q, buf, sizeof(buf)), -EINVAL);
    q = sample_request();
    strcpy(q.requested_by, "a b");
    CU_ASSERT_EQUAL(fence_request_encode(&q, buf, sizeof(buf)), -EINVAL);
    q = sample_request();
    memset(q.requested_by, 'b', sizeof(q.requested_by));
    CU_ASSERT_EQUAL(fence_request_encode(&q, buf, sizeof(buf)), -EINVAL);
    q = sample_request();
    strcpy(q.request_id, "a:b"); /* ':' is fine in ids, not in host names */
    CU_ASSERT(fence_request_encode(&q, buf, sizeof(buf)) > 0);
    strcpy(q.target, "a:b");
    CU_ASSERT_EQUAL(fence_request_encode(&q, buf, sizeof(buf)), -EINVAL);
}

static void test_encode_sizes(void)
{
    struct lease_record r = sample_lease();
    struct fence_request q = sample_request();
    char buf[LEASE_RECORD_MAX + 16];
    size_t len = strlen(GOLDEN_LEASE);

    for (size_t size = 0; size <= len + 1; size++) {
        memset(buf, '#', sizeof(buf));
        int n = lease_record_encode(&r, buf, size);
        if (size <= len) {
            CU_ASSERT_EQUAL(n, -ENOSPC);
            CU_ASSERT_EQUAL(buf[0], '#'); /* nothing written when it does not fit */
        } else {
            CU_ASSERT_EQUAL(n, (int)len);
            CU_ASSERT(!memcmp(buf, GOLDEN_LEASE, len + 1));
        }
        CU_ASSERT_EQUAL(buf[size], '#'); /* never past size */
    }
    len = strlen(GOLDEN_REQUEST);
    for (size_t size = 0; size <= len + 1; size++) {
        memset(buf, '#', sizeof(buf));
        int n = fence_request_encode(&q, buf, size);
        CU_ASSERT_EQUAL(n, size <= len ? -ENOSPC : (int)len);
        CU_ASSERT_EQUAL(buf[size], '#');
    }
    /* An invalid field is -EINVAL even when the buffer is also too small. */
    strcpy(r.host, "");
    CU_ASSERT_EQUAL(lease_record_encode(&r, buf, 1), -EINVAL);
}

static void test_validators(void)
{
    char max[LEASE_HOST_MAX + 2];
    memset(max, 'a', sizeof(max));
    max[LEASE_HOST_MAX] = 0;

    CU_ASSERT_TRUE(lease_host_valid("compute1"));
    CU_ASSERT_TRUE(lease_host_valid("compute-1.example.org"));
    CU_ASSERT_TRUE(lease_host_valid("Node_7"));
    CU_ASSERT_TRUE(lease_host_valid("9"));
    CU_ASSERT_TRUE(lease_host_valid(max));
    max[LEASE_HOST_MAX] = 'a';
    max[LEASE_HOST_MAX + 1] = 0;
    CU_ASSERT_FALSE(lease_host_valid(max)); /* 65 */
    CU_ASSERT_FALSE(lease_host_valid(NULL));
    CU_ASSERT_FALSE(lease_host_valid(""));
    CU_ASSERT_FALSE(lease_host_valid(".."));
    CU_ASSERT_FALSE(lease_host_valid("a/b"));
    CU_ASSERT_FALSE(lease_host_valid("a b"));
    CU_ASSERT_FALSE(lease_host_valid("a:b"));
    CU_ASSERT_FALSE(lease_host_valid("-"));

    CU_ASSERT_TRUE(lease_request_id_valid("compute2-1764255600-1"));
    CU_ASSERT_TRUE(lease_request_id_valid("urn:uuid:6f1c2a9e"));
    CU_ASSERT_FALSE(lease_request_id_valid("-"));
    CU_ASSERT_FALSE(lease_request_id_valid(""));
    CU_ASSERT_FALSE(lease_request_id_valid(NULL));
    CU_ASSERT_FALSE(lease_request_id_valid("a/b"));
    CU_ASSERT_FALSE(lease_request_id_valid(max));

    CU_ASSERT_TRUE(lease_uuid_valid("6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6a"));
    CU_ASSERT_FALSE(lease_uuid_valid("6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6a0"));
    CU_ASSERT_FALSE(lease_uuid_valid("6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6"));
    CU_ASSERT_FALSE(lease_uuid_valid("6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6A"));
    CU_ASSERT_FALSE(lease_uuid_valid("6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c-b6a"));
    CU_ASSERT_FALSE(lease_uuid_valid(NULL));
}

/* --- decoding: the frame ------------------------------------------------------------- */

static void test_decode_golden(void)
{
    struct lease_record r;
    char why[64] = "stale";
    CU_ASSERT_EQUAL(lease_record_decode(GOLDEN_LEASE, strlen(GOLDEN_LEASE), &r, why, sizeof(why)), LEASE_DECODE_OK);
    ASSERT_STR(why, "");
    CU_ASSERT_EQUAL(r.version, 1);
    ASSERT_STR(r.host, "compute1");
    ASSERT_STR(r.host_id, "6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6a");
    CU_ASSERT_EQUAL(r.counter, 1234);
    CU_ASSERT_EQUAL(r.state, LEASE_LIVE);
    ASSERT_STR(r.fence_ack, "");
    CU_ASSERT_EQUAL(r.written_at, 1764255600);
    /* No record wanted: just the verdict. */
    CU_ASSERT_EQUAL(lease_record_decode(GOLDEN_LEASE, strlen(GOLDEN_LEASE), NULL, NULL, 0), LEASE_DECODE_OK);

    struct fence_request q;
    CU_ASSERT_EQUAL(fence_request_decode(GOLDEN_REQUEST, strlen(GOLDEN_REQUEST), &q, why, sizeof(why)),
                    LEASE_DECODE_OK);
    ASSERT_STR(q.target, "compute1");
    ASSERT_STR(q.request_id, "compute2-1764255600-1");
    ASSERT_STR(q.requested_by, "compute2");
    CU_ASSERT_EQUAL(q.requested_at, 1764255600);
    CU_ASSERT_EQUAL(fence_request_decode(GOLDEN_REQUEST, strlen(GOLDEN_REQUEST), NULL, NULL, 0), LEASE_DECODE_OK);
}

static void test_decode_empty_and_oversized(void)
{
    expect_lease("", 0, LEASE_DECODE_EMPTY, "empty");
    expect_lease(NULL, 0, LEASE_DECODE_EMPTY, "empty");
    expect_lease(NULL, 10, LEASE_DECODE_GARBAGE, "no lease record");
    expect_request("", 0, LEASE_DECODE_EMPTY, "empty");

    /* Over the maximum: garbage, however it begins. */
    char *big = malloc(LEASE_RECORD_MAX + 2);
    CU_ASSERT_FATAL(big != NULL);
    memset(big, 'a', LEASE_RECORD_MAX + 2);
    memcpy(big, GOLDEN_LEASE, strlen(GOLDEN_LEASE));
    expect_lease(big, LEASE_RECORD_MAX + 1, LEASE_DECODE_GARBAGE, "1025 bytes");
    expect_lease(big, SIZE_MAX, LEASE_DECODE_GARBAGE, "larger than");
    /* At exactly the maximum the size is not the complaint. */
    expect_lease(big, LEASE_RECORD_MAX, LEASE_DECODE_TRUNCATED, "mid-line");
    free(big);

    /* A valid record padded with text up to the maximum is a record with trailing bytes. */
    char padded[LEASE_RECORD_MAX];
    size_t len = strlen(GOLDEN_LEASE);
    memcpy(padded, GOLDEN_LEASE, len);
    memset(padded + len, 'x', sizeof(padded) - len - 1);
    padded[sizeof(padded) - 1] = '\n';
    expect_lease(padded, sizeof(padded), LEASE_DECODE_GARBAGE, "after its checksum line");
}

/* Every prefix of a valid record: never OK. */
static void test_decode_every_prefix(void)
{
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const char *g = kinds[k].golden;
        size_t len = strlen(g);
        unsigned truncated = 0;
        for (size_t cut = 0; cut < len; cut++) {
            /* A heap copy of exactly cut bytes: ASan sees any read past the end. */
            char *p = malloc(cut ? cut : 1);
            CU_ASSERT_FATAL(p != NULL);
            memcpy(p, g, cut);
            char why[256] = "";
            enum lease_decode_status s = kinds[k].decode(p, cut, why, sizeof(why));
            if (cut == 0) {
                CU_ASSERT_EQUAL(s, LEASE_DECODE_EMPTY);
            } else {
                if (s != LEASE_DECODE_TRUNCATED && s != LEASE_DECODE_BAD_CHECKSUM)
                    fprintf(stderr, "\n    %s cut at %zu: %s (%s)\n", kinds[k].name, cut, lease_decode_status_name(s),
                            why);
                CU_ASSERT(s == LEASE_DECODE_TRUNCATED || s == LEASE_DECODE_BAD_CHECKSUM);
                truncated += s == LEASE_DECODE_TRUNCATED;
                CU_ASSERT(strlen(why) > 0);
            }
            free(p);
        }
        /* In this format every prefix is, precisely, truncated. */
        CU_ASSERT_EQUAL(truncated, len - 1);
        CU_ASSERT_EQUAL(kinds[k].decode(g, len, NULL, 0), LEASE_DECODE_OK);
    }
    expect_lease("ferr", 4, LEASE_DECODE_TRUNCATED, "inside its first line");
    expect_lease(GOLDEN_LEASE, strlen(GOLDEN_LEASE) - 1, LEASE_DECODE_TRUNCATED, "mid-line");
    const char *ck = strstr(GOLDEN_LEASE, "checksum");
    expect_lease(GOLDEN_LEASE, (size_t)(ck - GOLDEN_LEASE), LEASE_DECODE_TRUNCATED, "no checksum line");
}

/* A torn write that extended the file: a prefix, then zeros up to the full length or beyond. */
static void test_decode_zero_tails(void)
{
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const char *g = kinds[k].golden;
        size_t len = strlen(g);
        for (size_t cut = 0; cut < len; cut++) {
            for (size_t total = cut + 1; total <= len + 8; total += 7) {
                char buf[LEASE_RECORD_MAX];
                memset(buf, 0, sizeof(buf));
                memcpy(buf, g, cut);
                enum lease_decode_status s = kinds[k].decode(buf, total, NULL, 0);
                CU_ASSERT_EQUAL(s, LEASE_DECODE_TRUNCATED);
            }
        }
        /* The whole record, then zeros: the zeros are not part of any record. */
        char buf[LEASE_RECORD_MAX] = { 0 };
        memcpy(buf, g, len);
        CU_ASSERT_EQUAL(kinds[k].decode(buf, len + 1, NULL, 0), LEASE_DECODE_TRUNCATED);
    }
    char buf[64] = "ferry-lease 1\nhost a";
    expect_lease(buf, sizeof(buf), LEASE_DECODE_TRUNCATED, "zeros from byte 20");
    memset(buf, 0, sizeof(buf));
    expect_lease(buf, sizeof(buf), LEASE_DECODE_TRUNCATED, "zeros from byte 0 on");
    memcpy(buf, "ferry-lx", 8);
    expect_lease(buf, sizeof(buf), LEASE_DECODE_GARBAGE, "does not begin with");
}

/* Each byte changed in each of several ways: never OK. */
static void test_decode_byte_flips(void)
{
    static const unsigned char flips[] = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        const char *g = kinds[k].golden;
        size_t len = strlen(g);
        unsigned bad_checksum = 0;
        for (size_t i = 0; i < len; i++)
            for (size_t f = 0; f < sizeof(flips); f++) {
                char buf[LEASE_RECORD_MAX];
                memcpy(buf, g, len);
                buf[i] = (char)(buf[i] ^ flips[f]);
                enum lease_decode_status s = kinds[k].decode(buf, len, NULL, 0);
                if (s == LEASE_DECODE_OK)
                    fprintf(stderr, "\n    %s with byte %zu ^ %#x decoded OK\n", kinds[k].name, i, flips[f]);
                CU_ASSERT_NOT_EQUAL(s, LEASE_DECODE_OK);
                bad_checksum += s == LEASE_DECODE_BAD_CHECKSUM;
            }
        CU_ASSERT(bad_checksum > len); /* most damage is caught by the checksum itself */
    }
}

/* A new record written over an old one of the same length and torn at every byte: only
 * exactly the old or exactly the new record decodes. */
static void test_decode_torn_overwrite(void)
{
    struct lease_record a = sample_lease(), b = sample_lease();
    char old[LEASE_RECORD_MAX], new[LEASE_RECORD_MAX], mix[LEASE_RECORD_MAX];
    a.state = b.state = LEASE_FENCED;
    b.counter = 1235;
    strcpy(b.fence_ack, "a");
    int na = lease_record_encode(&a, old, sizeof(old)), nb = lease_record_encode(&b, new, sizeof(new));
    CU_ASSERT_FATAL(na > 0 && na == nb);
    for (int cut = 0; cut <= na; cut++) {
        memcpy(mix, new, (size_t)cut);
        memcpy(mix + cut, old + cut, (size_t)(na - cut));
        struct lease_record d;
        enum lease_decode_status s = lease_record_decode(mix, (size_t)na, &d, NULL, 0);
        bool is_old = !memcmp(mix, old, (size_t)na), is_new = !memcmp(mix, new, (size_t)na);
        CU_ASSERT_EQUAL(s == LEASE_DECODE_OK, is_old || is_new);
        if (s == LEASE_DECODE_OK)
            CU_ASSERT_EQUAL(d.counter, is_new ? 1235u : 1234u);
    }
    /* A shorter record over a longer one, not truncated: the old tail follows the checksum. */
    b.counter = 7;
    nb = lease_record_encode(&b, new, sizeof(new));
    CU_ASSERT_FATAL(nb > 0 && nb < na);
    memcpy(mix, old, (size_t)na);
    memcpy(mix, new, (size_t)nb);
    expect_lease(mix, (size_t)na, LEASE_DECODE_GARBAGE, "after its checksum line");
}

static void test_decode_checksum_line(void)
{
    char buf[LEASE_RECORD_MAX];
    const char *ck = strstr(GOLDEN_LEASE, "checksum ");
    size_t body = (size_t)(ck - GOLDEN_LEASE);

    /* A checksum that does not match: one digit off, all zeros. */
    strcpy(buf, GOLDEN_LEASE);
    buf[strlen(buf) - 2] = buf[strlen(buf) - 2] == '0' ? '1' : '0';
    expect_lease_str(buf, LEASE_DECODE_BAD_CHECKSUM, "does not match");
    snprintf(buf, sizeof(buf), "%.*schecksum 0000000000000000\n", (int)body, GOLDEN_LEASE);
    expect_lease_str(buf, LEASE_DECODE_BAD_CHECKSUM, "0000000000000000");
    /* A field changed, the checksum left alone. */
    strcpy(buf, GOLDEN_LEASE);
    memcpy(strstr(buf, "counter 1234"), "counter 1235", 12);
    expect_lease_str(buf, LEASE_DECODE_BAD_CHECKSUM, "damaged or torn");

    /* Malformed checksum values are garbage, not a mismatch. */
    static const char *const malformed[] = {
        "checksum 2528C0ECD46824DA\n", /* uppercase */
        "checksum 2528c0ecd46824d\n",  /* 15 digits */
        "checksum 2528c0ecd46824da0\n", /* 17 */
        "checksum 2528c0ecd46824dz\n", /* not hex */
        "checksum  2528c0ecd46824da\n", /* two spaces */
        "checksum 2528c0ecd46824da \n", /* trailing space */
        "checksum 0x2528c0ecd46824\n", /* prefix */
        "checksum\n",                 /* no value */
        "checksum \n",                /* empty value */
        "checksum -\n",
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        snprintf(buf, sizeof(buf), "%.*s%s", (int)body, GOLDEN_LEASE, malformed[i]);
        expect_lease_str(buf, LEASE_DECODE_GARBAGE, "16 lowercase hex digits");
    }

    /* Lines after the checksum line; a second record after the first. */
    snprintf(buf, sizeof(buf), "%sstate live\n", GOLDEN_LEASE);
    expect_lease_str(buf, LEASE_DECODE_GARBAGE, "11 bytes after its checksum line");
    snprintf(buf, sizeof(buf), "%s%s", GOLDEN_LEASE, GOLDEN_LEASE);
    expect_lease_str(buf, LEASE_DECODE_GARBAGE, "after its checksum line");
    snprintf(buf, sizeof(buf), "%s\n", GOLDEN_LEASE);
    expect_lease_str(buf, LEASE_DECODE_GARBAGE, "1 bytes after its checksum line");

    /* Words that only begin like "checksum" are not the checksum line. */
    snprintf(buf, sizeof(buf), "%.*schecksums 2528c0ecd46824da\n", (int)body, GOLDEN_LEASE);
    expect_lease_str(buf, LEASE_DECODE_TRUNCATED, "no checksum line");
    /* The first line is never the checksum line, even when it says so. */
    expect_lease_str("ferry-lease checksum 0000000000000000\n", LEASE_DECODE_TRUNCATED, "no checksum line");
}

static void test_decode_versions(void)
{
    /* Newer versions, intact: whatever their fields. */
    expect_sealed("ferry-lease 2\nhost compute1\n", LEASE_DECODE_FUTURE_VERSION, "version 2 is newer");
    expect_sealed("ferry-lease 2\nsomething new\nhost compute1\n", LEASE_DECODE_FUTURE_VERSION, "upgrade ferry");
    expect_sealed("ferry-lease 4294967295\n", LEASE_DECODE_FUTURE_VERSION, "4294967295");
    char buf[LEASE_RECORD_MAX];
    size_t n = seal_str("ferry-fence-request 2\n", buf, sizeof(buf));
    expect_request(buf, n, LEASE_DECODE_FUTURE_VERSION, "fence request version 2");
    /* A newer version whose checksum does not match is damaged, not newer. */
    buf[n - 2] = buf[n - 2] == '0' ? '1' : '0';
    expect_request(buf, n, LEASE_DECODE_BAD_CHECKSUM, "does not match");

    /* Not a version at all. */
    static const char *const bad[] = { "ferry-lease 0\n",  "ferry-lease 01\n", "ferry-lease x\n",
                                       "ferry-lease \n",   "ferry-lease -1\n", "ferry-lease +1\n",
                                       "ferry-lease 1 \n", "ferry-lease 1.0\n", "ferry-lease 4294967296\n",
                                       "ferry-lease 99999999999999999999999\n" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body), "%shost compute1\n", bad[i]);
        expect_sealed(body, LEASE_DECODE_GARBAGE, "line 1: the version");
    }
    /* The current version with nothing in it: the first field is missing. */
    expect_sealed("ferry-lease 1\n", LEASE_DECODE_GARBAGE, "no \"host\" field");
}

/* --- decoding: the fields ------------------------------------------------------------ */

/* The golden body with line `line` (0 = magic) replaced by `with` (NULL: removed). */
static void body_with(char *out, size_t size, size_t line, const char *with)
{
    const char *ck = strstr(GOLDEN_LEASE, "checksum ");
    const char *p = GOLDEN_LEASE;
    size_t len = 0;
    for (size_t i = 0; p < ck; i++) {
        const char *eol = strchr(p, '\n');
        int n;
        if (i != line)
            n = snprintf(out + len, size - len, "%.*s", (int)(eol - p + 1), p);
        else
            n = snprintf(out + len, size - len, "%s", with ? with : "");
        CU_ASSERT_FATAL(n >= 0 && (size_t)n < size - len);
        len += (size_t)n;
        p = eol + 1;
    }
}

static void expect_line(size_t line, const char *with, const char *needle)
{
    char body[LEASE_RECORD_MAX];
    body_with(body, sizeof(body), line, with);
    expect_sealed(body, LEASE_DECODE_GARBAGE, needle);
}

static void expect_line_ok(size_t line, const char *with)
{
    char body[LEASE_RECORD_MAX];
    body_with(body, sizeof(body), line, with);
    expect_sealed(body, LEASE_DECODE_OK, NULL);
}

static void test_decode_structure(void)
{
    /* Lines: 0 magic, 1 host, 2 host_id, 3 counter, 4 state, 5 fence_ack, 6 written_at. */
    expect_line_ok(1, "host compute1\n"); /* the control: the same record */
    expect_line(1, NULL, "line 2: field \"host_id\" where \"host\" belongs");
    expect_line(6, NULL, "no \"written_at\" field");
    expect_line(3, NULL, "field \"state\" where \"counter\" belongs");
    expect_line(1, "host compute1\nhost compute1\n", "line 3: field \"host\" appears twice");
    expect_line(6, "written_at 1\nwritten_at 1\n", "field \"written_at\" appears twice");
    expect_line(4, "state live\ncounter 5\n", "appears twice");
    expect_line(3, "state live\n", "field \"state\" where \"counter\" belongs");
    expect_line(1, "hostname compute1\n", "line 2: unknown field \"hostname\"");
    expect_line(6, "written_at 1\nextra 1\n", "line 8: unknown field \"extra\"");
    expect_line(1, "Host compute1\n", "unknown field \"Host\"");
    expect_line(1, "\n", "line 2: \"\" is not \"key value\"");
    expect_line(1, "host\n", "\"host\" is not \"key value\"");
    expect_line(1, "host compute1\n\n", "line 3");
    expect_line(1, "# a comment\nhost compute1\n", "unknown field \"#\"");
    expect_line(1, " host compute1\n", "unknown field \"\"");
    expect_line(1, "host  compute1\n", "host \" compute1\" is not a host name");
    expect_line(1, "host compute1 \n", "is not a host name");
    expect_line(1, "host compute1\r\n", "\"compute1?\" is not a host name");
    expect_line(1, "host\tcompute1\n", "is not \"key value\"");
    /* Unknown keys are reported without echoing what cannot be printed. */
    expect_line(1, "h\x01\xff\x7fst x\n", "unknown field \"h???st\"");
    /* ...and cut short when long. */
    expect_line(1, "abcdefghijklmnopqrstuvwxyz0123456789 x\n", "\"abcdefghijklmnopqrstuvwx\"...");
}

static void test_decode_values(void)
{
    char line[256], longest[LEASE_HOST_MAX + 2];

    /* host (line 1) */
    memset(longest, 'h', sizeof(longest));
    longest[LEASE_HOST_MAX] = 0;
    snprintf(line, sizeof(line), "host %s\n", longest);
    expect_line_ok(1, line);
    longest[LEASE_HOST_MAX] = 'h';
    longest[LEASE_HOST_MAX + 1] = 0;
    snprintf(line, sizeof(line), "host %s\n", longest);
    expect_line(1, line, "is not a host name");
    static const char *const bad_hosts[] = { "host \n", "host a/b\n", "host ..\n", "host .x\n", "host -x\n",
                                             "host a:b\n", "host caf\xc3\xa9\n", "host a\x01\n", "host -\n" };
    for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++)
        expect_line(1, bad_hosts[i], "is not a host name");

    /* host_id (line 2) */
    expect_line(2, "host_id 6F1C2A9E-0D3B-4C55-9A7E-1F2E3D4C5B6A\n", "is not a lowercase UUID");
    expect_line(2, "host_id 6f1c2a9e0d3b4c559a7e1f2e3d4c5b6a\n", "is not a lowercase UUID");
    expect_line(2, "host_id 6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6a0\n", "is not a lowercase UUID");
    expect_line(2, "host_id -\n", "is not a lowercase UUID");

    /* counter (line 3) */
    expect_line_ok(3, "counter 0\n");
    expect_line_ok(3, "counter 18446744073709551615\n");
    static const char *const bad_counters[] = { "counter 18446744073709551616\n",
                                                "counter 99999999999999999999\n",
                                                "counter 184467440737095516150\n",
                                                "counter -1\n",
                                                "counter +1\n",
                                                "counter 01\n",
                                                "counter 00\n",
                                                "counter 1e3\n",
                                                "counter 0x10\n",
                                                "counter 12 \n",
                                                "counter \n",
                                                "counter 1.5\n" };
    for (size_t i = 0; i < sizeof(bad_counters) / sizeof(bad_counters[0]); i++)
        expect_line(3, bad_counters[i], "is not a number from 0 to 18446744073709551615");

    /* state (line 4) */
    expect_line_ok(4, "state fenced\n");
    expect_line_ok(4, "state released\n");
    static const char *const bad_states[] = { "state LIVE\n", "state liv\n", "state lived\n", "state 0\n",
                                              "state \n", "state fenced \n" };
    for (size_t i = 0; i < sizeof(bad_states) / sizeof(bad_states[0]); i++)
        expect_line(4, bad_states[i], "is not live, fenced or released");

    /* fence_ack (line 5) */
    expect_line_ok(5, "fence_ack compute2-1764255600-1\n");
    expect_line_ok(5, "fence_ack urn:x\n");
    static const char *const bad_acks[] = { "fence_ack \n", "fence_ack --\n", "fence_ack -x\n", "fence_ack a/b\n",
                                            "fence_ack a b\n" };
    for (size_t i = 0; i < sizeof(bad_acks) / sizeof(bad_acks[0]); i++)
        expect_line(5, bad_acks[i], "is not a request id or \"-\"");
    memset(longest, 'a', sizeof(longest));
    longest[LEASE_HOST_MAX + 1] = 0;
    snprintf(line, sizeof(line), "fence_ack %s\n", longest);
    expect_line(5, line, "is not a request id");

    /* written_at (line 6) */
    expect_line_ok(6, "written_at -9223372036854775808\n");
    expect_line_ok(6, "written_at 9223372036854775807\n");
    expect_line_ok(6, "written_at 0\n");
    expect_line_ok(6, "written_at -1\n");
    static const char *const bad_times[] = { "written_at 9223372036854775808\n", "written_at -9223372036854775809\n",
                                             "written_at -0\n",  "written_at --1\n", "written_at +1\n",
                                             "written_at -\n",   "written_at 007\n", "written_at -01\n",
                                             "written_at \n",    "written_at 1 2\n" };
    for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++)
        expect_line(6, bad_times[i], "is not a number from -9223372036854775808");

    /* Fence requests have their own fields and names. */
    char buf[LEASE_RECORD_MAX];
    size_t n = seal_str("ferry-fence-request 1\ntarget compute1\nrequest_id -\nrequested_by b\nrequested_at 1\n", buf,
                        sizeof(buf));
    expect_request(buf, n, LEASE_DECODE_GARBAGE, "fence request line 3: request_id \"-\" is not a request id");
    n = seal_str("ferry-fence-request 1\ntarget compute1\nrequest_id r\nrequested_by b\n", buf, sizeof(buf));
    expect_request(buf, n, LEASE_DECODE_GARBAGE, "no \"requested_at\" field");
    n = seal_str("ferry-fence-request 1\ntarget ../x\nrequest_id r\nrequested_by b\nrequested_at 1\n", buf,
                 sizeof(buf));
    expect_request(buf, n, LEASE_DECODE_GARBAGE, "target \"../x\" is not a host name");
    n = seal_str("ferry-fence-request 1\ntarget a\nrequest_id r\nrequested_by b\nrequested_at 1\ncounter 1\n", buf,
                 sizeof(buf));
    expect_request(buf, n, LEASE_DECODE_GARBAGE, "unknown field \"counter\"");
}

static void test_decode_nul_bytes(void)
{
    char buf[LEASE_RECORD_MAX];
    size_t len = strlen(GOLDEN_LEASE);

    /* A NUL anywhere inside: garbage (not a torn tail, since text follows it). */
    for (size_t i = 0; i < len - 1; i++) {
        memcpy(buf, GOLDEN_LEASE, len);
        buf[i] = 0;
        char why[128];
        struct lease_record r;
        CU_ASSERT_EQUAL(lease_record_decode(buf, len, &r, why, sizeof(why)), LEASE_DECODE_GARBAGE);
        char needle[64];
        snprintf(needle, sizeof(needle), "NUL byte at offset %zu", i);
        ASSERT_CONTAINS(why, needle);
    }
    /* Zeros after text that is not a lease record: still not a lease record. */
    memcpy(buf, "ferry-lx\0", 9);
    expect_lease(buf, 9, LEASE_DECODE_GARBAGE, "does not begin with");
    /* Zeros after a prefix of the magic: torn. */
    memcpy(buf, "ferry-l\0\0", 9);
    expect_lease(buf, 9, LEASE_DECODE_TRUNCATED, "zeros from byte 7 on");
    /* The last byte (the final newline) zeroed: a torn tail. */
    memcpy(buf, GOLDEN_LEASE, len);
    buf[len - 1] = 0;
    expect_lease(buf, len, LEASE_DECODE_TRUNCATED, "zeros from byte");
    /* A sealed record whose host holds a NUL: the NUL is seen before the checksum. */
    char body[128] = "ferry-lease 1\nhost a";
    size_t blen = strlen(body) + 1; /* include the NUL */
    memcpy(body + blen, "b\n", 3);
    blen += 2;
    char sealed[LEASE_RECORD_MAX];
    /* seal() would stop at the NUL: built by hand. */
    memcpy(sealed, body, blen);
    size_t n = blen + (size_t)snprintf(sealed + blen, sizeof(sealed) - blen, "checksum %016llx\n",
                                (unsigned long long)XXH64(body, blen, 0));
    expect_lease(sealed, n, LEASE_DECODE_GARBAGE, "NUL byte at offset 20");
}

static void test_decode_not_a_record(void)
{
    expect_lease_str("hello\n", LEASE_DECODE_GARBAGE, "not a lease record: does not begin with \"ferry-lease \"");
    expect_lease_str("Ferry-lease 1\n", LEASE_DECODE_GARBAGE, "does not begin with");
    expect_lease_str("ferry-leases 1\n", LEASE_DECODE_GARBAGE, "does not begin with");
    expect_lease_str("ferry-lease\n", LEASE_DECODE_GARBAGE, "does not begin with");
    expect_lease_str(" ferry-lease 1\n", LEASE_DECODE_GARBAGE, "does not begin with");
    expect_lease_str("\xef\xbb\xbf" "ferry-lease 1\n", LEASE_DECODE_GARBAGE, "does not begin with");
    expect_lease_str("{\"host\": \"compute1\"}\n", LEASE_DECODE_GARBAGE, "does not begin with");
    /* The other kind of record is not this kind. */
    expect_lease_str(GOLDEN_REQUEST, LEASE_DECODE_GARBAGE, "not a lease record");
    expect_request(GOLDEN_LEASE, strlen(GOLDEN_LEASE), LEASE_DECODE_GARBAGE, "not a fence request");
    /* A prefix of the magic is a torn record, not garbage. */
    expect_request("ferry-fence-req", 15, LEASE_DECODE_TRUNCATED, "inside its first line");
    expect_request("ferry-lease", 11, LEASE_DECODE_GARBAGE, "does not begin with");
    /* A short buffer that diverges from the magic is garbage. */
    expect_lease_str("x", LEASE_DECODE_GARBAGE, "does not begin with");
    expect_lease_str("ferry-lx", LEASE_DECODE_GARBAGE, "does not begin with");
}

/* Random bytes of random lengths, some behind a valid magic: never OK, never a crash. */
static void test_decode_random_bytes(void)
{
    unsigned seen[LEASE_DECODE_GARBAGE + 1] = { 0 };
    rng_state = 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(rng() % (LEASE_RECORD_MAX + 64));
        char *buf = malloc(len ? len : 1);
        CU_ASSERT_FATAL(buf != NULL);
        for (size_t i = 0; i < len; i++)
            buf[i] = (char)rng();
        /* Shapes: raw; behind a magic line; that and a final newline; printable text lines. */
        int shape = round % 4;
        const char *magic = round % 8 < 4 ? "ferry-lease 1\n" : "ferry-fence-request 1\n";
        size_t mlen = strlen(magic);
        if (shape >= 1 && len >= mlen)
            memcpy(buf, magic, mlen);
        if (shape >= 2 && len > 0)
            buf[len - 1] = '\n';
        if (shape == 3)
            for (size_t i = mlen; i + 1 < len; i++)
                buf[i] = (char)(rng() % 8 == 0 ? '\n' : ' ' + rng() % 95);
        char why[64];
        enum lease_decode_status s = lease_record_decode(buf, len, NULL, why, sizeof(why));
        CU_ASSERT_NOT_EQUAL(s, LEASE_DECODE_OK);
        CU_ASSERT((unsigned)s <= LEASE_DECODE_GARBAGE);
        if ((unsigned)s <= LEASE_DECODE_GARBAGE)
            seen[s]++;
        s = fence_request_decode(buf, len, NULL, why, sizeof(why));
        CU_ASSERT_NOT_EQUAL(s, LEASE_DECODE_OK);
        free(buf);
    }
    /* The shapes reach the frame checks, not only the magic. */
    CU_ASSERT(seen[LEASE_DECODE_GARBAGE] > 0);
    CU_ASSERT(seen[LEASE_DECODE_TRUNCATED] > 0);
}

/* Valid records with a line replaced, removed, duplicated or swapped, re-sealed: anything
 * that decodes OK re-encodes to exactly the same bytes. */
static void test_decode_random_mutations(void)
{
    static const char alphabet[] = "0123456789abcdefxyzABZ-._:/ \t\r+#\xc3\x01";
    static const char *const keys[] = { "host", "host_id", "counter", "state", "fence_ack", "written_at",
                                        "checksum", "target", "" };
    unsigned ok = 0, garbage = 0;
    rng_state = 42;
    for (int round = 0; round < 20000; round++) {
        const char *ck = strstr(GOLDEN_LEASE, "checksum ");
        char lines[8][128];
        size_t n = 0;
        for (const char *p = GOLDEN_LEASE; p < ck; n++) {
            const char *eol = strchr(p, '\n');
            snprintf(lines[n], sizeof(lines[n]), "%.*s", (int)(eol - p), p);
            p = eol + 1;
        }
        size_t at = 1 + (size_t)(rng() % (n - 1)), other = 1 + (size_t)(rng() % (n - 1));
        if (other == at)
            other = at == 1 ? 2 : at - 1;
        char tmp[128];
        switch (rng() % 6) {
        case 0: /* a random value for a known key */
        case 1: {
            size_t vlen = (size_t)(rng() % 40), klen = strcspn(lines[at], " ");
            lines[at][klen + 1] = 0;
            for (size_t i = 0; i < vlen; i++) {
                char c[2] = { alphabet[rng() % (sizeof(alphabet) - 1)], 0 };
                if (rng() % 3 == 0)
                    c[0] = (char)('0' + rng() % 10);
                strcat(lines[at], c);
            }
            break;
        }
        case 2: /* a random key */
            snprintf(tmp, sizeof(tmp), "%s %s", keys[rng() % (sizeof(keys) / sizeof(keys[0]))],
                     strchr(lines[at], ' ') + 1);
            strcpy(lines[at], tmp);
            break;
        case 3: /* swapped (at and other differ) */
            memcpy(tmp, lines[at], sizeof(tmp));
            memcpy(lines[at], lines[other], sizeof(lines[at]));
            memcpy(lines[other], tmp, sizeof(tmp));
            break;
        case 4: /* removed */
            lines[at][0] = 0;
            break;
        case 5: /* duplicated */
            memcpy(lines[at], lines[other], sizeof(lines[at]));
            break;
        }
        char body[LEASE_RECORD_MAX] = "";
        for (size_t i = 0; i < n; i++)
            if (lines[i][0] || i == 0) {
                strcat(body, lines[i]);
                strcat(body, "\n");
            }
        char buf[LEASE_RECORD_MAX + 64], again[LEASE_RECORD_MAX];
        size_t len = seal_str(body, buf, sizeof(buf));
        struct lease_record r;
        enum lease_decode_status s = lease_record_decode(buf, len, &r, NULL, 0);
        CU_ASSERT(s == LEASE_DECODE_OK || s == LEASE_DECODE_GARBAGE);
        if (s == LEASE_DECODE_OK) {
            ok++;
            int m = lease_record_encode(&r, again, sizeof(again));
            CU_ASSERT_EQUAL(m, (int)len);
            CU_ASSERT(m == (int)len && !memcmp(again, buf, len));
        } else {
            garbage++;
        }
    }
    CU_ASSERT(ok > 100);
    CU_ASSERT(garbage > 100);
}

/* --- reasons and names --------------------------------------------------------------- */

static void test_why_buffer(void)
{
    char why[8];
    /* Every size is respected and the reason NUL-terminated. */
    for (size_t size = 1; size <= sizeof(why); size++) {
        memset(why, '#', sizeof(why));
        CU_ASSERT_EQUAL(lease_record_decode("hello\n", 6, NULL, why, size), LEASE_DECODE_GARBAGE);
        CU_ASSERT_EQUAL(strlen(why), size - 1);
        for (size_t i = size; i < sizeof(why); i++)
            CU_ASSERT_EQUAL(why[i], '#');
    }
    /* No buffer, or a buffer of size 0, is left alone. */
    memset(why, '#', sizeof(why));
    CU_ASSERT_EQUAL(lease_record_decode("hello\n", 6, NULL, why, 0), LEASE_DECODE_GARBAGE);
    CU_ASSERT_EQUAL(why[0], '#');
    CU_ASSERT_EQUAL(lease_record_decode("hello\n", 6, NULL, NULL, 100), LEASE_DECODE_GARBAGE);
    /* OK clears an old reason. */
    strcpy(why, "old");
    CU_ASSERT_EQUAL(lease_record_decode(GOLDEN_LEASE, strlen(GOLDEN_LEASE), NULL, why, sizeof(why)),
                    LEASE_DECODE_OK);
    ASSERT_STR(why, "");
}

static void test_names(void)
{
    ASSERT_STR(lease_decode_status_name(LEASE_DECODE_OK), "ok");
    ASSERT_STR(lease_decode_status_name(LEASE_DECODE_EMPTY), "empty");
    ASSERT_STR(lease_decode_status_name(LEASE_DECODE_TRUNCATED), "truncated");
    ASSERT_STR(lease_decode_status_name(LEASE_DECODE_BAD_CHECKSUM), "bad-checksum");
    ASSERT_STR(lease_decode_status_name(LEASE_DECODE_FUTURE_VERSION), "future-version");
    ASSERT_STR(lease_decode_status_name(LEASE_DECODE_GARBAGE), "garbage");
    ASSERT_STR(lease_decode_status_name((enum lease_decode_status)99), "unknown");
    ASSERT_STR(lease_state_name(LEASE_LIVE), "live");
    ASSERT_STR(lease_state_name(LEASE_FENCED), "fenced");
    ASSERT_STR(lease_state_name(LEASE_RELEASED), "released");
    ASSERT_STR(lease_state_name((enum lease_state)3), "unknown");
    ASSERT_STR(lease_state_name((enum lease_state)-1), "unknown");
}

int main(void)
{
    static const struct test_case cases[] = {
        { "encode: the exact bytes", test_encode_exact },
        { "round trips at the edges", test_roundtrip_edges },
        { "encode: invalid fields", test_encode_invalid },
        { "encode: buffer sizes", test_encode_sizes },
        { "host, request id and uuid rules", test_validators },
        { "decode: the golden records", test_decode_golden },
        { "decode: empty and oversized", test_decode_empty_and_oversized },
        { "decode: every prefix", test_decode_every_prefix },
        { "decode: zero-filled tails", test_decode_zero_tails },
        { "decode: every byte flipped", test_decode_byte_flips },
        { "decode: new record torn over old", test_decode_torn_overwrite },
        { "decode: the checksum line", test_decode_checksum_line },
        { "decode: versions", test_decode_versions },
        { "decode: structure", test_decode_structure },
        { "decode: field values", test_decode_values },
        { "decode: NUL bytes", test_decode_nul_bytes },
        { "decode: not a record", test_decode_not_a_record },
        { "decode: random bytes", test_decode_random_bytes },
        { "decode: random re-sealed mutations", test_decode_random_mutations },
        { "the reason buffer", test_why_buffer },
        { "names", test_names },
        { NULL, NULL },
    };
    return test_run_suite("lease_record", cases);
}
