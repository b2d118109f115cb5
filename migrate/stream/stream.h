/*
 * ferry's disk streamer: copies one file between a local path, an NFS export (libnfs,
 * nfs://server/path) and another host's libvirt (libvirt://HOST/path, a storage volume
 * upload over the connection live migration uses), sparsely, with bounded memory, a
 * checksum of every byte written, and resumable partial copies.
 *
 * Block and cold migration call stream_copy() for each file they move; `ferry copy` is a
 * thin command around it.
 *
 *     struct stream_request req = { .source = "/opt/stack/data/nova/instances/_base/abc",
 *                                   .destination = "libvirt://compute2/opt/stack/data/nova/instances/_base/abc",
 *                                   .config = cfg, .verify = true, .durable = true, .cancel = &stop };
 *     struct stream_result res;
 *     char *error = NULL;
 *     int r = stream_copy(&req, &res, &error);   // 0, or a negative errno and *error
 *
 * The destination appears under its final name only when complete (and verified, with
 * verify): until then the data is in NAME.ferry-partial, described by
 * NAME.ferry-partial.manifest, and a later call with the same source resumes it. (Through
 * libvirt, which cannot rename a volume, the data is written in place under NAME and the
 * manifest volume beside it marks it unfinished until it is complete; see stream.c.)
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct ferry_config;

enum { STREAM_DEFAULT_CHUNK = 4u << 20 };

#define STREAM_PARTIAL_SUFFIX ".ferry-partial"
#define STREAM_MANIFEST_SUFFIX ".ferry-partial.manifest"

struct stream_progress {
    uint64_t done;  /* bytes of the file copied so far (data and holes), resumed part included */
    uint64_t total; /* the file's size */
    uint64_t data;  /* data bytes written by this run */
    double seconds; /* since this run started */
    double rate;    /* bytes of the file per second, over this run */
    bool verifying; /* reading the destination back (done/total count that pass) */
};

typedef void (*stream_progress_fn)(const struct stream_progress *progress, void *arg);

struct stream_request {
    const char *source;      /* a path, nfs://server/export/path[?version=3], or libvirt://HOST/path */
    const char *destination; /* the same forms */
    const struct ferry_config *config; /* [migrate] uri_template for libvirt://; NULL: qemu+tcp://%s/system */
    const char *root;        /* optional: a local destination must lie inside this directory */
    bool verify;             /* read the destination back and compare checksums before renaming */
    bool force;              /* replace an existing destination */
    bool no_resume;          /* remove a partial copy instead of resuming it */
    bool durable;            /* flush the destination to stable storage before it takes its name */
    uint64_t bwlimit;        /* bytes of data per second; 0: no limit */
    uint32_t chunk_size;     /* 0: STREAM_DEFAULT_CHUNK; a multiple of 64 KiB */
    unsigned io_timeout_ms;  /* NFS: no answer for this long fails the copy; 0: 15 s */
    stream_progress_fn progress; /* called from the calling thread, about 5 times a second */
    void *progress_arg;
    const atomic_bool *cancel; /* set (e.g. from a signal handler) to stop cleanly; the partial is kept */
};

struct stream_result {
    uint64_t bytes_total;  /* size of the file */
    uint64_t data_bytes;   /* bytes written as data (the resumed part included) */
    uint64_t hole_bytes;   /* bytes left as holes: bytes_total - data_bytes */
    uint64_t resumed_from; /* offset a partial copy was resumed from; 0 for a fresh copy */
    double seconds;        /* this run, wall clock */
    char checksum[33];     /* xxh3-128 of every byte of the file (holes as zeros), 32 hex digits */
    bool verified;         /* the destination was read back and matched */
};

/*
 * Copies req->source to req->destination. Returns 0, or a negative errno with *error (malloc'd,
 * one line) naming the object and the way out: -EINVAL a malformed spec, -ENOENT a missing
 * source or destination directory, -EEXIST the destination exists (without force),
 * -ECANCELED interrupted (the partial is kept), -ENOSPC no space (the partial is kept),
 * -ETIMEDOUT/-EHOSTUNREACH/-ECONNRESET a server that does not answer, -EIO verification
 * failed. On error nothing exists under the destination's name that was not there before.
 */
int stream_copy(const struct stream_request *req, struct stream_result *res, char **error);

/*
 * Only checks that spec is well formed (no I/O): 0, or -EINVAL with *error naming the role
 * ("source", "destination"). The command line uses it to tell bad usage from a failed copy.
 */
int stream_check_spec(const char *spec, const char *role, char **error);
