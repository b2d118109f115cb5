/*
 * Lease records and fence requests: encoding and a decoder that trusts nothing.
 *
 * Both kinds of record are one table of fields (key, type, where it lives in the struct)
 * read by one encoder and one decoder, so the two cannot drift apart. The decoder checks
 * the frame before it looks at any field: size, magic, NUL bytes, the final newline, the
 * checksum line and the checksum itself. Only bytes that passed the checksum are parsed,
 * and then strictly (order, duplicates, ranges, character sets), because a checksum only
 * proves the bytes are what some writer wrote, not that the writer was right.
 */
#include "lease_record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#define CHECKSUM_KEY "checksum"
#define CHECKSUM_HEX_DIGITS 16
#define XXH64_SEED 0

enum field_type { FIELD_HOST, FIELD_UUID, FIELD_U64, FIELD_I64, FIELD_STATE, FIELD_REQUEST_ID, FIELD_ACK };

struct field {
    const char *key;
    enum field_type type;
    size_t offset;
    size_t size; /* of the char array, for the string types */
};

struct record_format {
    const char *magic; /* first word of the first line */
    const char *what;  /* "lease record", for messages */
    unsigned version;  /* the newest version this code reads and writes */
    const struct field *fields;
    size_t n_fields;
};

#define FIELD(type_, member_, kind_) { #member_, kind_, offsetof(type_, member_), sizeof(((type_ *)0)->member_) }

static const struct field lease_fields[] = {
    FIELD(struct lease_record, host, FIELD_HOST),
    FIELD(struct lease_record, host_id, FIELD_UUID),
    FIELD(struct lease_record, counter, FIELD_U64),
    FIELD(struct lease_record, state, FIELD_STATE),
    FIELD(struct lease_record, fence_ack, FIELD_ACK),
    FIELD(struct lease_record, written_at, FIELD_I64),
};

static const struct field fence_request_fields[] = {
    FIELD(struct fence_request, target, FIELD_HOST),
    FIELD(struct fence_request, request_id, FIELD_REQUEST_ID),
    FIELD(struct fence_request, requested_by, FIELD_HOST),
    FIELD(struct fence_request, requested_at, FIELD_I64),
};

static const struct record_format lease_format = {
    "ferry-lease", "lease record", LEASE_RECORD_VERSION, lease_fields, sizeof(lease_fields) / sizeof(lease_fields[0]),
};

static const struct record_format fence_request_format = {
    "ferry-fence-request", "fence request", FENCE_REQUEST_VERSION, fence_request_fields,
    sizeof(fence_request_fields) / sizeof(fence_request_fields[0]),
};

static const char *const state_names[] = {
    [LEASE_LIVE] = "live",
    [LEASE_FENCED] = "fenced",
    [LEASE_RELEASED] = "released",
};

/* --- names and character sets ---------------------------------------------------------- */

static bool ascii_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Host names and request ids share a shape; ids may also hold ':' (timestamps, UUID URNs). */
static bool token_valid(const char *s, size_t n, bool allow_colon)
{
    if (n == 0 || n > LEASE_HOST_MAX || !ascii_alnum(s[0]))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!ascii_alnum(c) && c != '.' && c != '_' && c != '-' && !(allow_colon && c == ':'))
            return false;
    }
    return true;
}

static bool uuid_valid(const char *s, size_t n)
{
    if (n != LEASE_UUID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !lower_hex(s[i]))
            return false;
    }
    return true;
}

bool lease_host_valid(const char *host)
{
    return host && token_valid(host, strnlen(host, LEASE_HOST_MAX + 1), false);
}

bool lease_request_id_valid(const char *id)
{
    return id && token_valid(id, strnlen(id, LEASE_HOST_MAX + 1), true);
}

bool lease_uuid_valid(const char *uuid)
{
    return uuid && uuid_valid(uuid, strnlen(uuid, LEASE_UUID_LEN + 1));
}

const char *lease_state_name(enum lease_state s)
{
    if ((unsigned)s < sizeof(state_names) / sizeof(state_names[0]))
        return state_names[s];
    return "unknown";
}

const char *lease_decode_status_name(enum lease_decode_status s)
{
    switch (s) {
    case LEASE_DECODE_OK:
        return "ok";
    case LEASE_DECODE_EMPTY:
        return "empty";
    case LEASE_DECODE_TRUNCATED:
        return "truncated";
    case LEASE_DECODE_BAD_CHECKSUM:
        return "bad-checksum";
    case LEASE_DECODE_FUTURE_VERSION:
        return "future-version";
    case LEASE_DECODE_GARBAGE:
        return "garbage";
    }
    return "unknown";
}

/* --- encoding -------------------------------------------------------------------------- */

struct out {
    char *buf;
    size_t len, cap;
    bool overflow;
};

static void __attribute__((format(printf, 2, 3))) out_printf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->overflow = true;
    else
        o->len += (size_t)n;
}

static int field_encode(struct out *o, const struct field *f, const void *rec)
{
    const char *p = (const char *)rec + f->offset;
    switch (f->type) {
    case FIELD_HOST:
    case FIELD_UUID:
    case FIELD_REQUEST_ID:
    case FIELD_ACK: {
        size_t n = strnlen(p, f->size);
        if (n == f->size)
            return -EINVAL; /* not terminated */
        if (f->type == FIELD_ACK && n == 0) {
            out_printf(o, "%s -\n", f->key);
            return 0;
        }
        bool ok = f->type == FIELD_UUID ? uuid_valid(p, n) : token_valid(p, n, f->type != FIELD_HOST);
        if (!ok)
            return -EINVAL;
        out_printf(o, "%s %s\n", f->key, p);
        return 0;
    }
    case FIELD_U64:
        out_printf(o, "%s %" PRIu64 "\n", f->key, *(const uint64_t *)p);
        return 0;
    case FIELD_I64:
        out_printf(o, "%s %" PRId64 "\n", f->key, *(const int64_t *)p);
        return 0;
    case FIELD_STATE: {
        enum lease_state s = *(const enum lease_state *)p;
        if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
            return -EINVAL;
        out_printf(o, "%s %s\n", f->key, state_names[s]);
        return 0;
    }
    }
    return -EINVAL;
}

static int record_encode(const struct record_format *fmt, const void *rec, char *buf, size_t size)
{
    char tmp[LEASE_RECORD_MAX + 1];
    struct out o = { tmp, 0, sizeof(tmp), false };

    if (!buf)
        return -EINVAL;
    out_printf(&o, "%s %u\n", fmt->magic, fmt->version);
    for (size_t i = 0; i < fmt->n_fields; i++) {
        int r = field_encode(&o, &fmt->fields[i], rec);
        if (r < 0)
            return r;
    }
    if (!o.overflow)
        out_printf(&o, "%s %016llx\n", CHECKSUM_KEY, (unsigned long long)XXH64(tmp, o.len, XXH64_SEED));
    if (o.overflow || o.len > LEASE_RECORD_MAX)
        return -EINVAL; /* cannot happen with valid fields: they are bounded well below the maximum */
    if (size < o.len + 1)
        return -ENOSPC;
    memcpy(buf, tmp, o.len + 1);
    return (int)o.len;
}

int lease_record_encode(const struct lease_record *r, char *buf, size_t size)
{
    if (!r || r->version != LEASE_RECORD_VERSION)
        return -EINVAL;
    return record_encode(&lease_format, r, buf, size);
}

int fence_request_encode(const struct fence_request *q, char *buf, size_t size)
{
    if (!q)
        return -EINVAL;
    return record_encode(&fence_request_format, q, buf, size);
}

/* --- decoding -------------------------------------------------------------------------- */

static enum lease_decode_status __attribute__((format(printf, 4, 5)))
fail(enum lease_decode_status s, char *why, size_t why_size, const char *fmt, ...)
{
    if (why && why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* Untrusted bytes in a message: at most 24 of them, anything unprintable as '?'. */
static const char *quoted(char *dst, size_t dst_size, const char *s, size_t n)
{
    size_t shown = n > 24 ? 24 : n, j = 0;
    dst[j++] = '"';
    for (size_t i = 0; i < shown && j + 5 < dst_size; i++)
        dst[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    dst[j++] = '"';
    if (shown < n && j + 3 < dst_size) {
        memcpy(dst + j, "...", 3);
        j += 3;
    }
    dst[j] = 0;
    return dst;
}

/* Decimal without sign or leading zeros, at most max. */
static bool parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool parse_i64(const char *s, size_t n, int64_t *out)
{
    uint64_t magnitude;
    if (n > 0 && s[0] == '-') {
        /* "-0" is not canonical: zero is written "0". */
        if (!parse_decimal(s + 1, n - 1, (uint64_t)INT64_MAX + 1, &magnitude) || magnitude == 0)
            return false;
        *out = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude;
        return true;
    }
    if (!parse_decimal(s, n, INT64_MAX, &magnitude))
        return false;
    *out = (int64_t)magnitude;
    return true;
}

/* Parses one field's value into rec; returns NULL or what is wrong with it. */
static const char *field_decode(const struct field *f, const char *v, size_t n, void *rec)
{
    char *p = (char *)rec + f->offset;
    switch (f->type) {
    case FIELD_HOST:
        if (!token_valid(v, n, false))
            return "not a host name (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)";
        break;
    case FIELD_UUID:
        if (!uuid_valid(v, n))
            return "not a lowercase UUID (8-4-4-4-12 hex digits)";
        break;
    case FIELD_REQUEST_ID:
        if (!token_valid(v, n, true))
            return "not a request id (1-64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit)";
        break;
    case FIELD_ACK:
        if (n == 1 && v[0] == '-') {
            p[0] = 0;
            return NULL;
        }
        if (!token_valid(v, n, true))
            return "not a request id or \"-\"";
        break;
    case FIELD_U64: {
        uint64_t u;
        if (!parse_decimal(v, n, UINT64_MAX, &u))
            return "not a number from 0 to 18446744073709551615 without leading zeros";
        *(uint64_t *)p = u;
        return NULL;
    }
    case FIELD_I64: {
        int64_t i;
        if (!parse_i64(v, n, &i))
            return "not a number from -9223372036854775808 to 9223372036854775807 without leading zeros";
        *(int64_t *)p = i;
        return NULL;
    }
    case FIELD_STATE:
        for (size_t s = 0; s < sizeof(state_names) / sizeof(state_names[0]); s++)
            if (strlen(state_names[s]) == n && !memcmp(state_names[s], v, n)) {
                *(enum lease_state *)p = (enum lease_state)s;
                return NULL;
            }
        return "not live, fenced or released";
    }
    /* The string types: the validators bounded n below f->size. */
    memcpy(p, v, n);
    p[n] = 0;
    return NULL;
}

static int field_index(const struct record_format *fmt, const char *key, size_t n)
{
    for (size_t i = 0; i < fmt->n_fields; i++)
        if (strlen(fmt->fields[i].key) == n && !memcmp(fmt->fields[i].key, key, n))
            return (int)i;
    return -1;
}

/* The fields between the first line and the checksum line, which begins at end. */
static enum lease_decode_status fields_decode(const struct record_format *fmt, const char *buf, size_t start,
                                              size_t end, void *rec, char *why, size_t why_size)
{
    char q[40];
    size_t expected = 0;
    unsigned line = 2;

    for (size_t pos = start; pos < end; line++) {
        const char *s = buf + pos;
        const char *eol = memchr(s, '\n', end - pos); /* found: the checksum line starts after a '\n' */
        size_t n = (size_t)(eol - s);
        const char *space = memchr(s, ' ', n);
        pos += n + 1;

        if (!space)
            return fail(LEASE_DECODE_GARBAGE, why, why_size, "%s line %u: %s is not \"key value\"", fmt->what,
                        line, quoted(q, sizeof(q), s, n));
        size_t klen = (size_t)(space - s);
        int k = field_index(fmt, s, klen);
        if (k < 0)
            return fail(LEASE_DECODE_GARBAGE, why, why_size, "%s line %u: unknown field %s", fmt->what, line,
                        quoted(q, sizeof(q), s, klen));
        if ((size_t)k < expected)
            return fail(LEASE_DECODE_GARBAGE, why, why_size, "%s line %u: field \"%s\" appears twice", fmt->what,
                        line, fmt->fields[k].key);
        if ((size_t)k > expected)
            return fail(LEASE_DECODE_GARBAGE, why, why_size,
                        "%s line %u: field \"%s\" where \"%s\" belongs (missing or out of order)", fmt->what, line,
                        fmt->fields[k].key, fmt->fields[expected].key);
        const char *problem = field_decode(&fmt->fields[k], space + 1, n - klen - 1, rec);
        if (problem)
            return fail(LEASE_DECODE_GARBAGE, why, why_size, "%s line %u: %s %s is %s", fmt->what, line,
                        fmt->fields[k].key, quoted(q, sizeof(q), space + 1, n - klen - 1), problem);
        expected++;
    }
    if (expected < fmt->n_fields)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "%s has no \"%s\" field", fmt->what,
                    fmt->fields[expected].key);
    return LEASE_DECODE_OK;
}

/* Is the line [s, s+n) the checksum line: first word "checksum"? */
static bool is_checksum_line(const char *s, size_t n)
{
    size_t k = strlen(CHECKSUM_KEY);
    return n >= k && !memcmp(s, CHECKSUM_KEY, k) && (n == k || s[k] == ' ');
}

static enum lease_decode_status record_decode(const struct record_format *fmt, const char *buf, size_t len,
                                              void *rec, char *why, size_t why_size)
{
    char magic[32];
    size_t mlen = (size_t)snprintf(magic, sizeof(magic), "%s ", fmt->magic);

    if (why && why_size)
        why[0] = 0;
    if (len == 0)
        return fail(LEASE_DECODE_EMPTY, why, why_size, "%s is empty (created, not yet written)", fmt->what);
    if (!buf)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "no %s to decode", fmt->what);
    if (len > LEASE_RECORD_MAX)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "%s of %zu bytes: larger than any valid one (%d)",
                    fmt->what, len, LEASE_RECORD_MAX);

    /* A write that extended the file before its data landed leaves zeros at the end. */
    const char *nul = memchr(buf, 0, len);
    size_t text_len = nul ? (size_t)(nul - buf) : len;
    bool zero_tail = nul != NULL;
    for (size_t i = text_len; zero_tail && i < len; i++)
        zero_tail = buf[i] == 0;

    if (memcmp(buf, magic, text_len < mlen ? text_len : mlen))
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "not a %s: does not begin with \"%s\"", fmt->what, magic);
    if (zero_tail)
        return fail(LEASE_DECODE_TRUNCATED, why, why_size, "%s is zeros from byte %zu on: a torn write",
                    fmt->what, text_len);
    if (nul)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "%s holds a NUL byte at offset %zu", fmt->what, text_len);
    if (len < mlen)
        return fail(LEASE_DECODE_TRUNCATED, why, why_size, "%s ends after %zu bytes, inside its first line",
                    fmt->what, len);
    if (buf[len - 1] != '\n')
        return fail(LEASE_DECODE_TRUNCATED, why, why_size, "%s ends mid-line after %zu bytes: a torn write",
                    fmt->what, len);

    /* The checksum line: the first line (after the magic line) whose first word is "checksum". */
    size_t ck = 0, first_eol = (size_t)((const char *)memchr(buf, '\n', len) - buf);
    for (size_t pos = first_eol + 1; pos < len;) {
        size_t n = (size_t)((const char *)memchr(buf + pos, '\n', len - pos) - (buf + pos));
        if (is_checksum_line(buf + pos, n)) {
            ck = pos;
            break;
        }
        pos += n + 1;
    }
    if (!ck)
        return fail(LEASE_DECODE_TRUNCATED, why, why_size, "%s has no checksum line: a partial write", fmt->what);

    size_t ck_end = (size_t)((const char *)memchr(buf + ck, '\n', len - ck) - buf) + 1;
    if (ck_end != len)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "%s has %zu bytes after its checksum line", fmt->what,
                    len - ck_end);
    size_t value_at = ck + strlen(CHECKSUM_KEY) + 1; /* after "checksum " */
    const char *hex = buf + value_at;
    size_t hex_len = value_at < ck_end ? ck_end - 1 - value_at : 0;
    uint64_t stored = 0;
    bool hex_ok = hex_len == CHECKSUM_HEX_DIGITS;
    for (size_t i = 0; hex_ok && i < hex_len; i++) {
        hex_ok = lower_hex(hex[i]);
        stored = stored << 4 | (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
    }
    if (!hex_ok)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "%s checksum is not %d lowercase hex digits", fmt->what,
                    CHECKSUM_HEX_DIGITS);
    uint64_t actual = XXH64(buf, ck, XXH64_SEED);
    if (actual != stored)
        return fail(LEASE_DECODE_BAD_CHECKSUM, why, why_size,
                    "%s checksum %016llx does not match its content (%016llx): damaged or torn", fmt->what,
                    (unsigned long long)stored, (unsigned long long)actual);

    /* Intact. The version decides whether the fields can be read at all. */
    uint64_t version;
    if (!parse_decimal(buf + mlen, first_eol - mlen, UINT32_MAX, &version) || version == 0)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "%s line 1: the version is not a number from 1", fmt->what);
    if (version > fmt->version)
        return fail(LEASE_DECODE_FUTURE_VERSION, why, why_size,
                    "%s version %" PRIu64 " is newer than this ferry reads (%u): upgrade ferry", fmt->what, version,
                    fmt->version);
    return fields_decode(fmt, buf, first_eol + 1, ck, rec, why, why_size);
}

enum lease_decode_status lease_record_decode(const char *buf, size_t len, struct lease_record *r, char *why,
                                             size_t why_size)
{
    struct lease_record tmp = { .version = LEASE_RECORD_VERSION };
    enum lease_decode_status s = record_decode(&lease_format, buf, len, &tmp, why, why_size);
    if (s == LEASE_DECODE_OK && r)
        *r = tmp;
    return s;
}

enum lease_decode_status fence_request_decode(const char *buf, size_t len, struct fence_request *q, char *why,
                                              size_t why_size)
{
    struct fence_request tmp = { .requested_at = 0 };
    enum lease_decode_status s = record_decode(&fence_request_format, buf, len, &tmp, why, why_size);
    if (s == LEASE_DECODE_OK && q)
        *q = tmp;
    return s;
}
