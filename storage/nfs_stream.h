/*
 * Whole-file streaming over libnfs (NFSv3) for ferry's disk streamer: one connection, one
 * open file, and many READ or WRITE requests in flight at once, all driven by our own poll
 * loop. Every wait has a deadline that moves with progress: a server that stops answering
 * fails the transfer after `timeout_ms` without progress, instead of hanging it.
 *
 * A stream is given a path on the server ("/srv/nova/x/disk"); it asks the server's MOUNT
 * service which export holds the path (the longest exported prefix) and mounts that. Every
 * path argument below is such a full server path.
 *
 * Like nfs_client, a stream that failed (timeout, connection lost) is "broken": requests may
 * still be in flight, so it refuses further calls; free it and connect a new one.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nfs_stream;

struct nfs_stream_options {
    unsigned timeout_ms;    /* no progress for this long fails the call (default 15 s) */
    unsigned max_in_flight; /* requests in flight (default 8) */
    size_t request_size;    /* bytes per READ/WRITE request (default 1 MiB, capped by the server) */
};

struct nfs_stream_stat {
    uint64_t size;
    uint64_t used; /* bytes allocated on the server */
    uint64_t mtime_ns;
    uint64_t inode;
    uint32_t mode;
};

/* A caller's read or write of a range: split into requests, done when pending is 0. */
struct nfs_stream_io {
    unsigned pending; /* requests not answered yet */
    int status;       /* 0, or the first negative errno of its requests */
};

/* Connects to server and mounts the export that holds path. On error *error names the
 * server, the path and what went wrong (no answer, no such export, ...). */
int nfs_stream_connect(const char *server, const char *path, const struct nfs_stream_options *options,
                       struct nfs_stream **stream, char **error);
void nfs_stream_free(struct nfs_stream *s);

/* The export that was mounted ("/srv/nova"), and libnfs's last words for messages. */
const char *nfs_stream_export(const struct nfs_stream *s);
const char *nfs_stream_last_error(const struct nfs_stream *s);

int nfs_stream_stat(struct nfs_stream *s, const char *path, struct nfs_stream_stat *st);
int nfs_stream_unlink(struct nfs_stream *s, const char *path);
int nfs_stream_rename(struct nfs_stream *s, const char *from, const char *to);
/* Reads a small file whole (-EFBIG when larger than size). */
int nfs_stream_read_small(struct nfs_stream *s, const char *path, char *buf, size_t size, size_t *len);
/* Replaces a small file: writes PATH.tmp, renames it over PATH. commit: COMMIT before the rename
 * (without it the server keeps the data in its memory until it writes it back by itself). */
int nfs_stream_write_small(struct nfs_stream *s, const char *path, const void *data, size_t len, bool commit);

/* Opens the stream's one data file (flags as open(2): O_RDONLY, or O_WRONLY|O_CREAT...). */
int nfs_stream_open(struct nfs_stream *s, const char *path, int flags, int mode);
int nfs_stream_close(struct nfs_stream *s);

/*
 * Queues a read or write of [offset, offset+len) of the open file, split into requests;
 * blocks (driving the connection) only while max_in_flight requests are out. buf must stay
 * valid until the io is done. A read that meets end of file fails with -EIO. Writes are
 * UNSTABLE: on stable storage only after nfs_stream_commit() (closing does not flush them).
 */
int nfs_stream_pread(struct nfs_stream *s, struct nfs_stream_io *io, uint64_t offset, void *buf, size_t len);
int nfs_stream_pwrite(struct nfs_stream *s, struct nfs_stream_io *io, uint64_t offset, const void *buf, size_t len);
/* Drives the connection until io is done; returns its status. */
int nfs_stream_wait(struct nfs_stream *s, struct nfs_stream_io *io);

/* SETATTR size of the open file; COMMIT of the open file (waits for everything in flight first). */
int nfs_stream_truncate(struct nfs_stream *s, uint64_t size);
int nfs_stream_commit(struct nfs_stream *s);
