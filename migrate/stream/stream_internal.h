/*
 * The streamer's parts, shared by stream.c (the pipeline) and the endpoints: endpoint specs,
 * the checksum, the manifest of a partial copy, the ring's slots and the endpoint interface.
 * Not for use outside migrate/stream/.
 */
#pragma once

#include "stream.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* Copies src into dst of size bytes; false (and dst untouched) when it does not fit. */
static inline bool copy_string(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* ---- endpoint specs (stream_spec.c; pure) --------------------------------------------------- */

enum endpoint_kind { ENDPOINT_FILE, ENDPOINT_NFS, ENDPOINT_LIBVIRT };

struct endpoint_spec {
    enum endpoint_kind kind;
    char host[256];  /* NFS server or libvirt host */
    char path[4096]; /* local path as given; NFS and libvirt: absolute, normalised */
};

/* Parses a spec; role ("source", "destination") is for messages. -EINVAL with *error. */
int endpoint_spec_parse(const char *text, const char *role, struct endpoint_spec *spec, char **error);

/* Lexically normalised absolute form of a local path (relative to the working directory):
 * no ".", "..", "//". Returns 0 or -ENAMETOOLONG. */
int path_normalise(const char *path, char *out, size_t size);
/* Is path (normalised) inside dir (normalised), or dir itself? */
bool path_is_within(const char *path, const char *dir);

/* ---- checksum (checksum.c): XXH3-128, streaming -------------------------------------------- */

struct checksum {
    alignas(64) unsigned char state[640]; /* an XXH3_state_t */
};

void checksum_reset(struct checksum *c);
void checksum_update(struct checksum *c, const void *data, size_t len);
void checksum_update_zeros(struct checksum *c, uint64_t len);
/* 32 hex digits and a NUL. */
void checksum_hex(const struct checksum *c, char out[33]);
/* The state as text that checksum_load() takes back, only in a process with the same xxhash. */
int checksum_save(const struct checksum *c, char **text);
int checksum_load(struct checksum *c, const char *text);
/* XXH3-128 of one buffer, as hex. */
void checksum_of(const void *data, size_t len, char out[33]);
/* Whether len bytes at p are all zero. */
bool buffer_is_zero(const void *p, size_t len);

/* ---- manifest of a partial copy (manifest.c; pure) ----------------------------------------- */

struct manifest {
    char data[256];           /* file name of the data: NAME.ferry-partial, or NAME (libvirt) */
    char source[4096];        /* the source spec, for people */
    uint64_t source_size;
    uint64_t source_mtime_ns;
    char source_head[33];     /* checksum of the source's first chunk */
    uint32_t chunk_size;
    uint64_t done;            /* every byte below this is in the data file */
    uint64_t data_bytes;      /* data bytes below done */
    char *hash_state;         /* checksum_save() at done, or NULL */
};

int manifest_format(const struct manifest *m, char **text);
/* -EINVAL with *error when text is not a manifest ferry can use. */
int manifest_parse(const char *text, struct manifest *m, char **error);
void manifest_clear(struct manifest *m);

/* ---- the ring's slots ------------------------------------------------------------------------ */

/* A range of a slot that holds data to write; everything else in the slot is zeros. */
struct run {
    uint32_t start, len; /* relative to the slot's offset */
};

struct slot {
    uint64_t offset;
    uint64_t len;        /* at most chunk_size, except a slot that is all hole */
    char *buf;           /* chunk_size bytes */
    struct run *runs;
    unsigned nruns;
    uint64_t data_bytes; /* sum of the runs */
    bool skip;           /* resumed prefix: hashed, not written */
    struct checksum hash_after; /* the file's checksum up to offset + len */
    struct run *extents; /* the reader's: the source's data extents in the slot */
    unsigned nextents;
    /* endpoint bookkeeping: status of synchronous writes; per-slot state an endpoint may
     * allocate (malloc) on first use, freed with the ring */
    int status;
    void *read_io, *write_io;
};

/* ---- endpoints --------------------------------------------------------------------------- */

/* Facts about a source, and about a destination found on arrival. */
struct source_info {
    uint64_t size;
    uint64_t mtime_ns;
    uint32_t mode;
    int local_fd; /* the open file when the source is local (for copy_file_range), else -1 */
};

struct dest_state {
    bool final_exists;    /* NAME is there (and is not our in-place partial) */
    bool partial_exists;  /* the data file of a partial copy */
    uint64_t partial_size;
    char *manifest_text;  /* NULL when there is no manifest */
};

struct endpoint;

struct endpoint_ops {
    /* source */
    int (*source_open)(struct endpoint *ep, struct source_info *info);
    /* The first data extent at or after offset: [*data, *end). *data == size when only a hole
     * is left. NULL: the whole file is data (zeros are found by reading). */
    int (*next_extent)(struct endpoint *ep, uint64_t offset, uint64_t *data, uint64_t *end);
    /* Starts reading [offset, offset+len) of the source into buf; read_wait finishes all of a slot's reads. */
    int (*read_submit)(struct endpoint *ep, struct slot *slot, uint64_t offset, char *buf, size_t len);
    int (*read_wait)(struct endpoint *ep, struct slot *slot);

    /* destination */
    int (*dest_probe)(struct endpoint *ep, struct dest_state *st);
    /* Opens the data file: fresh (created empty) or resumed (cut back to offset). */
    int (*dest_start)(struct endpoint *ep, bool fresh, uint64_t offset, uint64_t size, uint32_t mode);
    int (*write_manifest)(struct endpoint *ep, const char *text); /* NULL: not during the copy */
    int (*write_submit)(struct endpoint *ep, struct slot *slot);
    int (*write_wait)(struct endpoint *ep, struct slot *slot);
    /* Makes everything written so far durable (a durable copy's checkpoints come after it).
     * NULL: the destination offers no way (libvirt's volume upload). */
    int (*flush)(struct endpoint *ep);
    /* Sets the final size (trailing holes), flushes with durable, closes the data file. */
    int (*dest_finish)(struct endpoint *ep, uint64_t size, bool durable);
    /* Reads the data file back: hashes every byte (holes as zeros). */
    int (*dest_read_back)(struct endpoint *ep, uint64_t size, struct checksum *c, const atomic_bool *cancel);
    /* Gives the data its final name and removes the manifest. */
    int (*dest_commit)(struct endpoint *ep, bool replace);
    /* Removes the partial copy (data and manifest). */
    int (*dest_discard)(struct endpoint *ep);
    /* The data is written under the final name (libvirt: no rename), marked unfinished by the
     * manifest, which is written only at the start (and at the end, before a verification): a
     * resume starts from the data's size (dest_state.partial_size). */
    bool in_place;

    void (*close)(struct endpoint *ep);
};

struct endpoint {
    const struct endpoint_ops *ops;
    struct endpoint_spec spec;
    const char *role;        /* "source" or "destination" */
    char *label;             /* the spec as written, for messages */
    char *error;             /* the last failure in words (malloc'd), naming the object */
    int peer_fd;             /* destination: the local source's fd for copy_file_range, else -1 */
    unsigned io_timeout_ms;
    const struct ferry_config *config;
    uint32_t chunk_size;
};

/* Records a message for ep (printf-style); returns err (a negative errno). */
int endpoint_fail(struct endpoint *ep, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Each allocates an endpoint for spec (no I/O yet). */
int endpoint_file_new(struct endpoint **ep);
int endpoint_nfs_new(struct endpoint **ep);
int endpoint_libvirt_new(struct endpoint **ep);
