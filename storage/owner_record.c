/*
 * Owner records: encoding, and a strict decoder for untrusted bytes. The frame is the one
 * of lease records (magic line, fields in a fixed order, checksum line last, every line
 * ending in '\n'); the character-set checks are lease_record's own validators, so a host
 * name means the same thing in both kinds of record.
 */
#include "owner_record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MAGIC "ferry-owner"

static const char *const state_names[] = {
    [OWNER_OWNED] = "owned",
    [OWNER_INCOMING] = "incoming",
    [OWNER_OUTGOING] = "outgoing",
};

const char *owner_state_name(enum owner_state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "unknown";
}

static bool fields_valid(const struct owner_record *r)
{
    if (!lease_uuid_valid(r->instance) || !lease_host_valid(r->host))
        return false;
    if ((unsigned)r->state >= sizeof(state_names) / sizeof(state_names[0]))
        return false;
    if (r->state == OWNER_OWNED)
        return r->peer[0] == 0;
    return lease_host_valid(r->peer) && strcmp(r->peer, r->host) != 0;
}

int owner_record_encode(const struct owner_record *r, char *buf, size_t size)
{
    char tmp[OWNER_RECORD_MAX + 1];
    if (!r || !buf || memchr(r->instance, 0, sizeof(r->instance)) == NULL ||
        memchr(r->host, 0, sizeof(r->host)) == NULL || memchr(r->peer, 0, sizeof(r->peer)) == NULL ||
        !fields_valid(r))
        return -EINVAL;
    int n = snprintf(tmp, sizeof(tmp), MAGIC " %d\ninstance %s\nhost %s\nstate %s\npeer %s\nwritten_at %" PRId64 "\n",
                     OWNER_RECORD_VERSION, r->instance, r->host, state_names[r->state], r->peer[0] ? r->peer : "-",
                     r->written_at);
    if (n < 0 || (size_t)n + 26 > sizeof(tmp))
        return -EINVAL;
    n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, "checksum %016llx\n", (unsigned long long)XXH64(tmp, (size_t)n, 0));
    if (size < (size_t)n + 1)
        return -ENOSPC;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}

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

/* The next line of [*pos, end) as "key value": the value's bounds, or false. */
static bool next_field(const char *buf, size_t end, size_t *pos, const char *key, const char **value, size_t *n)
{
    const char *s = buf + *pos;
    const char *eol = memchr(s, '\n', end - *pos);
    size_t klen = strlen(key);
    if (!eol)
        return false;
    size_t len = (size_t)(eol - s);
    *pos += len + 1;
    if (len <= klen || memcmp(s, key, klen) || s[klen] != ' ')
        return false;
    *value = s + klen + 1;
    *n = len - klen - 1;
    return true;
}

static bool copy_token(char *dst, size_t size, const char *v, size_t n)
{
    if (n >= size || memchr(v, 0, n))
        return false;
    memcpy(dst, v, n);
    dst[n] = 0;
    return true;
}

static bool parse_i64(const char *v, size_t n, int64_t *out)
{
    char tmp[24], *end;
    if (n == 0 || n >= sizeof(tmp))
        return false;
    memcpy(tmp, v, n);
    tmp[n] = 0;
    /* Canonical only: no sign but '-', no leading zeros, no "-0". */
    const char *digits = tmp[0] == '-' ? tmp + 1 : tmp;
    if (!*digits || (digits[0] == '0' && (digits[1] || tmp[0] == '-')))
        return false;
    for (const char *p = digits; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (errno || *end)
        return false;
    *out = x;
    return true;
}

enum lease_decode_status owner_record_decode(const char *buf, size_t len, struct owner_record *r, char *why,
                                             size_t why_size)
{
    static const char magic[] = MAGIC " ";
    if (why && why_size)
        why[0] = 0;
    if (len == 0)
        return fail(LEASE_DECODE_EMPTY, why, why_size, "owner record is empty");
    if (!buf || len > OWNER_RECORD_MAX)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record of %zu bytes: larger than any valid one", len);
    size_t m = len < sizeof(magic) - 1 ? len : sizeof(magic) - 1;
    if (memcmp(buf, magic, m))
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "not an owner record: does not begin with \"" MAGIC "\"");
    if (memchr(buf, 0, len))
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record holds a NUL byte");
    if (buf[len - 1] != '\n')
        return fail(LEASE_DECODE_TRUNCATED, why, why_size, "owner record ends mid-line: a partial write");

    /* The checksum line is the last line. */
    size_t last = len - 1;
    while (last > 0 && buf[last - 1] != '\n')
        last--;
    static const char ck_key[] = "checksum ";
    if (last == 0 || len - last < sizeof(ck_key) - 1 || memcmp(buf + last, ck_key, sizeof(ck_key) - 1))
        return fail(LEASE_DECODE_TRUNCATED, why, why_size, "owner record has no checksum line: a partial write");
    const char *hex = buf + last + sizeof(ck_key) - 1;
    size_t hex_len = len - 1 - (last + sizeof(ck_key) - 1);
    uint64_t stored = 0;
    if (hex_len != 16)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record checksum is not 16 lowercase hex digits");
    for (size_t i = 0; i < 16; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record checksum is not 16 lowercase hex digits");
        stored = stored << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    uint64_t actual = XXH64(buf, last, 0);
    if (stored != actual)
        return fail(LEASE_DECODE_BAD_CHECKSUM, why, why_size,
                    "owner record checksum %016llx does not match its content (%016llx)", (unsigned long long)stored,
                    (unsigned long long)actual);

    /* Intact: the version, then every field in its place. */
    const char *v;
    size_t n, pos = 0;
    int64_t version;
    if (!next_field(buf, last, &pos, MAGIC, &v, &n) || !parse_i64(v, n, &version) || version < 1)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record line 1: the version is not a number from 1");
    if (version > OWNER_RECORD_VERSION)
        return fail(LEASE_DECODE_FUTURE_VERSION, why, why_size,
                    "owner record version %" PRId64 " is newer than this ferry reads (%d): upgrade ferry", version,
                    OWNER_RECORD_VERSION);
    struct owner_record tmp = { .state = OWNER_OWNED };
    if (!next_field(buf, last, &pos, "instance", &v, &n) || !copy_token(tmp.instance, sizeof(tmp.instance), v, n) ||
        !lease_uuid_valid(tmp.instance))
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record line 2: no valid \"instance\" (a lowercase UUID)");
    if (!next_field(buf, last, &pos, "host", &v, &n) || !copy_token(tmp.host, sizeof(tmp.host), v, n) ||
        !lease_host_valid(tmp.host))
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record line 3: no valid \"host\"");
    if (!next_field(buf, last, &pos, "state", &v, &n))
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record line 4: no \"state\"");
    bool known = false;
    for (size_t s = 0; s < sizeof(state_names) / sizeof(state_names[0]) && !known; s++)
        if (strlen(state_names[s]) == n && !memcmp(state_names[s], v, n)) {
            tmp.state = (enum owner_state)s;
            known = true;
        }
    if (!known)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record line 4: state is not owned, incoming or outgoing");
    if (!next_field(buf, last, &pos, "peer", &v, &n) || !copy_token(tmp.peer, sizeof(tmp.peer), v, n))
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record line 5: no valid \"peer\"");
    if (!strcmp(tmp.peer, "-"))
        tmp.peer[0] = 0;
    if (!next_field(buf, last, &pos, "written_at", &v, &n) || !parse_i64(v, n, &tmp.written_at))
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record line 6: no valid \"written_at\"");
    if (pos != last)
        return fail(LEASE_DECODE_GARBAGE, why, why_size, "owner record has fields after \"written_at\"");
    if (!fields_valid(&tmp))
        return fail(LEASE_DECODE_GARBAGE, why, why_size,
                    "owner record: peer \"%s\" does not fit state %s (owned: \"-\"; incoming/outgoing: another host)",
                    tmp.peer[0] ? tmp.peer : "-", state_names[tmp.state]);
    if (r)
        *r = tmp;
    return LEASE_DECODE_OK;
}
