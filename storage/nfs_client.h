/*
 * ferry's own NFS client for probes and leases: libnfs (NFSv3), driven asynchronously from
 * ferry's loop so that every call ends by its deadline, whatever the server does. A hung
 * server costs a probe its deadline, never a process stuck in uninterruptible sleep, which
 * is what a call through a hard kernel mount would cost.
 *
 * A client whose call ran out of time is "broken": the call may still be in flight, so the
 * client refuses further calls; connect a new one.
 */
#pragma once

#include "export_spec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nfs_client;

struct nfs_client_stat {
    uint64_t size;
    uint64_t used; /* bytes allocated */
    uint32_t mode;
    uint32_t uid, gid;
    uint64_t mtime_ns;
};

struct nfs_client_statvfs {
    uint64_t total_bytes, free_bytes, avail_bytes;
    uint64_t total_inodes, free_inodes;
};

/*
 * Connects to the export (portmapper, MOUNT, NFSv3) by deadline_ms (monotonic). On error,
 * returns a negative errno (-ETIMEDOUT when the deadline passed) and *error names the
 * export and what libnfs said.
 */
int nfs_client_connect(const struct export_spec *spec, uint64_t deadline_ms, struct nfs_client **client,
                       char **error);
void nfs_client_free(struct nfs_client *c);

/* The last error libnfs gave, for messages. Never NULL. */
const char *nfs_client_last_error(const struct nfs_client *c);

/* The NFSv3 NULL procedure: the server's NFS service answers. */
int nfs_client_null(struct nfs_client *c, uint64_t deadline_ms);
int nfs_client_stat(struct nfs_client *c, const char *path, struct nfs_client_stat *st, uint64_t deadline_ms);
int nfs_client_statvfs(struct nfs_client *c, const char *path, struct nfs_client_statvfs *st, uint64_t deadline_ms);
int nfs_client_mkdir(struct nfs_client *c, const char *path, int mode, uint64_t deadline_ms);
int nfs_client_unlink(struct nfs_client *c, const char *path, uint64_t deadline_ms);
int nfs_client_rename(struct nfs_client *c, const char *from, const char *to, uint64_t deadline_ms);

/* Reads a whole small file (at most size bytes; -EFBIG if it is larger). */
int nfs_client_read_file(struct nfs_client *c, const char *path, char *buf, size_t size, size_t *len,
                         uint64_t deadline_ms);

enum nfs_write_mode {
    NFS_WRITE_REPLACE,   /* write PATH.tmp-XXXX, commit, rename over PATH: readers see old or new */
    NFS_WRITE_EXCLUSIVE, /* create PATH only if absent (-EEXIST otherwise), write, commit */
};
/* Writes a whole small file durably (COMMIT before it counts). */
int nfs_client_write_file(struct nfs_client *c, const char *path, const void *data, size_t len, int mode,
                          enum nfs_write_mode how, uint64_t deadline_ms);

/* Calls fn for each entry of dir other than "." and ".."; a non-zero return stops the walk. */
int nfs_client_list(struct nfs_client *c, const char *dir, int (*fn)(const char *name, void *arg), void *arg,
                    uint64_t deadline_ms);

/*
 * A file kept open across calls (the lease renewal writes its record in place every few
 * seconds: one WRITE and one COMMIT, no lookups). Handles belong to their client.
 */
struct nfs_client_file;
int nfs_client_open(struct nfs_client *c, const char *path, int flags, int mode, struct nfs_client_file **file,
                    uint64_t deadline_ms);
int nfs_client_pwrite(struct nfs_client *c, struct nfs_client_file *f, uint64_t offset, const void *data,
                      size_t len, uint64_t deadline_ms);
int nfs_client_ftruncate(struct nfs_client *c, struct nfs_client_file *f, uint64_t size, uint64_t deadline_ms);
int nfs_client_fsync(struct nfs_client *c, struct nfs_client_file *f, uint64_t deadline_ms);
/* Closes and frees f (an abandoned client just frees it). */
void nfs_client_close(struct nfs_client *c, struct nfs_client_file *f, uint64_t deadline_ms);

/* Makes sure every directory of path exists (mkdir -p), relative to the export's root. */
int nfs_client_mkdir_p(struct nfs_client *c, const char *path, int mode, uint64_t deadline_ms);
