/*
 * Block and cold migration, step by step, with a ledger of what was made on the destination.
 *
 * Block: make the instance directory there; copy the backing files it lacks (refusing to
 * overwrite a different file of the same name, which other guests may use), the config
 * drive and the small files; pre-create each writable disk (an overlay on the same backing,
 * or an empty image) at its virtual size; then libvirt live-migrates with incremental (or
 * full) storage copy. Cold: shut down, copy every file, define there, start there if it
 * was running. Success removes the source's files (a cold move keeps them aside, see
 * keep_aside()); failure removes the destination's and leaves the guest as it was here.
 */
#include "move.h"

#include "cleanup.h"
#include "clock.h"
#include "dest.h"
#include "log.h"
#include "stream/stream.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define MAX_MADE 64
#define RECONNECT_MS 20000

/* What ferry made on the destination: directories (by path, with whether ferry created
 * them) and the files in them. Kept by path, not by libvirt handle, so that a rollback
 * can work on a new connection after the destination's libvirtd went away. */
struct made_dir {
    char path[FACTS_PATH_MAX];
    bool created;
    char files[MAX_MADE][FACTS_NAME_MAX];
    size_t n_files;
};

struct ledger {
    struct made_dir dirs[2]; /* the instance directory, the backing files' directory */
    size_t n_dirs;
    bool defined; /* the guest is defined on the destination */
};

static struct made_dir *ledger_dir(struct ledger *l, const char *path, bool created)
{
    for (size_t i = 0; i < l->n_dirs; i++)
        if (!strcmp(l->dirs[i].path, path))
            return &l->dirs[i];
    if (l->n_dirs == 2)
        return NULL;
    struct made_dir *m = &l->dirs[l->n_dirs++];
    memset(m, 0, sizeof(*m));
    text_copy(m->path, sizeof(m->path), path);
    m->created = created;
    return m;
}

static void ledger_file(struct made_dir *m, const char *name)
{
    if (m && m->n_files < MAX_MADE)
        text_copy(m->files[m->n_files++], FACTS_NAME_MAX, name);
}

/* Opens path on the destination, making it if missing, and records it in the ledger. On
 * failure the cause is in o. */
static int open_dest_dir(struct driver *d, const char *path, struct ledger *l, struct migrate_outcome *o,
                         struct dest_dir **dir, struct made_dir **made)
{
    char *error = NULL;
    bool created = false;
    int r = dest_dir_open(d, path, dir, &created, &error);
    if (r < 0) {
        text_printf(o->cause, sizeof(o->cause), "%s", error ? error : "cannot open a directory on the destination");
        free(error);
        return r;
    }
    *made = ledger_dir(l, path, created);
    return 0;
}

/* Removes everything in the ledger from the destination, newest first, reconnecting if its
 * libvirt went away. Returns 0 when all of it is gone; else what is left, in left. */
static int ledger_undo(struct driver *d, struct ledger *l, char *left, size_t size)
{
    size_t used = 0;
    left[0] = 0;
    if (driver_reconnect_dest(d, RECONNECT_MS) < 0) {
        text_printf(left, size, "the destination's libvirt does not answer: remove what ferry made there by hand");
        return -ENOTCONN;
    }
    if (l->defined && driver_dest_remove(d) < 0)
        used += (size_t)snprintf(left + used, size - used, "the guest's definition; ");
    for (size_t i = l->n_dirs; i-- > 0;) {
        struct made_dir *m = &l->dirs[i];
        struct dest_dir *dir = NULL;
        char *error = NULL;
        bool created = false;
        if (dest_dir_open(d, m->path, &dir, &created, &error) < 0) {
            if (used < size)
                used += (size_t)snprintf(left + used, size - used, "%s (%s); ", m->path, error ? error : "?");
            free(error);
            continue;
        }
        for (size_t j = m->n_files; j-- > 0;) {
            /* The streamer's own leftovers go with the file. */
            char partial[FACTS_NAME_MAX + 64], manifest[FACTS_NAME_MAX + 64];
            snprintf(partial, sizeof(partial), "%s" STREAM_PARTIAL_SUFFIX, m->files[j]);
            snprintf(manifest, sizeof(manifest), "%s" STREAM_MANIFEST_SUFFIX, m->files[j]);
            dest_delete(dir, partial);
            dest_delete(dir, manifest);
            int r = dest_delete(dir, m->files[j]);
            if (r < 0 && r != -ENOENT && used < size)
                used += (size_t)snprintf(left + used, size - used, "%s/%s; ", m->path, m->files[j]);
        }
        dest_dir_close(dir, m->created);
    }
    return left[0] ? -EIO : 0;
}

/* ---- local files --------------------------------------------------------------------- */

static int local_checksum(const char *path, char hex[33])
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    _cleanup_free_ char *buf = malloc(1 << 20);
    XXH3_state_t *s = XXH3_createState();
    int r = 0;
    if (fd < 0 || !buf || !s) {
        r = fd < 0 ? -errno : -ENOMEM;
    } else {
        XXH3_128bits_reset(s);
        ssize_t n;
        while ((n = read(fd, buf, 1 << 20)) > 0)
            XXH3_128bits_update(s, buf, (size_t)n);
        if (n < 0)
            r = -errno;
        XXH128_hash_t v = XXH3_128bits_digest(s);
        snprintf(hex, 33, "%016llx%016llx", (unsigned long long)v.high64, (unsigned long long)v.low64);
    }
    XXH3_freeState(s);
    return r;
}

static int remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 ? -errno : 0;
    DIR *dir = opendir(path);
    if (!dir)
        return -errno;
    struct dirent *e;
    int r = 0;
    while ((e = readdir(dir))) {
        char child[FACTS_PATH_MAX];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!text_printf(child, sizeof(child), "%s/%s", path, e->d_name))
            continue;
        int rr = remove_tree(child);
        if (rr < 0 && r == 0)
            r = rr;
    }
    closedir(dir);
    if (rmdir(path) < 0 && r == 0)
        r = -errno;
    return r;
}

/*
 * The source's files after a cold move: kept as DIR_resize, the name Nova gives a resized
 * instance's files until the move is confirmed, because nothing can ask the destination's
 * libvirt to flush what it received (its page cache holds it until the kernel writes it back).
 * `ferry fsck -y` moves it to the quarantine once it is older than stale_partial_age; its age
 * starts now. An older one of that name (an earlier move of the same guest) goes first.
 */
static int keep_aside(const char *dir, char *kept, size_t size)
{
    if (!text_printf(kept, size, "%s_resize", dir))
        return -ENAMETOOLONG;
    int r = remove_tree(kept);
    if (r < 0)
        return r;
    if (rename(dir, kept) < 0)
        return -errno;
    utimensat(AT_FDCWD, kept, NULL, 0);
    return 0;
}

static bool is_writable_disk(const struct guest_facts *g, const char *path)
{
    for (size_t i = 0; i < g->n_disks; i++)
        if (!strcmp(g->disks[i].path, path) && !g->disks[i].readonly && !g->disks[i].is_config_drive)
            return true;
    return false;
}

/* ---- copying ------------------------------------------------------------------------- */

static int stream_to_dest(struct driver *d, const struct ferry_config *cfg, const struct migrate_request *req,
                          const char *path, struct migrate_outcome *o)
{
    char dest[FACTS_PATH_MAX + FACTS_NAME_MAX + 16];
    struct stream_result res;
    char *error = NULL;
    text_printf(dest, sizeof(dest), "libvirt://%s%s", o->facts.dst.name, path);
    struct stream_request sr = {
        .source = path,
        .destination = dest,
        .config = cfg,
        .durable = true,
        /* Read back through the destination's libvirt and compared before anything here goes:
         * libvirt does not flush what it received, but at least it holds what was sent. */
        .verify = true,
        .cancel = req->cancel,
    };
    (void)d;
    (void)req;
    uint64_t t0 = clock_monotonic_ms();
    int r = stream_copy(&sr, &res, &error);
    o->timings.stream_ms += clock_monotonic_ms() - t0;
    if (r < 0) {
        text_printf(o->cause, sizeof(o->cause), "copying %s to %s failed: %s", path, o->facts.dst.name,
                    error ? error : strerror(-r));
        free(error);
        return r;
    }
    o->bytes_streamed += res.data_bytes;
    if (res.verified)
        o->files_verified++;
    log_info("copied %s to %s: %llu bytes of data, xxh3-128 %s, read back identical", path, o->facts.dst.name,
             (unsigned long long)res.data_bytes, res.checksum);
    return 0;
}

/* Copies the backing files the destination lacks into their directory there. */
static int copy_backing(struct driver *d, const struct ferry_config *cfg, const struct migrate_request *req,
                        struct migrate_outcome *o, struct ledger *l)
{
    const struct guest_facts *g = &o->facts.guest;
    for (size_t i = 0; i < g->n_disks; i++) {
        const char *backing = g->disks[i].backing;
        if (!backing[0])
            continue;
        char copy[FACTS_PATH_MAX], name[FACTS_NAME_MAX];
        text_copy(copy, sizeof(copy), backing);
        text_copy(name, sizeof(name), basename(copy));
        text_copy(copy, sizeof(copy), backing);
        const char *dirpath = dirname(copy);

        struct dest_dir *dir = NULL;
        struct made_dir *m = NULL;
        char *error = NULL;
        int r = open_dest_dir(d, dirpath, l, o, &dir, &m);
        if (r < 0)
            return r;
        uint64_t size = 0;
        bool present = dest_file_size(dir, name, &size) == 0;
        if (present) {
            char here[33], there[33];
            r = local_checksum(backing, here);
            if (r == 0)
                r = dest_file_checksum(dir, name, there, &error);
            if (r == 0 && strcmp(here, there)) {
                text_printf(o->cause, sizeof(o->cause),
                            "%s on %s differs from ours (xxh3-128 %s, ours %s): refusing to overwrite a backing file "
                            "other guests may use there",
                            backing, o->facts.dst.name, there, here);
                r = -EEXIST;
            } else if (r < 0) {
                text_printf(o->cause, sizeof(o->cause), "cannot compare %s with the destination's copy: %s", backing,
                            error ? error : strerror(-r));
            } else {
                log_info("%s: the destination has the same backing file (xxh3-128 %s)", backing, here);
            }
            free(error);
        }
        dest_dir_close(dir, false);
        if (r < 0)
            return r;
        if (!present) {
            ledger_file(m, name);
            r = stream_to_dest(d, cfg, req, backing, o);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

/*
 * Copies the files of the instance directory that QEMU will not mirror (with all set:
 * every file), after making the directory there. A file already there is a conflict.
 */
static int copy_instance_files(struct driver *d, const struct ferry_config *cfg, const struct migrate_request *req,
                               struct migrate_outcome *o, struct ledger *l, bool all)
{
    const struct guest_facts *g = &o->facts.guest;
    struct dest_dir *dir = NULL;
    struct made_dir *m = NULL;
    int r = open_dest_dir(d, g->instance_dir, l, o, &dir, &m);
    if (r < 0)
        return r;
    DIR *local = opendir(g->instance_dir);
    if (!local) {
        r = -errno;
        text_printf(o->cause, sizeof(o->cause), "cannot read %s: %s", g->instance_dir, strerror(-r));
        dest_dir_close(dir, false);
        return r;
    }
    struct dirent *e;
    char names[MAX_MADE][FACTS_NAME_MAX];
    size_t n = 0;
    while ((e = readdir(local)) && n < MAX_MADE) {
        char path[FACTS_PATH_MAX];
        struct stat st;
        if (e->d_name[0] == '.' || !text_printf(path, sizeof(path), "%s/%s", g->instance_dir, e->d_name))
            continue;
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || strstr(e->d_name, STREAM_PARTIAL_SUFFIX))
            continue;
        if (!all && is_writable_disk(g, path))
            continue;
        text_copy(names[n++], FACTS_NAME_MAX, e->d_name);
    }
    closedir(local);
    for (size_t i = 0; i < n && r == 0; i++) {
        uint64_t size;
        if (dest_file_size(dir, names[i], &size) == 0) {
            text_printf(o->cause, sizeof(o->cause),
                        "%s/%s already exists on %s: a leftover of an earlier attempt? ('ferry fsck' there finds it)",
                        g->instance_dir, names[i], o->facts.dst.name);
            r = -EEXIST;
        }
    }
    dest_dir_close(dir, false);
    for (size_t i = 0; i < n && r == 0; i++) {
        char path[FACTS_PATH_MAX];
        text_printf(path, sizeof(path), "%s/%s", g->instance_dir, names[i]);
        ledger_file(m, names[i]);
        r = stream_to_dest(d, cfg, req, path, o);
    }
    return r;
}

/* Each writable disk, created empty there at its virtual size, on the same backing. */
static int precreate_disks(struct driver *d, struct migrate_outcome *o, struct ledger *l)
{
    const struct guest_facts *g = &o->facts.guest;
    struct dest_dir *dir = NULL;
    struct made_dir *m = NULL;
    char *error = NULL;
    int r = open_dest_dir(d, g->instance_dir, l, o, &dir, &m);
    if (r < 0)
        return r;
    for (size_t i = 0; i < g->n_disks && r == 0; i++) {
        const struct disk_facts *k = &g->disks[i];
        if (k->readonly || k->is_config_drive)
            continue;
        char copy[FACTS_PATH_MAX];
        text_copy(copy, sizeof(copy), k->path);
        const char *name = basename(copy);
        ledger_file(m, name);
        if (k->backing[0])
            r = dest_create_overlay(dir, name, k->virtual_size, k->backing,
                                    k->backing_format[0] ? k->backing_format : "raw", &error);
        else
            r = dest_create_image(dir, name, k->virtual_size, k->format[0] ? k->format : "raw", &error);
        if (r < 0) {
            text_printf(o->cause, sizeof(o->cause), "%s", error ? error : "cannot create a disk there");
            free(error);
            error = NULL;
        }
    }
    dest_dir_close(dir, false);
    return r;
}

/* After a failure: the destination as it was, the guest as it was here. */
static void roll_back(struct driver *d, struct migrate_outcome *o, struct ledger *l, bool restart_here)
{
    char left[1024], *error = NULL;
    int r = ledger_undo(d, l, left, sizeof(left));
    bool running_here = true;
    if (restart_here && driver_source_start(d, &error) < 0)
        running_here = false;
    size_t used = strlen(o->cause);
    if (r == 0 && running_here) {
        o->result = MIGRATE_RESULT_ROLLED_BACK;
        text_printf(o->cause + used, sizeof(o->cause) - used, "; rolled back: the guest is %s here, and nothing ferry "
                                                              "made is left on %s",
                    restart_here ? "running again" : "as it was", o->facts.dst.name);
    } else {
        o->result = MIGRATE_RESULT_FAILED;
        text_printf(o->cause + used, sizeof(o->cause) - used, "; rollback incomplete: %s%s%s", left,
                    running_here ? "" : " the guest could not be started here again: ", error ? error : "");
    }
    free(error);
}

int move_block(struct driver *d, const struct ferry_config *cfg, const struct migrate_request *req,
               struct migrate_outcome *o)
{
    struct ledger l = { 0 };
    int r = copy_backing(d, cfg, req, o, &l);
    if (r == 0)
        r = copy_instance_files(d, cfg, req, o, &l, false);
    if (r == 0)
        r = precreate_disks(d, o, &l);
    if (r == 0 && req->cancel && atomic_load(req->cancel)) {
        text_printf(o->cause, sizeof(o->cause), "cancelled by the operator");
        r = -ECANCELED;
    }
    if (r == 0) {
        struct live_options lo = {
            .copy_storage_inc = o->plan.copy_storage_inc,
            .copy_storage_all = o->plan.copy_storage_all,
            .progress = req->progress,
            .progress_arg = req->progress_arg,
            .cancel = req->cancel,
        };
        struct live_result lr;
        r = driver_live_migrate(d, &lo, &lr);
        o->timings.migrate_ms = lr.migrate_ms;
        o->timings.downtime_ms = lr.downtime_ms;
        o->memory_bytes = lr.memory_bytes;
        o->bytes_mirrored = lr.disk_bytes;
        if (r < 0)
            text_printf(o->cause, sizeof(o->cause), "live migration with storage copy failed: %s", lr.error);
    }
    if (r < 0) {
        /* libvirt resumes the guest here after a failed migration: nothing to restart. */
        roll_back(d, o, &l, false);
        return r;
    }
    /* The guest runs there on its own copy: the source's instance directory goes. */
    r = remove_tree(o->facts.guest.instance_dir);
    if (r < 0)
        log_warn("the guest runs on %s, but %s could not be removed here: %s ('ferry fsck' reports it)",
                 o->facts.dst.name, o->facts.guest.instance_dir, strerror(-r));
    o->result = MIGRATE_RESULT_OK;
    return 0;
}

int move_cold(struct driver *d, const struct ferry_config *cfg, const struct migrate_request *req,
              struct migrate_outcome *o)
{
    struct ledger l = { 0 };
    char *error = NULL;
    bool was_running = o->facts.guest.state == GUEST_RUNNING || o->facts.guest.state == GUEST_PAUSED;
    bool shared = o->plan.proven_shared;

    _cleanup_free_ char *xml = driver_migratable_xml(d);
    if (!xml) {
        text_printf(o->cause, sizeof(o->cause), "cannot read the guest's definition");
        o->result = MIGRATE_RESULT_REFUSED;
        return -EIO;
    }
    if (was_running && driver_source_shutdown(d, cfg->migrate.shutdown_timeout_ms, cfg->migrate.allow_destroy,
                                              &error) < 0) {
        text_printf(o->cause, sizeof(o->cause), "%s", error ? error : "the guest did not shut down");
        free(error);
        roll_back(d, o, &l, true);
        return -EBUSY;
    }
    int r = 0;
    if (!shared) {
        r = copy_backing(d, cfg, req, o, &l);
        if (r == 0)
            r = copy_instance_files(d, cfg, req, o, &l, true);
    }
    if (r == 0 && req->cancel && atomic_load(req->cancel)) {
        text_printf(o->cause, sizeof(o->cause), "cancelled by the operator");
        r = -ECANCELED;
    }
    if (r == 0) {
        uint64_t t0 = clock_monotonic_ms();
        l.defined = true;
        r = driver_dest_define(d, xml, was_running, &error);
        o->timings.migrate_ms = clock_monotonic_ms() - t0;
        if (r < 0) {
            text_printf(o->cause, sizeof(o->cause), "%s", error ? error : "cannot define the guest there");
            free(error);
            error = NULL;
        }
    }
    if (r < 0) {
        roll_back(d, o, &l, was_running);
        return r;
    }
    if (driver_source_undefine(d, &error) < 0) {
        log_warn("%s (the guest now runs from %s)", error ? error : "cannot undefine here", o->facts.dst.name);
        free(error);
    }
    if (!shared) {
        char kept[FACTS_PATH_MAX + 8];
        r = keep_aside(o->facts.guest.instance_dir, kept, sizeof(kept));
        if (r < 0)
            log_warn("%s could not be set aside here: %s ('ferry fsck' reports it)", o->facts.guest.instance_dir,
                     strerror(-r));
        else
            log_info("%s kept as %s until the destination has surely written it back; 'ferry fsck -y' "
                     "quarantines it once older than [fsck] stale_partial_age",
                     o->facts.guest.instance_dir, kept);
    }
    o->result = MIGRATE_RESULT_OK;
    return 0;
}
