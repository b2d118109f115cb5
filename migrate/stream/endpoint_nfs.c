/*
 * nfs://server/export/path at either end, through storage's nfs_stream (libnfs, NFSv3,
 * several requests in flight, deadlines). A source has no hole map over NFSv3, so it is read
 * whole and its zero blocks are found in memory. A destination is NAME.ferry-partial on the
 * server: only data runs are written (a hole in an NFS file stays a hole on the server's
 * file system), and the size is set at the end.
 */
#include "stream_internal.h"

#include "cleanup.h"
#include "nfs_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct nfs_endpoint {
    struct endpoint ep;
    struct nfs_stream *s;
    char *final, *partial, *manifest, *dir;
};

#define NFS_EP(e) ((struct nfs_endpoint *)(e))

/* nfs://server/path for messages (static buffer per call site is not needed: callers free). */
static char *url(const struct endpoint *e, const char *path)
{
    char *u = NULL;
    if (asprintf(&u, "nfs://%s%s", e->spec.host, path) < 0)
        return NULL;
    return u;
}

static int connect_stream(struct endpoint *e)
{
    struct nfs_endpoint *n = NFS_EP(e);
    _cleanup_free_ char *why = NULL;
    struct nfs_stream_options options = { .timeout_ms = e->io_timeout_ms };
    /* Knobs for measurements (tests/bench/bench-copy): requests in flight, request size. */
    const char *in_flight = getenv("FERRY_NFS_IN_FLIGHT"), *request = getenv("FERRY_NFS_REQUEST");
    if (in_flight)
        options.max_in_flight = (unsigned)strtoul(in_flight, NULL, 10);
    if (request)
        options.request_size = strtoul(request, NULL, 10);
    int r = nfs_stream_connect(e->spec.host, e->spec.path, &options, &n->s, &why);
    if (r < 0)
        return endpoint_fail(e, r, "%s %s: %s", e->role, e->label, why ? why : strerror(-r));
    return 0;
}

/* A message for a failed call on path: the server's words, and what to do. */
static int nfs_fail(struct endpoint *e, int r, const char *what, const char *path)
{
    struct nfs_endpoint *n = NFS_EP(e);
    _cleanup_free_ char *u = url(e, path);
    if (r == -ETIMEDOUT || r == -ECONNRESET || r == -ENOTCONN)
        return endpoint_fail(e, r, "NFS server %s stopped answering while %s %s (%s); run the copy again when it "
                                   "is back: it resumes", e->spec.host, what, u ? u : path, nfs_stream_last_error(n->s));
    if (r == -ENOSPC || r == -EDQUOT)
        return endpoint_fail(e, r, "no space left on %s:%s while %s %s; free some space and run the copy again: "
                                   "it resumes", e->spec.host, nfs_stream_export(n->s), what, u ? u : path);
    return endpoint_fail(e, r, "%s %s: %s", what, u ? u : path, nfs_stream_last_error(n->s));
}

static int nfs_source_open(struct endpoint *e, struct source_info *info)
{
    struct nfs_endpoint *n = NFS_EP(e);
    struct nfs_stream_stat st;
    int r = connect_stream(e);
    if (r < 0)
        return r;
    r = nfs_stream_stat(n->s, e->spec.path, &st);
    if (r == -ENOENT)
        return endpoint_fail(e, r, "source %s does not exist; check the path", e->label);
    if (r < 0)
        return nfs_fail(e, r, "looking up", e->spec.path);
    if (!S_ISREG(st.mode))
        return endpoint_fail(e, -EINVAL, "source %s is not a regular file; ferry copies disk image files", e->label);
    r = nfs_stream_open(n->s, e->spec.path, O_RDONLY, 0);
    if (r < 0)
        return nfs_fail(e, r, "opening", e->spec.path);
    info->size = st.size;
    info->mtime_ns = st.mtime_ns;
    info->mode = st.mode & 07777;
    info->local_fd = -1;
    return 0;
}

static struct nfs_stream_io *slot_io(void **p)
{
    if (!*p)
        *p = calloc(1, sizeof(struct nfs_stream_io));
    return *p;
}

static int nfs_read_submit(struct endpoint *e, struct slot *slot, uint64_t offset, char *buf, size_t len)
{
    struct nfs_stream_io *io = slot_io(&slot->read_io);
    if (!io)
        return -ENOMEM;
    int r = nfs_stream_pread(NFS_EP(e)->s, io, offset, buf, len);
    return r < 0 ? nfs_fail(e, r, "reading", e->spec.path) : 0;
}

static int nfs_read_wait(struct endpoint *e, struct slot *slot)
{
    struct nfs_stream_io *io = slot_io(&slot->read_io);
    if (!io)
        return -ENOMEM;
    int r = nfs_stream_wait(NFS_EP(e)->s, io);
    io->status = 0;
    return r < 0 ? nfs_fail(e, r, "reading", e->spec.path) : 0;
}

/* ---- destination ------------------------------------------------------------------------------ */

static int nfs_dest_probe(struct endpoint *e, struct dest_state *dst)
{
    struct nfs_endpoint *n = NFS_EP(e);
    struct nfs_stream_stat st;
    const char *path = e->spec.path;
    const char *slash = strrchr(path, '/');
    n->final = strdup(path);
    n->dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
    if (!n->final || !n->dir || asprintf(&n->partial, "%s" STREAM_PARTIAL_SUFFIX, path) < 0 ||
        asprintf(&n->manifest, "%s" STREAM_MANIFEST_SUFFIX, path) < 0)
        return -ENOMEM;
    int r = connect_stream(e);
    if (r < 0)
        return r;
    r = nfs_stream_stat(n->s, n->dir, &st);
    if (r == -ENOENT) {
        _cleanup_free_ char *u = url(e, n->dir);
        return endpoint_fail(e, r, "destination directory %s does not exist; create it first", u ? u : n->dir);
    }
    if (r < 0)
        return nfs_fail(e, r, "looking up", n->dir);
    if (!S_ISDIR(st.mode))
        return endpoint_fail(e, -ENOTDIR, "destination %s: its directory is not a directory", e->label);
    r = nfs_stream_stat(n->s, path, &st);
    if (r == 0 && S_ISDIR(st.mode))
        return endpoint_fail(e, -EISDIR, "destination %s is a directory; name the file to create", e->label);
    if (r < 0 && r != -ENOENT)
        return nfs_fail(e, r, "looking up", path);
    dst->final_exists = r == 0;
    r = nfs_stream_stat(n->s, n->partial, &st);
    if (r < 0 && r != -ENOENT)
        return nfs_fail(e, r, "looking up", n->partial);
    dst->partial_exists = r == 0;
    dst->partial_size = r == 0 ? st.size : 0;
    char *text = calloc(1, 65537);
    size_t len = 0;
    if (!text)
        return -ENOMEM;
    r = nfs_stream_read_small(n->s, n->manifest, text, 65536, &len);
    if (r < 0) {
        free(text);
        return r == -ENOENT ? 0 : nfs_fail(e, r, "reading", n->manifest);
    }
    dst->manifest_text = text;
    return 0;
}

static int nfs_dest_start(struct endpoint *e, bool fresh, uint64_t offset, uint64_t size, uint32_t mode)
{
    struct nfs_endpoint *n = NFS_EP(e);
    (void)size;
    int r = nfs_stream_open(n->s, n->partial, fresh ? O_WRONLY | O_CREAT | O_TRUNC : O_WRONLY,
                            mode ? (int)(mode & 0777) : 0644);
    if (r < 0)
        return nfs_fail(e, r, "creating", n->partial);
    if (!fresh && (r = nfs_stream_truncate(n->s, offset)) < 0)
        return nfs_fail(e, r, "cutting back", n->partial);
    return 0;
}

static int nfs_write_manifest(struct endpoint *e, const char *text)
{
    struct nfs_endpoint *n = NFS_EP(e);
    int r = nfs_stream_write_small(n->s, n->manifest, text, strlen(text), false);
    return r < 0 ? nfs_fail(e, r, "writing", n->manifest) : 0;
}

static int nfs_write_submit(struct endpoint *e, struct slot *slot)
{
    struct nfs_endpoint *n = NFS_EP(e);
    struct nfs_stream_io *io = slot_io(&slot->write_io);
    if (!io)
        return -ENOMEM;
    for (unsigned i = 0; i < slot->nruns; i++) {
        const struct run *run = &slot->runs[i];
        int r = nfs_stream_pwrite(n->s, io, slot->offset + run->start, slot->buf + run->start, run->len);
        if (r < 0)
            return nfs_fail(e, r, "writing", n->partial);
    }
    return 0;
}

static int nfs_write_wait(struct endpoint *e, struct slot *slot)
{
    struct nfs_stream_io *io = slot_io(&slot->write_io);
    if (!io)
        return -ENOMEM;
    int r = nfs_stream_wait(NFS_EP(e)->s, io);
    io->status = 0;
    return r < 0 ? nfs_fail(e, r, "writing", NFS_EP(e)->partial) : 0;
}

static int nfs_flush(struct endpoint *e)
{
    struct nfs_endpoint *n = NFS_EP(e);
    int r = nfs_stream_commit(n->s);
    return r < 0 ? nfs_fail(e, r, "committing", n->partial) : 0;
}

static int nfs_dest_finish(struct endpoint *e, uint64_t size, bool durable)
{
    struct nfs_endpoint *n = NFS_EP(e);
    int r = nfs_stream_truncate(n->s, size);
    if (r == 0 && durable)
        r = nfs_stream_commit(n->s);
    if (r == 0)
        r = nfs_stream_close(n->s);
    return r < 0 ? nfs_fail(e, r, "finishing", n->partial) : 0;
}

static int nfs_dest_read_back(struct endpoint *e, uint64_t size, struct checksum *c, const atomic_bool *cancel)
{
    struct nfs_endpoint *n = NFS_EP(e);
    _cleanup_free_ char *buf = malloc(e->chunk_size);
    struct nfs_stream_io io = { 0 };
    if (!buf)
        return -ENOMEM;
    int r = nfs_stream_open(n->s, n->partial, O_RDONLY, 0);
    if (r < 0)
        return nfs_fail(e, r, "reading back", n->partial);
    for (uint64_t pos = 0; pos < size;) {
        if (cancel && atomic_load(cancel))
            return -ECANCELED;
        size_t len = size - pos < e->chunk_size ? (size_t)(size - pos) : e->chunk_size;
        r = nfs_stream_pread(n->s, &io, pos, buf, len);
        if (r == 0)
            r = nfs_stream_wait(n->s, &io);
        if (r < 0)
            return nfs_fail(e, r, "reading back", n->partial);
        checksum_update(c, buf, len);
        pos += len;
    }
    r = nfs_stream_close(n->s);
    return r < 0 ? nfs_fail(e, r, "reading back", n->partial) : 0;
}

static int nfs_dest_commit(struct endpoint *e, bool replace)
{
    struct nfs_endpoint *n = NFS_EP(e);
    struct nfs_stream_stat st;
    /* NFSv3 RENAME replaces silently: look first. */
    if (!replace && nfs_stream_stat(n->s, n->final, &st) == 0)
        return endpoint_fail(e, -EEXIST, "destination %s appeared during the copy; the copy is kept as %s%s "
                                         "(rerun with --force to replace)", e->label, e->label, STREAM_PARTIAL_SUFFIX);
    int r = nfs_stream_rename(n->s, n->partial, n->final);
    if (r < 0)
        return nfs_fail(e, r, "renaming", n->partial);
    nfs_stream_unlink(n->s, n->manifest);
    return 0;
}

static int nfs_dest_discard(struct endpoint *e)
{
    struct nfs_endpoint *n = NFS_EP(e);
    _cleanup_free_ char *tmp = NULL;
    nfs_stream_close(n->s);
    int r = nfs_stream_unlink(n->s, n->partial);
    if (r < 0 && r != -ENOENT)
        return nfs_fail(e, r, "removing", n->partial);
    if (asprintf(&tmp, "%s.tmp", n->manifest) >= 0)
        nfs_stream_unlink(n->s, tmp);
    r = nfs_stream_unlink(n->s, n->manifest);
    if (r < 0 && r != -ENOENT)
        return nfs_fail(e, r, "removing", n->manifest);
    return 0;
}

static void nfs_close(struct endpoint *e)
{
    struct nfs_endpoint *n = NFS_EP(e);
    nfs_stream_free(n->s);
    free(n->final);
    free(n->partial);
    free(n->manifest);
    free(n->dir);
}

static const struct endpoint_ops nfs_ops = {
    .source_open = nfs_source_open,
    .read_submit = nfs_read_submit,
    .read_wait = nfs_read_wait,
    .dest_probe = nfs_dest_probe,
    .dest_start = nfs_dest_start,
    .write_manifest = nfs_write_manifest,
    .write_submit = nfs_write_submit,
    .write_wait = nfs_write_wait,
    .flush = nfs_flush,
    .dest_finish = nfs_dest_finish,
    .dest_read_back = nfs_dest_read_back,
    .dest_commit = nfs_dest_commit,
    .dest_discard = nfs_dest_discard,
    .close = nfs_close,
};

int endpoint_nfs_new(struct endpoint **ep)
{
    struct nfs_endpoint *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->ep.ops = &nfs_ops;
    *ep = &n->ep;
    return 0;
}
