/*
 * The records hosts leave on the export for each other: a host's lease
 * (.ferry/leases/<host>), renewed whole every [lease] renew_interval, and a fence request
 * (.ferry/fence/<host>) written by `ferry storage fence --host H`.
 *
 * Both are small text files, readable with cat, framed the same way:
 *
 *     ferry-lease 1                  magic and version: always the first line
 *     host compute1
 *     host_id 6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6a
 *     counter 1234                   +1 on every write attempt; observers watch it change
 *     state live                     live | fenced | released
 *     fence_ack -                    last fence request acknowledged, "-" for none
 *     written_at 1764255600          wall clock, informational only
 *     checksum 9a3c0e6f12b4d5e7      XXH64 of every byte above: always the last line
 *
 * The framing (magic line first, checksum line last, every line ending in '\n') stays the
 * same in every version; only the fields between change. Fields appear exactly once, in
 * this order, with one space between key and value, and numbers are written without
 * signs or leading zeros, so each record has exactly one encoding: whatever decodes as OK
 * re-encodes to the same bytes, and there is little for a parser to get wrong.
 *
 * Decoding trusts nothing. A torn write (any prefix of a record, or a prefix followed by
 * zeros) cannot decode as OK: it ends without the checksum line, or mid-line, and is
 * TRUNCATED. Pure: no I/O, the caller reads and writes the files.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEASE_RECORD_VERSION 1
#define FENCE_REQUEST_VERSION 1
#define LEASE_RECORD_MAX 1024 /* bytes; larger is garbage. Every valid record fits. */

#define LEASE_HOST_MAX 64 /* host names and request ids: at most this many characters */
#define LEASE_UUID_LEN 36

enum lease_state { LEASE_LIVE, LEASE_FENCED, LEASE_RELEASED };

struct lease_record {
    unsigned version;                   /* LEASE_RECORD_VERSION */
    char host[LEASE_HOST_MAX + 1];      /* also the file name: see lease_host_valid() */
    char host_id[LEASE_UUID_LEN + 1];   /* lowercase canonical UUID, 8-4-4-4-12 */
    uint64_t counter;                   /* never reused: +1 on every attempt, failed ones too */
    enum lease_state state;
    char fence_ack[LEASE_HOST_MAX + 1]; /* a request id, or "" for none (written "-") */
    int64_t written_at;                 /* seconds since the epoch; never used for liveness */
};

struct fence_request {
    char target[LEASE_HOST_MAX + 1];       /* the host that must fence itself */
    char request_id[LEASE_HOST_MAX + 1];   /* echoed back in the target's fence_ack */
    char requested_by[LEASE_HOST_MAX + 1]; /* the host that asked */
    int64_t requested_at;                  /* wall clock, informational */
};

enum lease_decode_status {
    LEASE_DECODE_OK,
    LEASE_DECODE_EMPTY,          /* zero bytes: created, not yet written */
    LEASE_DECODE_TRUNCATED,      /* a torn or partial write: read again later */
    LEASE_DECODE_BAD_CHECKSUM,   /* complete-looking, but the bytes do not match the checksum */
    LEASE_DECODE_FUTURE_VERSION, /* intact, written by a newer ferry */
    LEASE_DECODE_GARBAGE,        /* not a record of this kind, or an invalid one */
};

/*
 * Host names (and so lease file names): 1 to 64 of [A-Za-z0-9._-], starting with a letter
 * or digit — no '/', no whitespace or control characters, no "." or "..", no hidden files,
 * nothing an option parser could take for an option.
 */
bool lease_host_valid(const char *host);

/* Request ids: 1 to 64 of [A-Za-z0-9._:-], starting with a letter or digit ("-" is "none"). */
bool lease_request_id_valid(const char *id);

/* Lowercase canonical UUIDs only: host ids are compared as strings. */
bool lease_uuid_valid(const char *uuid);

/*
 * Writes the record and a terminating NUL into buf. Returns the length (without the NUL),
 * -ENOSPC when buf is too small (LEASE_RECORD_MAX always suffices), or -EINVAL when a field
 * is invalid: version other than LEASE_RECORD_VERSION, a host or host_id that is not valid
 * (see above), an unterminated string, a state out of range.
 */
int lease_record_encode(const struct lease_record *r, char *buf, size_t size);

/*
 * Decodes len bytes (they may hold anything, NULs included). On OK fills *r (r may be NULL
 * to only validate); on any other status leaves *r untouched. why (optional) receives one
 * line saying what is wrong, "" on OK. Status by check, in order: 0 bytes EMPTY; more than
 * LEASE_RECORD_MAX GARBAGE; not starting with the magic GARBAGE; text then only zeros
 * TRUNCATED; any other NUL GARBAGE; shorter than the magic, not ending in '\n', or no
 * checksum line TRUNCATED; bytes after the checksum line or a malformed checksum GARBAGE;
 * checksum mismatch BAD_CHECKSUM; version above ours FUTURE_VERSION; anything wrong with
 * the version or the fields GARBAGE.
 */
enum lease_decode_status lease_record_decode(const char *buf, size_t len, struct lease_record *r, char *why,
                                             size_t why_size);

/* The same for fence requests, magic line "ferry-fence-request 1". */
int fence_request_encode(const struct fence_request *q, char *buf, size_t size);
enum lease_decode_status fence_request_decode(const char *buf, size_t len, struct fence_request *q, char *why,
                                              size_t why_size);

/* "ok", "empty", "truncated", "bad-checksum", "future-version", "garbage". */
const char *lease_decode_status_name(enum lease_decode_status s);

/* "live", "fenced", "released" (as in the record), or "unknown". */
const char *lease_state_name(enum lease_state s);
