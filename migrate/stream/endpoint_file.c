/*
 * A local file at either end. The source's data extents come from SEEK_DATA/SEEK_HOLE, so
 * holes are never read. The destination is NAME.ferry-partial beside NAME, written with
 * pwrite (only the data runs: everything else stays a hole) and renamed into place at the end.
 */
#include "stream_internal.h"

#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes go to the page cache in pieces of this size: larger ones (1 MiB and up) were
 * measured two to three times slower and erratic on ext4 (large folios), smaller ones no
 * faster. */
enum { WRITE_PIECE = 256 << 10 };

struct file_endpoint {
    struct endpoint ep;
    int fd;
    uint64_t size;
    /* source: the last extent found, for the query at `query` */
    bool have_extent;
    uint64_t query, data, end;
    /* destination */
    char *dir, *final, *partial, *manifest;
    bool copy_range;
    bool durable;
};

#define FILE_EP(e) ((struct file_endpoint *)(e))

static int file_source_open(struct endpoint *e, struct source_info *info)
{
    struct file_endpoint *f = FILE_EP(e);
    const char *path = e->spec.path;
    struct stat st;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        int err = -errno;
        if (err == -ENOENT)
            return endpoint_fail(e, err, "source %s does not exist; check the path", path);
        return endpoint_fail(e, err, "cannot open source %s: %s", path, strerror(-err));
    }
    if (fstat(f->fd, &st) < 0)
        return endpoint_fail(e, -errno, "cannot stat source %s: %m", path);
    if (!S_ISREG(st.st_mode))
        return endpoint_fail(e, -EINVAL, "source %s is not a regular file; ferry copies disk image files", path);
    posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    f->size = (uint64_t)st.st_size;
    info->size = f->size;
    info->mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
    info->mode = st.st_mode & 07777;
    info->local_fd = f->fd;
    return 0;
}

static int file_next_extent(struct endpoint *e, uint64_t offset, uint64_t *data, uint64_t *end)
{
    struct file_endpoint *f = FILE_EP(e);
    if (f->have_extent && offset >= f->query && offset < f->end) {
        *data = offset > f->data ? offset : f->data;
        *end = f->end;
        return 0;
    }
    off_t d = lseek(f->fd, (off_t)offset, SEEK_DATA);
    if (d < 0) {
        if (errno != ENXIO)
            return endpoint_fail(e, -errno, "cannot find the data of source %s: %m", e->spec.path);
        /* only a hole is left */
        f->have_extent = true;
        f->query = offset;
        f->data = f->end = f->size;
        *data = *end = f->size;
        return 0;
    }
    off_t h = lseek(f->fd, d, SEEK_HOLE);
    if (h < 0)
        return endpoint_fail(e, -errno, "cannot find the holes of source %s: %m", e->spec.path);
    f->have_extent = true;
    f->query = offset;
    f->data = (uint64_t)d < f->size ? (uint64_t)d : f->size;
    f->end = (uint64_t)h < f->size ? (uint64_t)h : f->size;
    *data = f->data;
    *end = f->end;
    return 0;
}

static int read_fully(int fd, char *buf, size_t len, uint64_t offset)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, buf + done, len - done, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -ENODATA;
        done += (size_t)n;
    }
    return 0;
}

static int file_read_submit(struct endpoint *e, struct slot *slot, uint64_t offset, char *buf, size_t len)
{
    (void)slot;
    int r = read_fully(FILE_EP(e)->fd, buf, len, offset);
    if (r == -ENODATA)
        return endpoint_fail(e, -EIO, "source %s became shorter while it was copied; copy it again when nothing "
                                      "writes to it", e->spec.path);
    if (r < 0)
        return endpoint_fail(e, r, "cannot read source %s at offset %llu: %s", e->spec.path,
                             (unsigned long long)offset, strerror(-r));
    return 0;
}

static int file_read_wait(struct endpoint *e, struct slot *slot)
{
    (void)e;
    (void)slot;
    return 0;
}

/* ---- destination ------------------------------------------------------------------------------ */

static int set_names(struct file_endpoint *f)
{
    _cleanup_free_ char *copy = strdup(f->ep.spec.path);
    if (!copy)
        return -ENOMEM;
    f->final = strdup(f->ep.spec.path);
    f->dir = strdup(dirname(copy));
    if (!f->final || !f->dir || asprintf(&f->partial, "%s" STREAM_PARTIAL_SUFFIX, f->final) < 0 ||
        asprintf(&f->manifest, "%s" STREAM_MANIFEST_SUFFIX, f->final) < 0)
        return -ENOMEM;
    return 0;
}

static int read_small_file(const char *path, char **text)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char *buf = calloc(1, 65537);
    if (!buf)
        return -ENOMEM;
    ssize_t n = read(fd, buf, 65536);
    if (n < 0) {
        free(buf);
        return -errno;
    }
    *text = buf;
    return 0;
}

static int file_dest_probe(struct endpoint *e, struct dest_state *st)
{
    struct file_endpoint *f = FILE_EP(e);
    struct stat s;
    int r = set_names(f);
    if (r < 0)
        return r;
    if (stat(f->dir, &s) < 0) {
        if (errno == ENOENT)
            return endpoint_fail(e, -ENOENT, "destination directory %s does not exist; create it first", f->dir);
        return endpoint_fail(e, -errno, "cannot reach destination directory %s: %m", f->dir);
    }
    if (!S_ISDIR(s.st_mode))
        return endpoint_fail(e, -ENOTDIR, "destination %s: %s is not a directory", f->final, f->dir);
    if (access(f->dir, W_OK) < 0)
        return endpoint_fail(e, -errno, "cannot write in destination directory %s: %m", f->dir);
    if (lstat(f->final, &s) == 0) {
        if (S_ISDIR(s.st_mode))
            return endpoint_fail(e, -EISDIR, "destination %s is a directory; name the file to create", f->final);
        st->final_exists = true;
    }
    if (stat(f->partial, &s) == 0) {
        st->partial_exists = true;
        st->partial_size = (uint64_t)s.st_size;
    }
    r = read_small_file(f->manifest, &st->manifest_text);
    if (r < 0 && r != -ENOENT)
        return endpoint_fail(e, r, "cannot read %s: %s", f->manifest, strerror(-r));
    return 0;
}

static int file_dest_start(struct endpoint *e, bool fresh, uint64_t offset, uint64_t size, uint32_t mode)
{
    struct file_endpoint *f = FILE_EP(e);
    (void)size;
    f->fd = open(f->partial, O_WRONLY | O_CLOEXEC | (fresh ? O_CREAT | O_TRUNC : 0), mode ? mode & 0777 : 0644);
    if (f->fd < 0)
        return endpoint_fail(e, -errno, "cannot create %s: %m", f->partial);
    /* Whatever lies past the checkpoint was written after it: cut it off, so that what
     * follows lands in holes. */
    if (!fresh && ftruncate(f->fd, (off_t)offset) < 0)
        return endpoint_fail(e, -errno, "cannot cut %s back to %llu bytes: %m", f->partial, (unsigned long long)offset);
    /* copy_file_range when the source is a local file too (see write_run()). */
    const char *env = getenv("FERRY_STREAM_COPY_FILE_RANGE");
    f->copy_range = e->peer_fd >= 0 && env && !strcmp(env, "1");
    return 0;
}

/*
 * The manifest is rewritten in place: its blocks are already allocated, so a checkpoint can
 * still be written when the file system is full (ENOSPC is when it matters most). A torn
 * write leaves a manifest that does not parse, and the next run starts over: never wrong.
 */
static int file_write_manifest(struct endpoint *e, const char *text)
{
    struct file_endpoint *f = FILE_EP(e);
    _cleanup_close_ int fd = open(f->manifest, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return endpoint_fail(e, -errno, "cannot write %s: %m", f->manifest);
    size_t len = strlen(text);
    ssize_t n = pwrite(fd, text, len, 0);
    if (n != (ssize_t)len || ftruncate(fd, (off_t)len) < 0) {
        int err = n < 0 ? -errno : -ENOSPC;
        return endpoint_fail(e, err, "cannot write %s: %s", f->manifest, strerror(-err));
    }
    return 0;
}

/*
 * One data run. Measured by hand (1 GiB dense, 4 GiB sparse, ext4): pread into the ring (needed for the checksum)
 * then pwrite from it beats a second in-kernel copy with copy_file_range on ext4, which has
 * no reflinks; FERRY_STREAM_COPY_FILE_RANGE=1 switches to copy_file_range for comparison.
 */
static int write_run(struct file_endpoint *f, const char *buf, uint64_t offset, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n;
        if (f->copy_range) {
            loff_t in = (loff_t)(offset + done), out = in;
            n = copy_file_range(f->ep.peer_fd, &in, f->fd, &out, len - done, 0);
            if (n == 0)
                return -ENODATA;
        } else {
            n = pwrite(f->fd, buf + done, len - done < WRITE_PIECE ? len - done : WRITE_PIECE, (off_t)(offset + done));
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)n;
    }
    return 0;
}

static int file_write_submit(struct endpoint *e, struct slot *slot)
{
    struct file_endpoint *f = FILE_EP(e);
    for (unsigned i = 0; i < slot->nruns; i++) {
        const struct run *run = &slot->runs[i];
        int r = write_run(f, slot->buf + run->start, slot->offset + run->start, run->len);
        if (r == -ENOSPC || r == -EDQUOT)
            return slot->status = endpoint_fail(e, r, "no space left for %s in %s (at %llu bytes); free some space "
                                                      "and run the copy again: it resumes", f->final, f->dir,
                                                (unsigned long long)(slot->offset + run->start));
        if (r < 0)
            return slot->status = endpoint_fail(e, r, "cannot write %s at offset %llu: %s", f->partial,
                                                (unsigned long long)(slot->offset + run->start), strerror(-r));
    }
    return 0;
}

static int file_write_wait(struct endpoint *e, struct slot *slot)
{
    (void)e;
    return slot->status;
}

static int file_flush(struct endpoint *e)
{
    struct file_endpoint *f = FILE_EP(e);
    if (fdatasync(f->fd) < 0)
        return endpoint_fail(e, -errno, "cannot flush %s to disk: %m", f->partial);
    return 0;
}

static int file_dest_finish(struct endpoint *e, uint64_t size, bool durable)
{
    struct file_endpoint *f = FILE_EP(e);
    f->durable = durable;
    if (ftruncate(f->fd, (off_t)size) < 0) {
        int err = -errno;
        return endpoint_fail(e, err, "cannot set the size of %s: %s%s", f->partial, strerror(-err),
                             err == -ENOSPC ? "; free some space and run the copy again" : "");
    }
    int r = durable ? file_flush(e) : 0;
    if (r < 0)
        return r;
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) < 0)
        return endpoint_fail(e, -errno, "cannot write %s: %m", f->partial);
    return 0;
}

static int file_dest_read_back(struct endpoint *e, uint64_t size, struct checksum *c, const atomic_bool *cancel)
{
    struct file_endpoint *f = FILE_EP(e);
    _cleanup_close_ int fd = open(f->partial, O_RDONLY | O_CLOEXEC);
    _cleanup_free_ char *buf = malloc(e->chunk_size);
    if (fd < 0)
        return endpoint_fail(e, -errno, "cannot read back %s: %m", f->partial);
    if (!buf)
        return -ENOMEM;
    uint64_t pos = 0;
    while (pos < size) {
        if (cancel && atomic_load(cancel))
            return -ECANCELED;
        off_t d = lseek(fd, (off_t)pos, SEEK_DATA);
        uint64_t data = d < 0 ? size : (uint64_t)d;
        if (data > size)
            data = size;
        checksum_update_zeros(c, data - pos);
        pos = data;
        if (pos >= size)
            break;
        off_t h = lseek(fd, (off_t)pos, SEEK_HOLE);
        uint64_t end = h < 0 || (uint64_t)h > size ? size : (uint64_t)h;
        while (pos < end) {
            size_t n = end - pos < e->chunk_size ? (size_t)(end - pos) : e->chunk_size;
            int r = read_fully(fd, buf, n, pos);
            if (r < 0)
                return endpoint_fail(e, r == -ENODATA ? -EIO : r, "cannot read back %s at offset %llu", f->partial,
                                     (unsigned long long)pos);
            checksum_update(c, buf, n);
            pos += n;
        }
    }
    return 0;
}

static int file_dest_commit(struct endpoint *e, bool replace)
{
    struct file_endpoint *f = FILE_EP(e);
    /* Without replace, never over a file that appeared while we copied. */
    if (renameat2(AT_FDCWD, f->partial, AT_FDCWD, f->final, replace ? 0 : RENAME_NOREPLACE) < 0) {
        int err = -errno;
        if (err == -EEXIST)
            return endpoint_fail(e, err, "destination %s appeared during the copy; the copy is kept as %s "
                                         "(rerun with --force to replace)", f->final, f->partial);
        return endpoint_fail(e, err, "cannot rename %s to %s: %s", f->partial, f->final, strerror(-err));
    }
    unlink(f->manifest);
    if (f->durable) {
        _cleanup_close_ int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
            fsync(dfd);
    }
    return 0;
}

static int file_dest_discard(struct endpoint *e)
{
    struct file_endpoint *f = FILE_EP(e);
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    if (unlink(f->partial) < 0 && errno != ENOENT)
        return endpoint_fail(e, -errno, "cannot remove %s: %m", f->partial);
    if (unlink(f->manifest) < 0 && errno != ENOENT)
        return endpoint_fail(e, -errno, "cannot remove %s: %m", f->manifest);
    return 0;
}

static void file_close(struct endpoint *e)
{
    struct file_endpoint *f = FILE_EP(e);
    if (f->fd >= 0)
        close(f->fd);
    free(f->dir);
    free(f->final);
    free(f->partial);
    free(f->manifest);
}

static const struct endpoint_ops file_ops = {
    .source_open = file_source_open,
    .next_extent = file_next_extent,
    .read_submit = file_read_submit,
    .read_wait = file_read_wait,
    .dest_probe = file_dest_probe,
    .dest_start = file_dest_start,
    .write_manifest = file_write_manifest,
    .write_submit = file_write_submit,
    .write_wait = file_write_wait,
    .flush = file_flush,
    .dest_finish = file_dest_finish,
    .dest_read_back = file_dest_read_back,
    .dest_commit = file_dest_commit,
    .dest_discard = file_dest_discard,
    .close = file_close,
};

int endpoint_file_new(struct endpoint **ep)
{
    struct file_endpoint *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->fd = -1;
    f->ep.ops = &file_ops;
    *ep = &f->ep;
    return 0;
}
