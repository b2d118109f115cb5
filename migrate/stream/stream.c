/*
 * The streamer's pipeline. A reader thread walks the source chunk by chunk (4 MiB): it reads
 * only the source's data extents (SEEK_DATA locally; everything over NFS), finds the 64 KiB
 * blocks that are all zeros, hashes every byte in order (holes as zeros) while it is still
 * in the cache, and hands each chunk to the writer through a small ring (8 chunks: memory
 * stays bounded whatever the size; a chunk of hole with more hole after it stands for up to
 * 256 chunks). The writer (the calling thread) does the destination's I/O alone: it writes
 * only the data runs of each chunk, several chunks in flight where the destination is
 * asynchronous (NFS), and releases chunks in order.
 *
 * Partial copies: data goes to NAME.ferry-partial, and about once a second the manifest
 * NAME.ferry-partial.manifest records how far every chunk is written and the checksum state
 * there. The manifest never claims more than is written, so a copy killed at any point
 * resumes from its last checkpoint (the data file is cut back to it). When the checksum
 * state cannot be used (another xxhash, or a libvirt destination, which is not checkpointed
 * mid-stream), the resumed prefix is re-read from the source to rebuild it, not re-sent.
 *
 * libvirt cannot rename a volume, so there the data goes under NAME itself while the
 * manifest volume NAME.ferry-partial.manifest marks it unfinished; it is removed last.
 */
#include "stream_internal.h"

#include "cleanup.h"
#include "clock.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <sys/mman.h>
#include <strings.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    RING_SLOTS = 8,
    PIECE = 256 << 10,       /* a local source is read in pieces of this size */
    ZERO_BLOCK = 64 << 10,   /* granularity of all-zero detection */
    HOLE_CHUNKS = 256,       /* at most this many chunks of hole in one slot */
    CHECKPOINT_MS = 1000,    /* manifest update interval */
    PROGRESS_MS = 200,
};

int endpoint_fail(struct endpoint *ep, int err, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    int saved = errno;
    errno = -err; /* for %m */
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    errno = saved;
    free(ep->error);
    ep->error = msg;
    return err;
}

/* ---- the copy's shared state ---------------------------------------------------------------- */

struct copy {
    const struct stream_request *req;
    struct endpoint *src, *dst;
    struct source_info info;
    uint32_t chunk;
    uint64_t size;

    /* ring */
    struct slot slots[RING_SLOTS];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t filled;   /* slots published by the reader */
    uint64_t released; /* slots the writer is done with */
    bool reader_done, stop;
    int reader_error;

    /* reader */
    uint64_t read_from;  /* where reading (and hashing) starts */
    uint64_t skip_until; /* below this: hashed, not written (resumed prefix) */
    struct checksum hash;
    bool head_wanted;    /* the reader finds the source's head in the first chunk... */
    char head[33];       /* ...and puts it here before it publishes that chunk */

    /* writer */
    uint64_t done;        /* every byte below is written */
    uint64_t data_total;  /* data bytes below done */
    struct checksum state_done; /* checksum at done */
    bool manifest_pending; /* the first manifest waits for the source's head (head_wanted) */
    uint64_t checkpointed; /* done as the manifest last said */
    uint64_t run_data;     /* data written by this run */
    uint64_t start_done;   /* done when this run started */
    uint64_t resume_at;    /* the checkpoint resumed from */
    uint64_t t0_ms, last_checkpoint_ms, last_progress_ms;
    uint64_t checkpoint_ms;
    struct manifest manifest;
};

static bool cancelled(const struct copy *cp)
{
    return cp->req->cancel && atomic_load(cp->req->cancel);
}

/* ---- reader --------------------------------------------------------------------------------- */

/*
 * A slot that is all hole grows over the whole chunks of hole after it (up to HOLE_CHUNKS):
 * the reader does not stop at every chunk of a large hole, and the writer gets one slot to
 * pass instead of hundreds. It ends on a chunk boundary (or at the end of the file), where
 * a checkpoint may fall, and never across the end of a resumed prefix.
 */
static void coalesce_hole(struct copy *cp, struct slot *slot)
{
    uint64_t d = cp->size, e = cp->size, end = slot->offset + slot->len;
    if (end >= cp->size || cp->src->ops->next_extent(cp->src, end, &d, &e) < 0)
        return; /* a failure shows again at the next slot */
    uint64_t limit = d >= cp->size ? cp->size : d / cp->chunk * cp->chunk;
    uint64_t max = slot->offset + (uint64_t)HOLE_CHUNKS * cp->chunk;
    if (limit > max)
        limit = max;
    if (slot->offset < cp->skip_until && limit > cp->skip_until)
        limit = cp->skip_until;
    if (limit > end)
        slot->len = limit - slot->offset;
    slot->skip = slot->offset + slot->len <= cp->skip_until;
}

/* Finds the data extents of one slot, as the source knows them; an asynchronous source
 * (NFS) starts reading them now, a local one is read piece by piece in reader_process(). */
static int reader_submit(struct copy *cp, struct slot *slot)
{
    uint64_t pos = slot->offset, end = slot->offset + slot->len;
    unsigned max = cp->chunk / 4096 + 2, n = 0;
    struct run *ext = slot->extents;
    slot->nruns = 0;
    slot->nextents = 0;
    slot->status = 0;
    slot->data_bytes = 0;
    slot->skip = slot->offset + slot->len <= cp->skip_until;
    while (pos < end) {
        uint64_t d = pos, e = end;
        if (cp->src->ops->next_extent) {
            int r = cp->src->ops->next_extent(cp->src, pos, &d, &e);
            if (r < 0)
                return r;
        }
        if (d >= end)
            break;
        if (e > end)
            e = end;
        if (n == max) { /* cannot happen with 4 KiB blocks; merge rather than overflow */
            n--;
            d = slot->offset + ext[n].start;
        }
        ext[n].start = (uint32_t)(d - slot->offset);
        ext[n].len = (uint32_t)(e - d);
        n++;
        pos = e;
    }
    slot->nextents = n;
    if (n == 0 && cp->src->ops->next_extent)
        coalesce_hole(cp, slot);
    if (cp->src->ops->next_extent)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        int r = cp->src->ops->read_submit(cp->src, slot, slot->offset + ext[i].start, slot->buf + ext[i].start,
                                          ext[i].len);
        if (r < 0)
            return r;
    }
    return 0;
}

static void add_run(struct slot *slot, uint32_t start, uint32_t len)
{
    if (slot->nruns > 0) {
        struct run *last = &slot->runs[slot->nruns - 1];
        if (last->start + last->len == start) {
            last->len += len;
            return;
        }
    }
    slot->runs[slot->nruns].start = start;
    slot->runs[slot->nruns].len = len;
    slot->nruns++;
}

/* Adds the blocks of [start, start+len) of the slot that are not all zeros to its runs;
 * blocks are aligned on the file's 64 KiB boundaries. */
static void find_data_runs(struct slot *slot, uint32_t start, uint32_t len)
{
    uint64_t abs = slot->offset + start, abs_end = abs + len;
    while (abs < abs_end) {
        uint64_t next = (abs / ZERO_BLOCK + 1) * ZERO_BLOCK;
        if (next > abs_end)
            next = abs_end;
        uint32_t s = (uint32_t)(abs - slot->offset), n = (uint32_t)(next - abs);
        if (!buffer_is_zero(slot->buf + s, n)) {
            add_run(slot, s, n);
            slot->data_bytes += n;
        }
        abs = next;
    }
}

/* The source's head (see source_head()) from the first slot: its first chunk, holes as zeros. */
static void slot_head(struct copy *cp, const struct slot *slot)
{
    struct checksum c;
    uint64_t n = cp->size < cp->chunk ? cp->size : cp->chunk, pos = 0;
    checksum_reset(&c);
    for (unsigned i = 0; i < slot->nextents && slot->extents[i].start < n; i++) {
        uint64_t start = slot->extents[i].start, end = start + slot->extents[i].len;
        if (end > n)
            end = n;
        checksum_update_zeros(&c, start - pos);
        checksum_update(&c, slot->buf + start, (size_t)(end - start));
        pos = end;
    }
    checksum_update_zeros(&c, n - pos);
    checksum_hex(&c, cp->head);
}

/*
 * Reads what is left to read of a slot, finds its data runs and hashes it, piece by piece
 * (PIECE bytes): each piece is checked for zeros and hashed while it is still in this core's
 * cache, and the zeros between extents are hashed in order. The writer thread is left with
 * the destination's I/O alone. A local source is read here piece by piece (an asynchronous
 * one has been read into the slot already).
 */
static int reader_process(struct copy *cp, struct slot *slot)
{
    const struct run *ext = slot->extents;
    bool sync = cp->src->ops->next_extent != NULL;
    uint64_t hashed = 0; /* relative to the slot */
    for (unsigned i = 0; i < slot->nextents; i++) {
        checksum_update_zeros(&cp->hash, ext[i].start - hashed);
        uint32_t done = 0;
        while (done < ext[i].len) {
            uint32_t start = ext[i].start + done;
            uint32_t n = ext[i].len - done;
            if (n > PIECE)
                n = PIECE - (uint32_t)((slot->offset + start) % PIECE);
            if (sync) {
                int r = cp->src->ops->read_submit(cp->src, slot, slot->offset + start, slot->buf + start, n);
                if (r < 0)
                    return r;
            }
            find_data_runs(slot, start, n);
            checksum_update(&cp->hash, slot->buf + start, n);
            done += n;
        }
        hashed = ext[i].start + ext[i].len;
    }
    checksum_update_zeros(&cp->hash, slot->len - hashed);
    slot->hash_after = cp->hash;
    if (cp->head_wanted && slot->offset == 0)
        slot_head(cp, slot);
    return 0;
}

static void publish(struct copy *cp)
{
    pthread_mutex_lock(&cp->lock);
    cp->filled++;
    pthread_cond_broadcast(&cp->cond);
    pthread_mutex_unlock(&cp->lock);
}

/* Waits for a free slot; false when told to stop. */
static bool wait_free_slot(struct copy *cp, uint64_t seq)
{
    bool ok;
    pthread_mutex_lock(&cp->lock);
    while (seq >= cp->released + RING_SLOTS && !cp->stop)
        pthread_cond_wait(&cp->cond, &cp->lock);
    ok = !cp->stop;
    pthread_mutex_unlock(&cp->lock);
    return ok;
}

static bool slot_free_now(struct copy *cp, uint64_t seq)
{
    pthread_mutex_lock(&cp->lock);
    bool free_now = seq < cp->released + RING_SLOTS && !cp->stop;
    pthread_mutex_unlock(&cp->lock);
    return free_now;
}

static void *reader_main(void *arg)
{
    struct copy *cp = arg;
    uint64_t pos = cp->read_from, submitted = 0, processed = 0;
    /* Asynchronous sources (NFS) keep several slots' reads in flight. */
    unsigned ahead = cp->src->ops->next_extent ? 1 : 3;
    int r = 0;
    for (;;) {
        while (pos < cp->size && submitted - processed < ahead && !cancelled(cp)) {
            if (submitted > processed ? !slot_free_now(cp, submitted) : !wait_free_slot(cp, submitted))
                break;
            struct slot *slot = &cp->slots[submitted % RING_SLOTS];
            slot->offset = pos;
            slot->len = cp->size - pos < cp->chunk ? (uint32_t)(cp->size - pos) : cp->chunk;
            r = reader_submit(cp, slot);
            if (r < 0)
                goto out;
            submitted++;
            pos += slot->len;
        }
        if (processed == submitted)
            break;
        struct slot *slot = &cp->slots[processed % RING_SLOTS];
        r = cp->src->ops->read_wait(cp->src, slot);
        if (r < 0)
            goto out;
        r = reader_process(cp, slot);
        if (r < 0)
            goto out;
        processed++;
        publish(cp);
    }
    if (cancelled(cp))
        r = -ECANCELED;
out:
    pthread_mutex_lock(&cp->lock);
    cp->reader_done = true;
    cp->reader_error = r;
    pthread_cond_broadcast(&cp->cond);
    pthread_mutex_unlock(&cp->lock);
    return NULL;
}

/* ---- writer ----------------------------------------------------------------------------------- */

static void report_progress(struct copy *cp, bool force)
{
    uint64_t now = clock_monotonic_ms();
    if (!cp->req->progress || (!force && now - cp->last_progress_ms < PROGRESS_MS))
        return;
    cp->last_progress_ms = now;
    struct stream_progress p = {
        .done = cp->done,
        .total = cp->size,
        .data = cp->run_data,
        .seconds = (double)(now - cp->t0_ms) / 1000.0,
    };
    if (p.seconds > 0)
        p.rate = (double)(cp->done - cp->start_done) / p.seconds;
    cp->req->progress(&p, cp->req->progress_arg);
}

/* Writes the manifest as of cp->done. */
static int write_manifest_now(struct copy *cp)
{
    if (!cp->dst->ops->write_manifest)
        return 0;
    _cleanup_free_ char *text = NULL, *state = NULL;
    cp->manifest.done = cp->done;
    cp->manifest.data_bytes = cp->data_total;
    if (checksum_save(&cp->state_done, &state) < 0)
        return -ENOMEM;
    cp->manifest.hash_state = state;
    int r = manifest_format(&cp->manifest, &text);
    cp->manifest.hash_state = NULL;
    if (r < 0)
        return r;
    r = cp->dst->ops->write_manifest(cp->dst, text);
    if (r == 0)
        cp->checkpointed = cp->done;
    cp->last_checkpoint_ms = clock_monotonic_ms();
    return r;
}

/* Writes the manifest if the copy got further since the last one. A durable copy flushes the
 * data first, so that its manifest never claims what a crash of the destination's machine (or
 * of the NFS server's) could still take away: without that, a resume after such a crash would
 * trust lost data, and the checksum, taken from the source, would not tell. */
static int write_checkpoint(struct copy *cp)
{
    if (cp->done <= cp->checkpointed || cp->dst->ops->in_place)
        return 0;
    if (cp->req->durable && cp->dst->ops->flush) {
        int r = cp->dst->ops->flush(cp->dst);
        if (r < 0)
            return r;
    }
    return write_manifest_now(cp);
}

/* Finishes the oldest slot in flight and gives it back to the reader. */
static int complete_oldest(struct copy *cp, uint64_t *oldest)
{
    struct slot *slot = &cp->slots[*oldest % RING_SLOTS];
    int r = slot->skip ? 0 : cp->dst->ops->write_wait(cp->dst, slot);
    if (r < 0)
        return r;
    cp->done = slot->offset + slot->len;
    cp->data_total += slot->data_bytes;
    cp->state_done = slot->hash_after;
    (*oldest)++;
    pthread_mutex_lock(&cp->lock);
    cp->released++;
    pthread_cond_broadcast(&cp->cond);
    pthread_mutex_unlock(&cp->lock);
    return 0;
}

/* Sleeps as long as --bwlimit asks before the next data_bytes are sent. */
static void throttle(struct copy *cp, uint64_t data_bytes)
{
    uint64_t limit = cp->req->bwlimit;
    if (!limit || !data_bytes)
        return;
    for (;;) {
        uint64_t due_ms = cp->t0_ms + (cp->run_data * 1000) / limit;
        uint64_t now = clock_monotonic_ms();
        if (now >= due_ms || cancelled(cp))
            break;
        uint64_t ms = due_ms - now > 100 ? 100 : due_ms - now;
        struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000 };
        nanosleep(&ts, NULL);
        report_progress(cp, false);
    }
    cp->run_data += data_bytes;
}

static void timed_wait(struct copy *cp, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)ms * 1000000;
    ts.tv_sec += ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    pthread_cond_timedwait(&cp->cond, &cp->lock, &ts);
}

/* Moves slots from the reader to the destination until the reader is done, or a failure
 * or a cancel. next: the next slot to write; oldest: the oldest still in flight. */
static int writer_loop(struct copy *cp, uint64_t *next, uint64_t *oldest)
{
    /* Leave the reader room to fill while chunks are in flight. */
    const uint64_t max_in_flight = RING_SLOTS - 2;
    int r = 0;
    for (;;) {
        pthread_mutex_lock(&cp->lock);
        while (*next >= cp->filled && !cp->reader_done && !cancelled(cp)) {
            if (*oldest < *next) {
                /* Nothing new to send: finish what is in flight meanwhile. */
                pthread_mutex_unlock(&cp->lock);
                r = complete_oldest(cp, oldest);
                pthread_mutex_lock(&cp->lock);
                if (r < 0)
                    break;
                continue;
            }
            timed_wait(cp, PROGRESS_MS);
            pthread_mutex_unlock(&cp->lock);
            report_progress(cp, false);
            pthread_mutex_lock(&cp->lock);
        }
        bool more = *next < cp->filled;
        pthread_mutex_unlock(&cp->lock);
        if (r < 0)
            return r;
        if (cancelled(cp))
            return -ECANCELED;
        if (!more)
            break;

        struct slot *slot = &cp->slots[*next % RING_SLOTS];
        if (cp->manifest_pending) {
            /* The manifest exists before any data, so a partial is always recognisable. */
            memcpy(cp->manifest.source_head, cp->head, sizeof(cp->head));
            cp->manifest_pending = false;
            if ((r = write_manifest_now(cp)) < 0)
                return r;
        }
        if (!slot->skip) {
            throttle(cp, slot->data_bytes);
            r = cp->dst->ops->write_submit(cp->dst, slot);
            if (r < 0)
                return r;
        }
        (*next)++;
        while (*next - *oldest > max_in_flight) {
            r = complete_oldest(cp, oldest);
            if (r < 0)
                return r;
        }
        if (clock_monotonic_ms() - cp->last_checkpoint_ms >= cp->checkpoint_ms && (r = write_checkpoint(cp)) < 0)
            return r;
        report_progress(cp, false);
    }
    while (*oldest < *next) {
        r = complete_oldest(cp, oldest);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Runs the writer side. After a failure or a cancel, lets what is in flight land (each
 * success still counts), so that the last checkpoint says as much as is true. */
static int writer_run(struct copy *cp)
{
    uint64_t next = 0, oldest = 0;
    int r = writer_loop(cp, &next, &oldest);
    while (r < 0 && oldest < next && complete_oldest(cp, &oldest) == 0) {
    }
    /* The reader stops at its next slot. */
    pthread_mutex_lock(&cp->lock);
    cp->stop = true;
    pthread_cond_broadcast(&cp->cond);
    pthread_mutex_unlock(&cp->lock);
    return r;
}

/* ---- setting up ------------------------------------------------------------------------------ */

static int endpoint_open(const char *text, const char *role, const struct stream_request *req, uint32_t chunk,
                         struct endpoint **out, char **error)
{
    struct endpoint_spec spec;
    int r = endpoint_spec_parse(text, role, &spec, error);
    if (r < 0)
        return r;
    struct endpoint *ep = NULL;
    switch (spec.kind) {
    case ENDPOINT_FILE: r = endpoint_file_new(&ep); break;
    case ENDPOINT_NFS: r = endpoint_nfs_new(&ep); break;
    case ENDPOINT_LIBVIRT: r = endpoint_libvirt_new(&ep); break;
    }
    if (r < 0)
        return r;
    ep->spec = spec;
    ep->role = role;
    ep->label = strdup(text);
    ep->peer_fd = -1;
    ep->io_timeout_ms = req->io_timeout_ms;
    ep->config = req->config;
    ep->chunk_size = chunk;
    if (!ep->label) {
        ep->ops->close(ep);
        free(ep);
        return -ENOMEM;
    }
    *out = ep;
    return 0;
}

static void endpoint_free(struct endpoint *ep)
{
    if (!ep)
        return;
    ep->ops->close(ep);
    free(ep->label);
    free(ep->error);
    free(ep);
}

static int fail(char **error, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char **error, int err, const char *fmt, ...)
{
    va_list ap;
    free(*error);
    va_start(ap, fmt);
    if (vasprintf(error, fmt, ap) < 0)
        *error = NULL;
    va_end(ap);
    return err;
}

/* The endpoint's own message, or a generic one. */
static int endpoint_error(char **error, struct endpoint *ep, int err, const char *what)
{
    if (ep->error)
        return fail(error, err, "%s", ep->error);
    return fail(error, err, "%s %s: %s: %s", ep->role, ep->label, what, strerror(-err));
}

/* The checksum of the source's first chunk: with size and mtime, the source's identity. */
static int source_head(struct copy *cp, char out[33])
{
    size_t n = cp->size < cp->chunk ? (size_t)cp->size : cp->chunk;
    struct slot *slot = &cp->slots[0];
    memset(slot->buf, 0, n);
    slot->offset = 0;
    slot->len = (uint32_t)n;
    slot->status = 0;
    int r = n ? cp->src->ops->read_submit(cp->src, slot, 0, slot->buf, n) : 0;
    if (r == 0 && n)
        r = cp->src->ops->read_wait(cp->src, slot);
    if (r == 0)
        checksum_of(slot->buf, n, out);
    return r;
}

static int check_root(const struct stream_request *req, struct endpoint *dst, char **error)
{
    if (!req->root || dst->spec.kind != ENDPOINT_FILE)
        return 0;
    char path[PATH_MAX], root[PATH_MAX], real_root[PATH_MAX], dir[PATH_MAX], real_dir[PATH_MAX];
    if (path_normalise(dst->spec.path, path, sizeof(path)) < 0 || path_normalise(req->root, root, sizeof(root)) < 0)
        return fail(error, -ENAMETOOLONG, "destination %s: the path is too long", dst->label);
    if (!path_is_within(path, root) || !strcmp(path, root))
        return fail(error, -EINVAL, "destination %s leaves %s (through '..' or an absolute path); name a file "
                                    "inside %s", dst->label, root, root);
    /* A symlinked directory must not lead out either. */
    snprintf(dir, sizeof(dir), "%s", path);
    *strrchr(dir, '/') = 0;
    if (realpath(root, real_root) && realpath(dir[0] ? dir : "/", real_dir) && !path_is_within(real_dir, real_root))
        return fail(error, -EINVAL, "destination %s leaves %s through a symbolic link (%s); name a file inside %s",
                    dst->label, root, real_dir, root);
    return 0;
}

static bool same_file_spec(const struct endpoint *a, const struct endpoint *b)
{
    if (a->spec.kind != b->spec.kind)
        return false;
    if (a->spec.kind == ENDPOINT_FILE) {
        char pa[PATH_MAX], pb[PATH_MAX];
        return path_normalise(a->spec.path, pa, sizeof(pa)) == 0 && path_normalise(b->spec.path, pb, sizeof(pb)) == 0 &&
               !strcmp(pa, pb);
    }
    return !strcasecmp(a->spec.host, b->spec.host) && !strcmp(a->spec.path, b->spec.path);
}

/* Decides fresh or resumed from what the destination holds. */
static int plan_resume(struct copy *cp, struct dest_state *st, bool *fresh)
{
    const struct stream_request *req = cp->req;
    *fresh = true;
    cp->read_from = cp->skip_until = 0;
    checksum_reset(&cp->hash);
    if (!st->manifest_text)
        return 0;
    struct manifest m;
    _cleanup_free_ char *why = NULL;
    if (manifest_parse(st->manifest_text, &m, &why) < 0)
        return 0; /* unusable: start over */
    bool same = m.source_size == cp->manifest.source_size && m.source_mtime_ns == cp->manifest.source_mtime_ns &&
                !strcmp(m.source_head, cp->manifest.source_head) && !strcmp(m.data, cp->manifest.data);
    if (req->no_resume || !same || !st->partial_exists) {
        manifest_clear(&m);
        return 0;
    }
    uint32_t chunk = m.chunk_size;
    uint64_t at = m.done;
    if (cp->dst->ops->in_place) {
        /* Not checkpointed while it streams: the volume's size says how far it got. */
        if (!(m.done == m.source_size && st->partial_size >= m.source_size))
            at = st->partial_size / chunk * chunk;
    } else if (st->partial_size < at) {
        at = st->partial_size / chunk * chunk; /* shorter than its manifest says: trust the file */
    }
    if (at > m.source_size)
        at = m.source_size / chunk * chunk;
    *fresh = false;
    cp->chunk = chunk;
    cp->manifest.chunk_size = chunk;
    cp->resume_at = at;
    if (at == m.done && m.hash_state && checksum_load(&cp->hash, m.hash_state) == 0) {
        cp->read_from = cp->skip_until = at;
        cp->data_total = m.data_bytes;
        cp->state_done = cp->hash;
    } else {
        cp->read_from = 0; /* rebuild the checksum (and the data count) from the source */
        cp->skip_until = at;
    }
    cp->done = cp->read_from;
    cp->checkpointed = at;
    manifest_clear(&m);
    return 0;
}

/*
 * A slot's buffer. Chunks of 2 MiB and more are backed by transparent huge pages where the
 * system allows them (madvise mode): the first touch of the ring is otherwise 8192 page
 * faults for 32 MiB, measured at about 15 ms, a sixth of a 4 GiB sparse copy.
 */
static char *ring_buffer(uint32_t size)
{
    enum { HUGE = 2 << 20 };
    if (size < HUGE || size % HUGE)
        return aligned_alloc(4096, size);
    char *buf = aligned_alloc(HUGE, size);
    if (buf)
        madvise(buf, size, MADV_HUGEPAGE); /* only a hint: without it, small pages */
    return buf;
}

static int ring_init(struct copy *cp)
{
    unsigned max_runs = cp->chunk / 4096 + 2;
    for (unsigned i = 0; i < RING_SLOTS; i++) {
        struct slot *s = &cp->slots[i];
        s->buf = ring_buffer(cp->chunk);
        s->runs = calloc(max_runs, sizeof(struct run));
        s->extents = calloc(max_runs, sizeof(struct run));
        if (!s->buf || !s->runs || !s->extents)
            return -ENOMEM;
    }
    return 0;
}

static void ring_free(struct copy *cp)
{
    for (unsigned i = 0; i < RING_SLOTS; i++) {
        free(cp->slots[i].buf);
        free(cp->slots[i].runs);
        free(cp->slots[i].extents);
        free(cp->slots[i].read_io);
        free(cp->slots[i].write_io);
    }
}

static void describe_stop(struct copy *cp, int r, char **error)
{
    const char *partial = cp->dst->ops->in_place ? "the volume" : "the partial copy";
    if (r == -ECANCELED) {
        fail(error, r, "copy to %s interrupted at %llu of %llu bytes; %s is kept: run the same copy again to "
                       "resume it (or with --no-resume to start over)", cp->dst->label,
             (unsigned long long)cp->checkpointed, (unsigned long long)cp->size, partial);
        return;
    }
    struct endpoint *ep = cp->dst->error ? cp->dst : cp->src->error ? cp->src : cp->dst;
    endpoint_error(error, ep, r, "the copy failed");
    char *more = NULL;
    if (cp->checkpointed > 0 &&
        asprintf(&more, "%s (%llu of %llu bytes are kept for resuming)", *error, (unsigned long long)cp->checkpointed,
                 (unsigned long long)cp->size) >= 0) {
        free(*error);
        *error = more;
    }
}

static int run_copy(struct copy *cp, struct stream_result *res, char **error)
{
    const struct stream_request *req = cp->req;
    struct dest_state st = { 0 };
    int r;

    /* Facts first; nothing is created before every check passed. */
    r = cp->src->ops->source_open ? cp->src->ops->source_open(cp->src, &cp->info)
                                  : endpoint_fail(cp->src, -EOPNOTSUPP, "source %s cannot be read", cp->src->label);
    if (r < 0)
        return endpoint_error(error, cp->src, r, "cannot open");
    if (!cp->dst->ops->dest_probe)
        return fail(error, -EOPNOTSUPP, "destination %s cannot be written", cp->dst->label);
    r = cp->dst->ops->dest_probe(cp->dst, &st);
    if (r < 0) {
        free(st.manifest_text);
        return endpoint_error(error, cp->dst, r, "cannot reach");
    }
    if (st.final_exists && !req->force) {
        free(st.manifest_text);
        return fail(error, -EEXIST, "destination %s exists; remove it or use --force to replace it", cp->dst->label);
    }
    cp->size = cp->info.size;
    cp->dst->peer_fd = cp->info.local_fd;
    r = ring_init(cp);
    if (r < 0) {
        free(st.manifest_text);
        return fail(error, r, "out of memory");
    }
    const char *base = strrchr(cp->dst->spec.path, '/');
    base = base ? base + 1 : cp->dst->spec.path;
    struct manifest *m = &cp->manifest;
    const char *suffix = cp->dst->ops->in_place ? "" : STREAM_PARTIAL_SUFFIX;
    if (strlen(base) + strlen(suffix) >= sizeof(m->data) - strlen(".manifest")) {
        free(st.manifest_text);
        return fail(error, -ENAMETOOLONG, "destination %s: the file name is too long for a partial copy beside it",
                    cp->dst->label);
    }
    memcpy(m->data, base, strlen(base));
    memcpy(m->data + strlen(base), suffix, strlen(suffix) + 1);
    snprintf(m->source, sizeof(m->source), "%s", cp->src->label);
    m->source_size = cp->size;
    m->source_mtime_ns = cp->info.mtime_ns;
    m->chunk_size = cp->chunk;
    /* A fresh copy takes the source's head from the reader's first chunk (one read less);
     * a possible resume needs it now, to compare. */
    cp->head_wanted = cp->manifest_pending = !st.manifest_text && cp->size > 0;
    r = cp->head_wanted ? 0 : source_head(cp, m->source_head);
    if (r < 0) {
        free(st.manifest_text);
        return endpoint_error(error, cp->src, r, "cannot read");
    }
    bool fresh, had_partial = st.partial_exists || st.manifest_text;
    plan_resume(cp, &st, &fresh);
    free(st.manifest_text);

    /* From here on the destination changes. */
    if (fresh && had_partial) {
        r = cp->dst->ops->dest_discard(cp->dst);
        if (r < 0)
            return endpoint_error(error, cp->dst, r, "cannot remove the old partial copy");
    }
    res->resumed_from = cp->resume_at;
    cp->start_done = cp->done;
    r = cp->dst->ops->dest_start(cp->dst, fresh, cp->resume_at, cp->size, cp->info.mode);
    if (r < 0)
        return endpoint_error(error, cp->dst, r, "cannot create");
    /* The manifest exists before any data, so a partial is always recognisable (when the
     * reader is to find the source's head, the writer writes it before the first data). */
    if (fresh && !cp->manifest_pending && (r = write_manifest_now(cp)) < 0)
        return endpoint_error(error, cp->dst, r, "cannot write the manifest");

    pthread_t reader;
    cp->t0_ms = cp->last_checkpoint_ms = cp->last_progress_ms = clock_monotonic_ms();
    if (pthread_create(&reader, NULL, reader_main, cp) != 0)
        return fail(error, -EAGAIN, "cannot start the reader thread");
    r = writer_run(cp);
    pthread_join(reader, NULL);
    if (r == 0 && cp->reader_error < 0)
        r = cp->reader_error;
    if (r < 0) {
        /* Checkpoint as far as is true (this may fail too, when the destination is gone):
         * the first failure is the one to report. */
        char *first = cp->dst->error;
        cp->dst->error = NULL;
        write_checkpoint(cp);
        free(cp->dst->error);
        cp->dst->error = first;
        describe_stop(cp, r, error);
        return r;
    }
    report_progress(cp, true);

    r = cp->dst->ops->dest_finish(cp->dst, cp->size, req->durable);
    if (r < 0) {
        describe_stop(cp, r, error);
        return r;
    }
    checksum_hex(&cp->state_done, res->checksum);
    if (req->verify) {
        /* Complete: a run after a crash from here on only verifies and renames. (Without
         * verify the name follows at once: a crash in between resumes from the last
         * checkpoint, and the manifest is not written just to be removed.) */
        write_manifest_now(cp);
        struct checksum back;
        char hex[33];
        checksum_reset(&back);
        if (req->progress) {
            struct stream_progress p = { .done = 0, .total = cp->size, .verifying = true };
            req->progress(&p, req->progress_arg);
        }
        r = cp->dst->ops->dest_read_back(cp->dst, cp->size, &back, req->cancel);
        if (r < 0) {
            if (r == -ECANCELED)
                return fail(error, r, "verification of %s interrupted; the complete copy is kept as a partial: run "
                                      "the same copy again to verify and finish it", cp->dst->label);
            return endpoint_error(error, cp->dst, r, "cannot read back");
        }
        checksum_hex(&back, hex);
        if (strcmp(hex, res->checksum)) {
            cp->dst->ops->dest_discard(cp->dst);
            return fail(error, -EIO, "verification failed: %s reads back with xxh3-128 %s, but %s was %s; the copy "
                                     "was removed: run it again", cp->dst->label, hex, cp->src->label, res->checksum);
        }
        res->verified = true;
    }
    r = cp->dst->ops->dest_commit(cp->dst, req->force);
    if (r < 0)
        return endpoint_error(error, cp->dst, r, "cannot finish");
    res->bytes_total = cp->size;
    res->data_bytes = cp->data_total;
    res->hole_bytes = cp->size - cp->data_total;
    return 0;
}

/*
 * libnfs and libvirt allocate a buffer for every request they send or receive (a MiB each
 * with NFS): with glibc's default thresholds each is given back to the kernel when freed (the
 * heap shrinks, or an mmap is unmapped) and faulted in and zeroed again for the next one, a
 * fifth of the time of a copy to NFS. Requests of up to 4 MiB come from the heap, and up to
 * 32 MiB of it is kept: no more than the copy itself had in use at its peak.
 */
static void keep_request_buffers_once(void)
{
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
}

static void keep_request_buffers(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, keep_request_buffers_once);
}

int stream_copy(const struct stream_request *req, struct stream_result *res, char **error)
{
    struct copy *cp = NULL;
    uint64_t t0 = clock_monotonic_us();
    int r;

    *error = NULL;
    memset(res, 0, sizeof(*res));
    uint32_t chunk = req->chunk_size ? req->chunk_size : STREAM_DEFAULT_CHUNK;
    const char *env_chunk = getenv("FERRY_STREAM_CHUNK"); /* for measurements (tests/bench) */
    if (!req->chunk_size && env_chunk)
        chunk = (uint32_t)strtoul(env_chunk, NULL, 10);
    if (chunk % ZERO_BLOCK || chunk > (256u << 20))
        return fail(error, -EINVAL, "chunk size %u is not a multiple of 64 KiB up to 256 MiB", chunk);
    /* Checksum states are 64-byte aligned (XXH3 uses aligned vector loads on them). */
    cp = aligned_alloc(64, (sizeof(*cp) + 63) / 64 * 64);
    if (!cp)
        return -ENOMEM;
    memset(cp, 0, sizeof(*cp));
    cp->req = req;
    cp->chunk = chunk;
    const char *env_checkpoint = getenv("FERRY_STREAM_CHECKPOINT_MS"); /* for measurements */
    cp->checkpoint_ms = env_checkpoint ? strtoull(env_checkpoint, NULL, 10) : CHECKPOINT_MS;
    pthread_mutex_init(&cp->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cp->cond, &attr);
    pthread_condattr_destroy(&attr);
    checksum_reset(&cp->hash);
    checksum_reset(&cp->state_done);

    r = endpoint_open(req->source, "source", req, chunk, &cp->src, error);
    if (r == 0)
        r = endpoint_open(req->destination, "destination", req, chunk, &cp->dst, error);
    if (r == 0 && (cp->src->spec.kind != ENDPOINT_FILE || cp->dst->spec.kind != ENDPOINT_FILE))
        keep_request_buffers();
    if (r == 0 && same_file_spec(cp->src, cp->dst))
        r = fail(error, -EINVAL, "source and destination are the same file (%s)", req->source);
    if (r == 0)
        r = check_root(req, cp->dst, error);
    if (r == 0)
        r = run_copy(cp, res, error);
    if (r < 0 && !*error)
        fail(error, r, "copy of %s to %s failed: %s", req->source, req->destination, strerror(-r));
    /* The destination first: it may still use the source's descriptor. */
    endpoint_free(cp->dst);
    endpoint_free(cp->src);
    ring_free(cp);
    manifest_clear(&cp->manifest);
    pthread_cond_destroy(&cp->cond);
    pthread_mutex_destroy(&cp->lock);
    free(cp);
    res->seconds = (double)(clock_monotonic_us() - t0) / 1e6;
    return r;
}
