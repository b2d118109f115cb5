/*
 * libnfs behind deadlines. Every operation is started with libnfs's async API and then
 * driven by our own poll loop, which stops at the caller's deadline. libnfs may still call
 * back for an abandoned operation (when the context is destroyed, with a cancel status), so
 * each operation's state lives on the heap and an abandoned one is freed only after the
 * context is gone.
 */
#include "nfs_client.h"

#include "cleanup.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
/* libnfs's headers depend on each other in this order. */
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct operation {
    bool done;
    bool abandoned; /* left to the client after a timeout: freed with it */
    int status;          /* >= 0 result, < 0 negative errno */
    char error[256];     /* libnfs's words on failure */
    struct operation *next_abandoned;
    /* results */
    struct nfs_stat_64 st;
    struct nfs_statvfs_64 vfs;
    struct nfsfh *fh;
    struct nfsdir *dir;
    char *read_buf;
    size_t read_size;
};

struct nfs_client {
    struct nfs_context *nfs;
    char label[EXPORT_SPEC_FORMAT_SIZE]; /* server:/path, for messages */
    bool broken;
    char last_error[EXPORT_SPEC_FORMAT_SIZE + 300];
    struct operation *abandoned;
};

static struct operation *operation_new(void)
{
    return calloc(1, sizeof(struct operation));
}

/* Frees op unless the client keeps it (abandoned in flight). */
static void operation_release(struct operation *op)
{
    if (op && !op->abandoned) {
        free(op->read_buf);
        free(op);
    }
}

static void operation_abandon(struct nfs_client *c, struct operation *op)
{
    op->abandoned = true;
    op->next_abandoned = c->abandoned;
    c->abandoned = op;
}

static void client_set_error(struct nfs_client *c, const char *fmt, const char *detail)
{
    snprintf(c->last_error, sizeof(c->last_error), fmt, detail ? detail : "");
}

/* libnfs's callback for nfs_* async calls. */
static void nfs_callback(int err, struct nfs_context *nfs, void *data, void *private_data)
{
    struct operation *op = private_data;
    (void)nfs;
    op->done = true;
    op->status = err;
    if (err < 0) {
        snprintf(op->error, sizeof(op->error), "%s", data ? (const char *)data : strerror(-err));
        return;
    }
    /* Copy what the caller will read; which field applies is the caller's business. */
    if (op->read_buf && data && err > 0)
        memcpy(op->read_buf, data, (size_t)err < op->read_size ? (size_t)err : op->read_size);
    op->fh = data;
    op->dir = data;
}

static void stat_callback(int err, struct nfs_context *nfs, void *data, void *private_data)
{
    struct operation *op = private_data;
    if (err == 0 && data)
        op->st = *(struct nfs_stat_64 *)data;
    nfs_callback(err, nfs, NULL, private_data);
    if (err < 0)
        snprintf(op->error, sizeof(op->error), "%s", data ? (const char *)data : strerror(-err));
}

static void statvfs_callback(int err, struct nfs_context *nfs, void *data, void *private_data)
{
    struct operation *op = private_data;
    if (err == 0 && data)
        op->vfs = *(struct nfs_statvfs_64 *)data;
    nfs_callback(err, nfs, NULL, private_data);
    if (err < 0)
        snprintf(op->error, sizeof(op->error), "%s", data ? (const char *)data : strerror(-err));
}

static void rpc_callback(struct rpc_context *rpc, int status, void *data, void *private_data)
{
    struct operation *op = private_data;
    (void)rpc;
    op->done = true;
    if (status == RPC_STATUS_SUCCESS) {
        op->status = 0;
    } else {
        op->status = status == RPC_STATUS_TIMEOUT ? -ETIMEDOUT : status == RPC_STATUS_CANCEL ? -ECANCELED : -EIO;
        snprintf(op->error, sizeof(op->error), "%s",
                 status == RPC_STATUS_ERROR && data ? (const char *)data : "no answer");
    }
}

/*
 * Drives libnfs until op completes or the deadline passes. Returns op's status, or
 * -ETIMEDOUT (the client is then broken and op abandoned to it).
 */
static int operation_wait(struct nfs_client *c, struct operation *op, uint64_t deadline_ms)
{
    while (!op->done) {
        uint64_t left = clock_remaining_ms(deadline_ms);
        if (left == 0) {
            c->broken = true;
            operation_abandon(c, op);
            client_set_error(c, "no answer from %s before the deadline", c->label);
            return -ETIMEDOUT;
        }
        struct pollfd pfd = { .fd = nfs_get_fd(c->nfs), .events = (short)nfs_which_events(c->nfs) };
        int n = poll(&pfd, 1, left > 100 ? 100 : (int)left);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (nfs_service(c->nfs, n > 0 ? pfd.revents : 0) < 0) {
            c->broken = true;
            client_set_error(c, "%s", nfs_get_error(c->nfs));
            if (!op->done) {
                operation_abandon(c, op);
                return -ECONNRESET;
            }
        }
    }
    if (op->status < 0)
        client_set_error(c, "%s", op->error);
    return op->status;
}

/* Finishes an operation that was queued with `queued` (the async call's return). */
static int operation_finish(struct nfs_client *c, struct operation *op, int queued, uint64_t deadline_ms)
{
    if (queued < 0) {
        client_set_error(c, "%s", nfs_get_error(c->nfs));
        operation_release(op);
        return queued;
    }
    int r = operation_wait(c, op, deadline_ms);
    operation_release(op);
    return r;
}

static int client_usable(struct nfs_client *c)
{
    if (c->broken) {
        client_set_error(c, "connection to %s abandoned after an earlier timeout", c->label);
        return -ENOTCONN;
    }
    return 0;
}

/* A new operation on a client that may still be used; a negative errno otherwise. */
static int operation_begin(struct nfs_client *c, struct operation **op)
{
    int r = client_usable(c);
    if (r < 0)
        return r;
    *op = operation_new();
    return *op ? 0 : -ENOMEM;
}

int nfs_client_connect(const struct export_spec *spec, uint64_t deadline_ms, struct nfs_client **client,
                       char **error)
{
    struct nfs_client *c = calloc(1, sizeof(*c));
    char label[EXPORT_SPEC_FORMAT_SIZE];
    int r;

    *error = NULL;
    export_spec_format(spec, label, sizeof(label));
    if (!c)
        return -ENOMEM;
    snprintf(c->label, sizeof(c->label), "%s", label);
    c->nfs = nfs_init_context();
    if (!c->nfs) {
        free(c);
        return -ENOMEM;
    }
    /* Probes must see failures, not wait them out. */
    nfs_set_autoreconnect(c->nfs, 0);
    nfs_set_version(c->nfs, NFS_V3);

    struct operation *op = operation_new();
    if (!op) {
        nfs_client_free(c);
        return -ENOMEM;
    }
    r = operation_finish(c, op, nfs_mount_async(c->nfs, spec->server, spec->path, nfs_callback, op), deadline_ms);
    if (r < 0) {
        if (asprintf(error, "cannot reach export %s through libnfs: %s", label,
                     r == -ETIMEDOUT ? "no answer before the deadline" : c->last_error) < 0)
            *error = NULL;
        nfs_client_free(c);
        return r;
    }
    *client = c;
    return 0;
}

void nfs_client_free(struct nfs_client *c)
{
    if (!c)
        return;
    if (c->nfs)
        nfs_destroy_context(c->nfs); /* may call back abandoned operations: free them after */
    while (c->abandoned) {
        struct operation *next = c->abandoned->next_abandoned;
        c->abandoned->abandoned = false;
        operation_release(c->abandoned);
        c->abandoned = next;
    }
    free(c);
}

const char *nfs_client_last_error(const struct nfs_client *c)
{
    return c->last_error;
}

int nfs_client_null(struct nfs_client *c, uint64_t deadline_ms)
{
    struct operation *op;
    int r = operation_begin(c, &op);
    if (r < 0)
        return r;
    return operation_finish(c, op, rpc_nfs3_null_async(nfs_get_rpc_context(c->nfs), rpc_callback, op), deadline_ms);
}

int nfs_client_stat(struct nfs_client *c, const char *path, struct nfs_client_stat *st, uint64_t deadline_ms)
{
    struct operation *op;
    int r = operation_begin(c, &op);
    if (r < 0)
        return r;
    r = nfs_stat64_async(c->nfs, path, stat_callback, op);
    if (r < 0)
        return operation_finish(c, op, r, deadline_ms);
    r = operation_wait(c, op, deadline_ms);
    if (r == 0) {
        st->size = op->st.nfs_size;
        st->used = op->st.nfs_used;
        st->mode = (uint32_t)op->st.nfs_mode;
        st->uid = (uint32_t)op->st.nfs_uid;
        st->gid = (uint32_t)op->st.nfs_gid;
        st->mtime_ns = op->st.nfs_mtime * 1000000000ull + op->st.nfs_mtime_nsec;
    }
    operation_release(op);
    return r;
}

int nfs_client_statvfs(struct nfs_client *c, const char *path, struct nfs_client_statvfs *st, uint64_t deadline_ms)
{
    struct operation *op;
    int r = operation_begin(c, &op);
    if (r < 0)
        return r;
    r = nfs_statvfs64_async(c->nfs, path, statvfs_callback, op);
    if (r < 0)
        return operation_finish(c, op, r, deadline_ms);
    r = operation_wait(c, op, deadline_ms);
    if (r == 0) {
        uint64_t unit = op->vfs.f_frsize ? op->vfs.f_frsize : op->vfs.f_bsize;
        st->total_bytes = op->vfs.f_blocks * unit;
        st->free_bytes = op->vfs.f_bfree * unit;
        st->avail_bytes = op->vfs.f_bavail * unit;
        st->total_inodes = op->vfs.f_files;
        st->free_inodes = op->vfs.f_ffree;
    }
    operation_release(op);
    return r;
}

int nfs_client_mkdir(struct nfs_client *c, const char *path, int mode, uint64_t deadline_ms)
{
    struct operation *op;
    int r = operation_begin(c, &op);
    if (r < 0)
        return r;
    return operation_finish(c, op, nfs_mkdir2_async(c->nfs, path, mode, nfs_callback, op), deadline_ms);
}

int nfs_client_unlink(struct nfs_client *c, const char *path, uint64_t deadline_ms)
{
    struct operation *op;
    int r = operation_begin(c, &op);
    if (r < 0)
        return r;
    return operation_finish(c, op, nfs_unlink_async(c->nfs, path, nfs_callback, op), deadline_ms);
}

int nfs_client_rename(struct nfs_client *c, const char *from, const char *to, uint64_t deadline_ms)
{
    struct operation *op;
    int r = operation_begin(c, &op);
    if (r < 0)
        return r;
    return operation_finish(c, op, nfs_rename_async(c->nfs, from, to, nfs_callback, op), deadline_ms);
}

/* Opens path; on success *fh is the handle to close with close_handle(). */
static int open_handle(struct nfs_client *c, const char *path, int flags, int mode, struct nfsfh **fh,
                       uint64_t deadline_ms)
{
    struct operation *op = operation_new();
    if (!op)
        return -ENOMEM;
    int r = (flags & O_CREAT) ? nfs_open2_async(c->nfs, path, flags, mode, nfs_callback, op)
                              : nfs_open_async(c->nfs, path, flags, nfs_callback, op);
    if (r < 0)
        return operation_finish(c, op, r, deadline_ms);
    r = operation_wait(c, op, deadline_ms);
    if (r == 0)
        *fh = op->fh;
    operation_release(op);
    return r;
}

static int close_handle(struct nfs_client *c, struct nfsfh *fh, uint64_t deadline_ms)
{
    struct operation *op = operation_new();
    if (!op)
        return -ENOMEM;
    return operation_finish(c, op, nfs_close_async(c->nfs, fh, nfs_callback, op), deadline_ms);
}

int nfs_client_read_file(struct nfs_client *c, const char *path, char *buf, size_t size, size_t *len,
                         uint64_t deadline_ms)
{
    struct nfsfh *fh = NULL;
    int r = client_usable(c);
    if (r < 0)
        return r;
    r = open_handle(c, path, O_RDONLY, 0, &fh, deadline_ms);
    if (r < 0)
        return r;

    /* Ask for one byte more than fits: getting it means the file is too large. */
    struct operation *op = operation_new();
    if (!op)
        return -ENOMEM;
    op->read_size = size + 1;
    op->read_buf = malloc(size + 1);
    if (!op->read_buf) {
        free(op);
        return -ENOMEM;
    }
    r = nfs_pread_async(c->nfs, fh, 0, size + 1, nfs_callback, op);
    if (r < 0)
        return operation_finish(c, op, r, deadline_ms);
    r = operation_wait(c, op, deadline_ms);
    if (r > (int)size) {
        r = -EFBIG;
    } else if (r >= 0) {
        memcpy(buf, op->read_buf, (size_t)r);
        *len = (size_t)r;
        r = 0;
    }
    operation_release(op);
    if (c->broken)
        return r;
    int rc = close_handle(c, fh, deadline_ms);
    return r < 0 ? r : rc;
}

static int write_at(struct nfs_client *c, struct nfsfh *fh, uint64_t offset, const void *data, size_t len,
                    uint64_t deadline_ms)
{
    size_t done = 0;
    while (done < len) {
        struct operation *op = operation_new();
        if (!op)
            return -ENOMEM;
        int r = nfs_pwrite_async(c->nfs, fh, offset + done, len - done, (const char *)data + done, nfs_callback, op);
        if (r < 0)
            return operation_finish(c, op, r, deadline_ms);
        r = operation_wait(c, op, deadline_ms);
        operation_release(op);
        if (r < 0)
            return r;
        if (r == 0)
            return -EIO;
        done += (size_t)r;
    }
    return 0;
}

static int fsync_handle(struct nfs_client *c, struct nfsfh *fh, uint64_t deadline_ms)
{
    struct operation *op = operation_new();
    if (!op)
        return -ENOMEM;
    return operation_finish(c, op, nfs_fsync_async(c->nfs, fh, nfs_callback, op), deadline_ms);
}

static int write_all(struct nfs_client *c, struct nfsfh *fh, const void *data, size_t len, uint64_t deadline_ms)
{
    int r = write_at(c, fh, 0, data, len, deadline_ms);
    return r < 0 ? r : fsync_handle(c, fh, deadline_ms);
}

struct nfs_client_file {
    struct nfsfh *fh;
};

int nfs_client_open(struct nfs_client *c, const char *path, int flags, int mode, struct nfs_client_file **file,
                    uint64_t deadline_ms)
{
    struct nfs_client_file *f = calloc(1, sizeof(*f));
    int r = client_usable(c);
    if (!f)
        return -ENOMEM;
    if (r == 0)
        r = open_handle(c, path, flags, mode, &f->fh, deadline_ms);
    if (r < 0) {
        free(f);
        return r;
    }
    *file = f;
    return 0;
}

int nfs_client_pwrite(struct nfs_client *c, struct nfs_client_file *f, uint64_t offset, const void *data,
                      size_t len, uint64_t deadline_ms)
{
    int r = client_usable(c);
    return r < 0 ? r : write_at(c, f->fh, offset, data, len, deadline_ms);
}

int nfs_client_ftruncate(struct nfs_client *c, struct nfs_client_file *f, uint64_t size, uint64_t deadline_ms)
{
    struct operation *op;
    int r = operation_begin(c, &op);
    if (r < 0)
        return r;
    return operation_finish(c, op, nfs_ftruncate_async(c->nfs, f->fh, size, nfs_callback, op), deadline_ms);
}

int nfs_client_fsync(struct nfs_client *c, struct nfs_client_file *f, uint64_t deadline_ms)
{
    int r = client_usable(c);
    return r < 0 ? r : fsync_handle(c, f->fh, deadline_ms);
}

void nfs_client_close(struct nfs_client *c, struct nfs_client_file *f, uint64_t deadline_ms)
{
    if (!f)
        return;
    /* A broken client's handles die with its context. */
    if (client_usable(c) == 0)
        close_handle(c, f->fh, deadline_ms);
    free(f);
}

int nfs_client_write_file(struct nfs_client *c, const char *path, const void *data, size_t len, int mode,
                          enum nfs_write_mode how, uint64_t deadline_ms)
{
    struct nfsfh *fh = NULL;
    char tmp[EXPORT_SPEC_PATH_MAX + 32];
    int r = client_usable(c);
    if (r < 0)
        return r;

    if (how == NFS_WRITE_EXCLUSIVE) {
        snprintf(tmp, sizeof(tmp), "%s", path);
        r = open_handle(c, path, O_WRONLY | O_CREAT | O_EXCL, mode, &fh, deadline_ms);
    } else {
        snprintf(tmp, sizeof(tmp), "%s.tmp-%08x", path, (unsigned)random());
        r = open_handle(c, tmp, O_WRONLY | O_CREAT | O_TRUNC, mode, &fh, deadline_ms);
    }
    if (r < 0)
        return r;
    r = write_all(c, fh, data, len, deadline_ms);
    if (c->broken)
        return r;
    int rc = close_handle(c, fh, deadline_ms);
    if (r == 0)
        r = rc;
    if (r == 0 && how == NFS_WRITE_REPLACE)
        r = nfs_client_rename(c, tmp, path, deadline_ms);
    if (r < 0 && !c->broken && how == NFS_WRITE_REPLACE)
        nfs_client_unlink(c, tmp, deadline_ms);
    return r;
}

int nfs_client_list(struct nfs_client *c, const char *dir, int (*fn)(const char *name, void *arg), void *arg,
                    uint64_t deadline_ms)
{
    struct operation *op;
    int r = operation_begin(c, &op);
    if (r < 0)
        return r;
    r = nfs_opendir_async(c->nfs, dir, nfs_callback, op);
    if (r < 0)
        return operation_finish(c, op, r, deadline_ms);
    r = operation_wait(c, op, deadline_ms);
    struct nfsdir *d = op->dir;
    operation_release(op);
    if (r < 0)
        return r;
    /* The listing is complete in memory once opendir answered: no more I/O here. */
    struct nfsdirent *e;
    while ((e = nfs_readdir(c->nfs, d))) {
        if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
            continue;
        r = fn(e->name, arg);
        if (r)
            break;
    }
    nfs_closedir(c->nfs, d);
    return r < 0 ? r : 0;
}

int nfs_client_mkdir_p(struct nfs_client *c, const char *path, int mode, uint64_t deadline_ms)
{
    char partial[EXPORT_SPEC_PATH_MAX + 1];
    size_t n = strlen(path);
    if (n >= sizeof(partial))
        return -ENAMETOOLONG;
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        memcpy(partial, path, i);
        partial[i] = 0;
        int r = nfs_client_mkdir(c, partial, mode, deadline_ms);
        if (r < 0 && r != -EEXIST)
            return r;
    }
    return 0;
}
