/*
 * libnfs for bulk transfers. nfs_client (probes, leases) runs one call at a time; a disk
 * copy needs the wire kept full, so here a caller's range becomes several READ or WRITE
 * requests that are all in flight together, and completions are counted per range.
 *
 * Each libnfs call carries a heap `request`. libnfs calls back every queued request exactly
 * once — with an answer, or with an error when the context is destroyed — so the callback
 * owns the request: it frees it unless a waiting caller still wants to read the result.
 * A caller that gives up (deadline) marks its request abandoned, and the callback frees it.
 * The deadline moves with progress: it is `timeout_ms` after the last answer.
 */
#include "nfs_stream.h"

#include "cleanup.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
/* libnfs's headers depend on each other in this order. */
#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DEFAULT_TIMEOUT_MS = 15000, DEFAULT_IN_FLIGHT = 8, DEFAULT_REQUEST = 1 << 20 };

struct nfs_stream {
    struct nfs_context *nfs;
    struct nfsfh *fh;
    char server[256];
    char export[1025];
    unsigned timeout_ms;
    unsigned max_in_flight;
    size_t request_size;
    unsigned in_flight;
    uint64_t last_progress_ms;
    bool broken;
    struct nfs_stream_io small_io; /* nfs_stream_write_small()'s */
    char last_error[512];
};

/*
 * libnfs's handle of an open file, which nfs_get_fh() returns "to use a file opened with
 * nfs_open() together with low-level rpc functions" (libnfs-raw.h), but which its public
 * headers leave incomplete. This is its layout in every libnfs release; raw_fh() checks it
 * before use and the stream falls back to nfs_pwrite_async() when it does not hold.
 */
struct nfs_fh {
    int len;
    char *val;
};

struct request {
    struct nfs_stream *s;
    bool done, abandoned;
    int status;
    char error[256];
    /* data requests */
    struct nfs_stream_io *io;
    struct nfsfh *file;
    bool is_read;
    uint64_t offset;
    char *buf;
    size_t len;
    /* control results */
    struct nfs_stat_64 st;
    struct nfsfh *fh;
    char *small_buf;
    size_t small_size;
};

static void set_error(struct nfs_stream *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct nfs_stream *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
    va_end(ap);
}

static void progress(struct nfs_stream *s)
{
    s->last_progress_ms = clock_monotonic_ms();
}

/* One round of the loop: waits for the socket (at most 100 ms) and lets libnfs work. Fails
 * when nothing has answered for timeout_ms. */
static int drive(struct nfs_stream *s)
{
    if (s->broken)
        return -ENOTCONN;
    uint64_t before = s->last_progress_ms;
    uint64_t left = clock_remaining_ms(before + s->timeout_ms);
    struct pollfd pfd = { .fd = nfs_get_fd(s->nfs), .events = (short)nfs_which_events(s->nfs) };
    int n = poll(&pfd, 1, left > 100 ? 100 : (int)left);
    if (n < 0 && errno != EINTR)
        return -errno;
    if (nfs_service(s->nfs, n > 0 ? pfd.revents : 0) < 0) {
        s->broken = true;
        set_error(s, "connection to %s lost: %s", s->server, nfs_get_error(s->nfs));
        return -ECONNRESET;
    }
    /* Answers that waited while the caller did something else count before the deadline. */
    if (s->last_progress_ms == before && clock_remaining_ms(before + s->timeout_ms) == 0) {
        s->broken = true;
        set_error(s, "no answer from %s for %u ms", s->server, s->timeout_ms);
        return -ETIMEDOUT;
    }
    return 0;
}

static int usable(struct nfs_stream *s)
{
    if (s->broken) {
        set_error(s, "connection to %s abandoned after an earlier failure", s->server);
        return -ENOTCONN;
    }
    return 0;
}

/* ---- control requests: one at a time, waited for ----------------------------------------- */

static void control_callback(int err, struct nfs_context *nfs, void *data, void *private_data)
{
    struct request *r = private_data;
    (void)nfs;
    if (r->abandoned) {
        free(r->small_buf);
        free(r);
        return;
    }
    progress(r->s);
    r->done = true;
    r->status = err;
    if (err < 0) {
        snprintf(r->error, sizeof(r->error), "%s", data ? (const char *)data : strerror(-err));
        return;
    }
    if (r->small_buf && data && err > 0)
        memcpy(r->small_buf, data, (size_t)err < r->small_size ? (size_t)err : r->small_size);
    r->fh = data;
}

static void stat_callback(int err, struct nfs_context *nfs, void *data, void *private_data)
{
    struct request *r = private_data;
    if (err == 0 && data && !r->abandoned)
        r->st = *(struct nfs_stat_64 *)data;
    control_callback(err, nfs, err == 0 ? NULL : data, private_data);
}

static int data_submit(struct nfs_stream *s, struct nfsfh *fh, struct nfs_stream_io *io, uint64_t offset, char *buf,
                       size_t len, bool is_read);

static struct request *request_new(struct nfs_stream *s)
{
    struct request *r = calloc(1, sizeof(*r));
    if (r)
        r->s = s;
    return r;
}

/* Waits for a control request queued with `queued` (the async call's return); frees it
 * unless it was abandoned in flight. */
static int control_finish(struct nfs_stream *s, struct request *r, int queued, struct request *keep)
{
    if (queued < 0) {
        set_error(s, "%s", nfs_get_error(s->nfs));
        free(r->small_buf);
        free(r);
        return queued;
    }
    progress(s);
    while (!r->done) {
        int e = drive(s);
        if (e < 0) {
            if (!r->done) {
                r->abandoned = true;
                return e;
            }
            break;
        }
    }
    int status = r->status;
    if (status < 0)
        set_error(s, "%s", r->error);
    if (keep)
        return status; /* the caller reads the results, then frees */
    free(r->small_buf);
    free(r);
    return status;
}

#define CONTROL(s, call)                                          \
    ({                                                            \
        int _u = usable(s);                                       \
        struct request *_r = _u < 0 ? NULL : request_new(s);      \
        _u < 0 ? _u : !_r ? -ENOMEM : control_finish((s), _r, (call), NULL); \
    })

/* ---- connecting ------------------------------------------------------------------------ */

struct export_lookup {
    bool done;
    int status;
    char best[1025];
    const char *path;
    char list[512]; /* what the server exports, for the message */
};

static bool path_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (!strcmp(dir, "/"))
        return path[0] == '/';
    return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == 0);
}

static void exports_callback(struct rpc_context *rpc, int status, void *data, void *private_data)
{
    struct export_lookup *l = private_data;
    (void)rpc;
    l->done = true;
    if (status != RPC_STATUS_SUCCESS) {
        l->status = -EHOSTUNREACH;
        return;
    }
    /* libnfs packs the answer's nodes 4-byte aligned: read them with memcpy (UBSan). */
    exports next = NULL;
    if (data)
        memcpy(&next, data, sizeof(next));
    while (next) {
        struct exportnode e;
        memcpy(&e, next, sizeof(e));
        size_t used = strlen(l->list);
        snprintf(l->list + used, sizeof(l->list) - used, "%s%s", used ? ", " : "", e.ex_dir);
        if (path_within(l->path, e.ex_dir) && strlen(e.ex_dir) > strlen(l->best))
            snprintf(l->best, sizeof(l->best), "%s", e.ex_dir);
        next = e.ex_next;
    }
}

/* Asks the server's MOUNT service for its exports; keeps the longest one that holds path. */
static int find_export(struct nfs_stream *s, const char *path, char **error)
{
    struct export_lookup l = { .path = path };
    struct rpc_context *rpc = rpc_init_context();
    if (!rpc)
        return -ENOMEM;
    int r = mount_getexports_async(rpc, s->server, exports_callback, &l);
    uint64_t deadline = clock_monotonic_ms() + s->timeout_ms;
    while (r == 0 && !l.done) {
        uint64_t left = clock_remaining_ms(deadline);
        if (left == 0) {
            r = -ETIMEDOUT;
            break;
        }
        struct pollfd pfd = { .fd = rpc_get_fd(rpc), .events = (short)rpc_which_events(rpc) };
        int n = poll(&pfd, 1, left > 100 ? 100 : (int)left);
        if (n < 0 && errno != EINTR)
            r = -errno;
        else if (rpc_service(rpc, n > 0 ? pfd.revents : 0) < 0)
            r = -EHOSTUNREACH;
    }
    rpc_destroy_context(rpc); /* calls back an unfinished lookup with a cancel status */
    if (r == 0)
        r = l.status;
    if (r < 0) {
        if (asprintf(error, "cannot reach NFS server %s: %s", s->server,
                     r == -ETIMEDOUT ? "no answer before the deadline" : "its MOUNT service does not answer") < 0)
            *error = NULL;
        return r;
    }
    if (!l.best[0]) {
        if (asprintf(error, "NFS server %s exports no directory that holds %s (it exports: %s)", s->server, path,
                     l.list[0] ? l.list : "nothing") < 0)
            *error = NULL;
        return -ENOENT;
    }
    snprintf(s->export, sizeof(s->export), "%s", l.best);
    return 0;
}

int nfs_stream_connect(const char *server, const char *path, const struct nfs_stream_options *options,
                       struct nfs_stream **stream, char **error)
{
    *error = NULL;
    struct nfs_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    snprintf(s->server, sizeof(s->server), "%s", server);
    s->timeout_ms = options && options->timeout_ms ? options->timeout_ms : DEFAULT_TIMEOUT_MS;
    s->max_in_flight = options && options->max_in_flight ? options->max_in_flight : DEFAULT_IN_FLIGHT;
    s->request_size = options && options->request_size ? options->request_size : DEFAULT_REQUEST;

    int r = find_export(s, path, error);
    if (r < 0) {
        free(s);
        return r;
    }
    s->nfs = nfs_init_context();
    if (!s->nfs) {
        free(s);
        return -ENOMEM;
    }
    /* A transfer must see a failure, not wait it out: the copy resumes on its next run. */
    nfs_set_autoreconnect(s->nfs, 0);
    nfs_set_version(s->nfs, NFS_V3);
    struct request *req = request_new(s);
    if (!req) {
        nfs_stream_free(s);
        return -ENOMEM;
    }
    r = control_finish(s, req, nfs_mount_async(s->nfs, server, s->export, control_callback, req), NULL);
    if (r < 0) {
        if (asprintf(error, "cannot mount %s:%s through libnfs: %s", server, s->export, s->last_error) < 0)
            *error = NULL;
        nfs_stream_free(s);
        return r;
    }
    uint64_t max = nfs_get_writemax(s->nfs) < nfs_get_readmax(s->nfs) ? nfs_get_writemax(s->nfs)
                                                                       : nfs_get_readmax(s->nfs);
    if (max && s->request_size > max)
        s->request_size = max;
    *stream = s;
    return 0;
}

static void ignore_callback(int err, struct nfs_context *nfs, void *data, void *private_data)
{
    (void)err;
    (void)nfs;
    (void)data;
    (void)private_data;
}

/* Frees a handle without waiting, on a stream that is broken or going away: NFSv3 has no
 * CLOSE, so libnfs frees it at once (a handle it would COMMIT first, see data_queue, is
 * freed when the context's destruction cancels that COMMIT). */
static void drop_handle(struct nfs_stream *s, struct nfsfh *fh)
{
    nfs_close_async(s->nfs, fh, ignore_callback, NULL);
}

void nfs_stream_free(struct nfs_stream *s)
{
    if (!s)
        return;
    if (s->fh)
        drop_handle(s, s->fh); /* a source's handle, or one left open by a failure */
    if (s->nfs)
        nfs_destroy_context(s->nfs); /* calls back whatever is in flight, which frees it */
    free(s);
}

const char *nfs_stream_export(const struct nfs_stream *s)
{
    return s->export;
}

const char *nfs_stream_last_error(const struct nfs_stream *s)
{
    return s->last_error;
}

/* The path relative to the mounted export, as libnfs wants it. */
static const char *relative(const struct nfs_stream *s, const char *path)
{
    if (!strcmp(s->export, "/"))
        return path;
    const char *rest = path + strlen(s->export);
    return *rest ? rest : "/";
}

/* ---- metadata and small files -------------------------------------------------------------- */

int nfs_stream_stat(struct nfs_stream *s, const char *path, struct nfs_stream_stat *st)
{
    int r = usable(s);
    if (r < 0)
        return r;
    struct request *req = request_new(s);
    if (!req)
        return -ENOMEM;
    r = control_finish(s, req, nfs_stat64_async(s->nfs, relative(s, path), stat_callback, req), req);
    if (req->abandoned)
        return r;
    if (r == 0) {
        st->size = req->st.nfs_size;
        st->used = req->st.nfs_used;
        st->mtime_ns = req->st.nfs_mtime * 1000000000ull + req->st.nfs_mtime_nsec;
        st->inode = req->st.nfs_ino;
        st->mode = (uint32_t)req->st.nfs_mode;
    }
    free(req);
    return r;
}

int nfs_stream_unlink(struct nfs_stream *s, const char *path)
{
    return CONTROL(s, nfs_unlink_async(s->nfs, relative(s, path), control_callback, _r));
}

int nfs_stream_rename(struct nfs_stream *s, const char *from, const char *to)
{
    return CONTROL(s, nfs_rename_async(s->nfs, relative(s, from), relative(s, to), control_callback, _r));
}

static int open_handle(struct nfs_stream *s, const char *path, int flags, int mode, struct nfsfh **fh)
{
    int r = usable(s);
    if (r < 0)
        return r;
    struct request *req = request_new(s);
    if (!req)
        return -ENOMEM;
    r = control_finish(s, req,
                       (flags & O_CREAT) ? nfs_open2_async(s->nfs, relative(s, path), flags, mode, control_callback, req)
                                         : nfs_open_async(s->nfs, relative(s, path), flags, control_callback, req),
                       req);
    if (req->abandoned)
        return r;
    if (r == 0)
        *fh = req->fh;
    free(req);
    return r;
}

static int close_handle(struct nfs_stream *s, struct nfsfh *fh)
{
    if (s->broken) {
        drop_handle(s, fh);
        return -ENOTCONN;
    }
    return CONTROL(s, nfs_close_async(s->nfs, fh, control_callback, _r));
}

int nfs_stream_read_small(struct nfs_stream *s, const char *path, char *buf, size_t size, size_t *len)
{
    struct nfsfh *fh = NULL;
    int r = open_handle(s, path, O_RDONLY, 0, &fh);
    if (r < 0)
        return r;
    struct request *req = request_new(s);
    if (!req)
        return -ENOMEM;
    req->small_size = size + 1; /* one byte more than fits: getting it means too large */
    req->small_buf = malloc(size + 1);
    if (!req->small_buf) {
        free(req);
        return -ENOMEM;
    }
    r = control_finish(s, req, nfs_pread_async(s->nfs, fh, 0, size + 1, control_callback, req), req);
    if (req->abandoned)
        return r;
    if (r > (int)size) {
        r = -EFBIG;
    } else if (r >= 0) {
        memcpy(buf, req->small_buf, (size_t)r);
        *len = (size_t)r;
        r = 0;
    }
    free(req->small_buf);
    free(req);
    int rc = close_handle(s, fh);
    return r < 0 ? r : rc;
}

int nfs_stream_write_small(struct nfs_stream *s, const char *path, const void *data, size_t len, bool commit)
{
    _cleanup_free_ char *tmp = NULL;
    struct nfsfh *fh = NULL;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return -ENOMEM;
    int r = open_handle(s, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fh);
    if (r < 0)
        return r;
    /* As the data: an UNSTABLE write, so that closing does not flush it (see data_queue). */
    struct nfs_stream_io *io = &s->small_io; /* the stream's: answers may come after a failure */
    *io = (struct nfs_stream_io){ 0 };
    r = data_submit(s, fh, io, 0, (char *)data, len, false);
    if (r >= 0 || io->pending > 0) {
        int w = nfs_stream_wait(s, io);
        r = r < 0 ? r : w;
    }
    if (r >= 0 && commit)
        r = CONTROL(s, nfs_fsync_async(s->nfs, fh, control_callback, _r));
    int rc = close_handle(s, fh);
    if (s->broken)
        return r < 0 ? r : rc;
    if (r >= 0)
        r = rc;
    if (r >= 0)
        r = nfs_stream_rename(s, tmp, path);
    if (r < 0 && !s->broken)
        nfs_stream_unlink(s, tmp);
    return r < 0 ? r : 0;
}

/* ---- the data file ------------------------------------------------------------------------- */

int nfs_stream_open(struct nfs_stream *s, const char *path, int flags, int mode)
{
    if (s->fh)
        return -EBUSY;
    return open_handle(s, path, flags, mode, &s->fh);
}

int nfs_stream_close(struct nfs_stream *s)
{
    if (!s->fh)
        return 0;
    struct nfsfh *fh = s->fh;
    s->fh = NULL;
    return close_handle(s, fh);
}

static int data_queue(struct nfs_stream *s, struct request *req);

/* A data request's answer: err is the byte count or a negative errno, message the server's
 * words for a failure, data what a read returned. */
static void data_done(struct request *req, int err, const char *message, const void *data)
{
    struct nfs_stream *s = req->s;
    struct nfs_stream_io *io = req->io;
    s->in_flight--;
    if (err >= 0)
        progress(s);
    if (err > 0 && (size_t)err > req->len)
        err = -EIO;
    if (err == 0) {
        err = -EIO; /* a read past the end, or a write that wrote nothing */
        set_error(s, "%s at offset %llu: the server %s nothing", req->is_read ? "read" : "write",
                  (unsigned long long)req->offset, req->is_read ? "returned" : "accepted");
    } else if (err < 0 && !s->broken) {
        set_error(s, "%s at offset %llu: %s", req->is_read ? "read" : "write", (unsigned long long)req->offset,
                  message ? message : strerror(-err));
    }
    if (err > 0) {
        if (req->is_read && data && !s->broken)
            memcpy(req->buf, data, (size_t)err);
        if ((size_t)err < req->len && !s->broken) {
            /* A short answer: ask for the rest with the same request. */
            req->offset += (uint64_t)err;
            req->buf += err;
            req->len -= (size_t)err;
            int r = data_queue(s, req);
            if (r == 0)
                return;
            err = r;
        }
    }
    if (err < 0 && io->status == 0)
        io->status = err;
    io->pending--;
    free(req);
}

static void data_callback(int err, struct nfs_context *nfs, void *data, void *private_data)
{
    (void)nfs;
    data_done(private_data, err, err < 0 ? data : NULL, data);
}

static void raw_write_callback(struct rpc_context *rpc, int status, void *data, void *private_data)
{
    struct request *req = private_data;
    WRITE3res *res = data;
    if (status == RPC_STATUS_SUCCESS && res && res->status == NFS3_OK)
        data_done(req, (int)res->WRITE3res_u.resok.count, NULL, NULL);
    else if (status == RPC_STATUS_SUCCESS && res)
        data_done(req, nfsstat3_to_errno(res->status), nfsstat3_to_str(res->status), NULL);
    else
        data_done(req, status == RPC_STATUS_CANCEL ? -EINTR : -EIO, rpc_get_error(rpc), NULL);
}

/* The handle for raw RPCs, when libnfs's handle looks as expected (see struct nfs_fh). */
static const struct nfs_fh *raw_fh(struct nfsfh *fh)
{
    const struct nfs_fh *h = nfs_get_fh(fh);
    return h && h->len > 0 && h->len <= NFS3_FHSIZE && h->val ? h : NULL;
}

/*
 * Writes go out as raw UNSTABLE WRITEs: libnfs's own nfs_pwrite_async() marks the handle
 * dirty, and closing a dirty handle sends a COMMIT, which makes the server flush the whole
 * file to disk then. A copy asks for that only when it must be durable (nfs_stream_commit).
 */
static int data_queue(struct nfs_stream *s, struct request *req)
{
    int r;
    const struct nfs_fh *fh = req->is_read ? NULL : raw_fh(req->file);
    if (req->is_read) {
        r = nfs_pread_async(s->nfs, req->file, req->offset, req->len, data_callback, req);
    } else if (fh) {
        WRITE3args args = { 0 };
        args.file.data.data_len = (u_int)fh->len;
        args.file.data.data_val = fh->val;
        args.offset = req->offset;
        args.count = (count3)req->len;
        args.stable = UNSTABLE;
        args.data.data_len = (u_int)req->len;
        args.data.data_val = req->buf;
        r = rpc_nfs3_write_async(nfs_get_rpc_context(s->nfs), raw_write_callback, &args, req);
    } else {
        r = nfs_pwrite_async(s->nfs, req->file, req->offset, req->len, req->buf, data_callback, req);
    }
    if (r < 0) {
        set_error(s, "cannot queue a %s: %s", req->is_read ? "read" : "write", nfs_get_error(s->nfs));
        return -EIO;
    }
    if (s->in_flight++ == 0)
        progress(s);
    return 0;
}

static int data_submit(struct nfs_stream *s, struct nfsfh *fh, struct nfs_stream_io *io, uint64_t offset, char *buf,
                       size_t len, bool is_read)
{
    int r = usable(s);
    if (r < 0)
        return r;
    if (!fh)
        return -EBADF;
    for (size_t done = 0; done < len;) {
        while (s->in_flight >= s->max_in_flight) {
            r = drive(s);
            if (r < 0)
                return r;
        }
        struct request *req = request_new(s);
        if (!req)
            return -ENOMEM;
        size_t n = len - done < s->request_size ? len - done : s->request_size;
        req->io = io;
        req->file = fh;
        req->is_read = is_read;
        req->offset = offset + done;
        req->buf = buf + done;
        req->len = n;
        io->pending++;
        r = data_queue(s, req);
        if (r < 0) {
            io->pending--;
            free(req);
            return r;
        }
        done += n;
    }
    return 0;
}

int nfs_stream_pread(struct nfs_stream *s, struct nfs_stream_io *io, uint64_t offset, void *buf, size_t len)
{
    return data_submit(s, s->fh, io, offset, buf, len, true);
}

int nfs_stream_pwrite(struct nfs_stream *s, struct nfs_stream_io *io, uint64_t offset, const void *buf, size_t len)
{
    /* libnfs copies the data into its request: it does not write through buf. */
    return data_submit(s, s->fh, io, offset, (char *)buf, len, false);
}

int nfs_stream_wait(struct nfs_stream *s, struct nfs_stream_io *io)
{
    while (io->pending > 0) {
        int r = drive(s);
        if (r < 0)
            return r;
    }
    /* Requests failed by a lost connection: say so, not how each one failed. */
    return io->status < 0 && s->broken ? -ECONNRESET : io->status;
}

static int wait_all(struct nfs_stream *s)
{
    while (s->in_flight > 0) {
        int r = drive(s);
        if (r < 0)
            return r;
    }
    return 0;
}

int nfs_stream_truncate(struct nfs_stream *s, uint64_t size)
{
    int r = wait_all(s);
    if (r < 0)
        return r;
    if (!s->fh)
        return -EBADF;
    return CONTROL(s, nfs_ftruncate_async(s->nfs, s->fh, size, control_callback, _r));
}

int nfs_stream_commit(struct nfs_stream *s)
{
    int r = wait_all(s);
    if (r < 0)
        return r;
    if (!s->fh)
        return -EBADF;
    return CONTROL(s, nfs_fsync_async(s->nfs, s->fh, control_callback, _r));
}
