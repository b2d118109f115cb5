/*
 * The rules. Each is a loop over the facts that appends findings; none touches the world.
 * What a rule may repair is decided here too (fix, fix_rel, guarded), so that repair.c
 * only carries out decisions and the tests can check every one of them without a store.
 */
#include "rules.h"

#include "paths.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *severity_name(enum severity s)
{
    switch (s) {
    case SEVERITY_ERROR:
        return "error";
    case SEVERITY_WARNING:
        return "warning";
    default:
        return "info";
    }
}

void finding_list_free(struct finding_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].rel);
        free(l->v[i].message);
        free(l->v[i].fix_rel);
        free(l->v[i].not_fixed);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

struct finding *finding_add(struct finding_list *l, const char *rule, enum severity s, const char *rel,
                            const char *fmt, ...)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct finding *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            abort(); /* out of memory while listing findings: nothing sensible remains */
        l->v = v;
        l->cap = cap;
    }
    struct finding *x = &l->v[l->n++];
    memset(x, 0, sizeof(*x));
    x->rule = rule;
    x->severity = s;
    x->rel = strdup(rel);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&x->message, fmt, ap) < 0)
        x->message = NULL;
    va_end(ap);
    if (!x->rel || !x->message)
        abort();
    return x;
}

/* ---- activity: running, migrating ------------------------------------------------------ */

static const struct instance_facts *find_instance(const struct store_facts *f, const char *uuid)
{
    for (size_t lo = 0, hi = f->n_instances; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->instances[mid].uuid, uuid);
        if (c == 0)
            return &f->instances[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* The instances are sorted by the scan; facts written by hand may not be. */
    for (size_t i = 0; i < f->n_instances; i++)
        if (!strcmp(f->instances[i].uuid, uuid))
            return &f->instances[i];
    return NULL;
}

static bool instance_running(const struct store_facts *f, const char *uuid, char *why, size_t size)
{
    const struct domain_facts *d = store_find_domain(f, uuid);
    if (d && d->active) {
        snprintf(why, size, "guest running (libvirt domain %s)", d->name);
        return true;
    }
    if (store_is_held(f, uuid, true)) {
        snprintf(why, size, "guest running (a process holds its files open)");
        return true;
    }
    return false;
}

static bool instance_migrating(const struct store_facts *f, const char *uuid, char *why, size_t size)
{
    const struct domain_facts *d = store_find_domain(f, uuid);
    if (d && d->job) {
        snprintf(why, size, "migrating (a libvirt job is running on domain %s)", d->name);
        return true;
    }
    const struct instance_facts *in = find_instance(f, uuid);
    for (size_t i = 0; in && i < in->n_claims; i++) {
        const struct owner_claim *c = &in->claims[i];
        if (c->status == LEASE_DECODE_OK && c->rec.state != OWNER_OWNED) {
            snprintf(why, size, "migrating (owner record: %s %s, peer %s)", c->host, owner_state_name(c->rec.state),
                     c->rec.peer);
            return true;
        }
    }
    return false;
}

bool instance_guarded(const struct store_facts *f, const char *uuid, char *why, size_t size)
{
    if (!uuid || !uuid[0])
        return false;
    return instance_running(f, uuid, why, size) || instance_migrating(f, uuid, why, size);
}

static size_t valid_claims(const struct instance_facts *in, const struct owner_claim **v, size_t max);

/*
 * Repairs of an instance are its owner's business: another host may be running it, and
 * this host cannot see that host's guests. So a host repairs only an instance it owns, one
 * whose every claimant is dead, or (with no owner records on the store) one its own libvirt
 * defines; with owner records in use, an instance nobody claims is fair game too.
 */
static bool owned_elsewhere(const struct store_facts *f, const struct fsck_limits *l, const char *uuid, char *why,
                            size_t size)
{
    const struct instance_facts *in = find_instance(f, uuid);
    const struct owner_claim *v[8];
    char dead[160];
    if (!in)
        return false; /* a leftover of an instance that is gone */
    size_t n = valid_claims(in, v, 8);
    if (n == 0 && !f->owners_in_use && !store_find_domain(f, uuid)) {
        snprintf(why, size, "no owner records on this store: another host may run it");
        return true;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i]->host, f->local_host) && !host_is_dead(f, l, v[i]->host, dead, sizeof(dead))) {
            snprintf(why, size, "owned by %s: repairs are left to that host", v[i]->host);
            return true;
        }
    return false;
}

/* Sets what -y would do, and whether the instance it belongs to forbids it. */
static void set_fix(const struct store_facts *f, const struct fsck_limits *l, struct finding *x, enum fix_kind k,
                    const char *rel, const char *instance)
{
    x->fix = k;
    x->fix_rel = strdup(rel);
    if (!x->fix_rel)
        abort();
    if (instance && instance[0]) {
        snprintf(x->instance, sizeof(x->instance), "%s", instance);
        if (!instance_guarded(f, instance, x->guarded, sizeof(x->guarded)))
            owned_elsewhere(f, l, instance, x->guarded, sizeof(x->guarded));
    }
}

static void set_instance(const struct store_facts *f, struct finding *x, size_t instance)
{
    if (instance == FSCK_NO_INDEX || instance >= f->n_instances)
        return;
    snprintf(x->instance, sizeof(x->instance), "%s", f->instances[instance].uuid);
    instance_guarded(f, x->instance, x->guarded, sizeof(x->guarded));
}

/* "3d 4h", "25m", "12s": ages in messages. */
static const char *format_age(uint64_t s, char *buf, size_t size)
{
    if (s >= 86400)
        snprintf(buf, size, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(buf, size, "%" PRIu64 "h %" PRIu64 "m", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(buf, size, "%" PRIu64 "m", s / 60);
    else
        snprintf(buf, size, "%" PRIu64 "s", s);
    return buf;
}

static uint64_t age_of(const struct store_facts *f, int64_t mtime)
{
    return f->now_s > mtime ? (uint64_t)(f->now_s - mtime) : 0;
}

/* ---- images ------------------------------------------------------------------------------ */

static void check_unreadable(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    for (size_t i = 0; i < f->n_problems; i++)
        finding_add(out, "unreadable", SEVERITY_ERROR, f->problems[i].rel, "%s: %s", f->problems[i].what,
                    strerror(f->problems[i].err));
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        struct finding *x = NULL;
        if (!im->st.ok)
            x = finding_add(out, "unreadable", SEVERITY_ERROR, im->rel, "cannot stat: %s", strerror(im->st.err));
        else if (im->read_errno)
            x = finding_add(out, "unreadable", SEVERITY_ERROR, im->rel, "cannot read its header: %s",
                            strerror(im->read_errno));
        else if (im->backing_class == BACKING_IN_STORE && im->backing_errno && im->backing_errno != ENOENT &&
                 im->backing_errno != EXDEV && im->backing_errno != ELOOP)
            x = finding_add(out, "unreadable", SEVERITY_ERROR, im->rel, "cannot check its backing file %s: %s",
                            im->backing_rel, strerror(im->backing_errno));
        if (x)
            set_instance(f, x, im->instance);
    }
}

static void check_header_invalid(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (im->qcow2 && im->qcow2->status == QCOW2_INVALID && !im->qcow2->truncated)
            set_instance(f, finding_add(out, "qcow2-header-invalid", SEVERITY_ERROR, im->rel,
                                        "qcow2 header is invalid: %s", im->qcow2->why),
                         im->instance);
    }
}

static void check_truncated(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (im->qcow2 && im->qcow2->truncated)
            set_instance(f, finding_add(out, "image-truncated", SEVERITY_ERROR, im->rel, "%s", im->qcow2->why),
                         im->instance);
    }
}

static bool header_usable(const struct image_facts *im)
{
    return im->qcow2 && im->qcow2->status == QCOW2_VALID;
}

static void check_corrupt_flag(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (header_usable(im) && im->qcow2->corrupt)
            set_instance(f, finding_add(out, "qcow2-corrupt-flag", SEVERITY_ERROR, im->rel,
                                        "QEMU marked the image corrupt: it opens read-only until repaired "
                                        "(back it up, then 'qemu-img check -r all')"),
                         im->instance);
    }
}

static void check_dirty_flag(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    char why[160];
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (!header_usable(im) || !im->qcow2->dirty || im->qcow2->corrupt)
            continue;
        /* A running guest with lazy refcounts keeps the bit set: that is not a finding. */
        const char *uuid = im->instance != FSCK_NO_INDEX ? f->instances[im->instance].uuid : NULL;
        if (uuid && instance_running(f, uuid, why, sizeof(why)))
            continue;
        if (!uuid && store_is_held(f, im->rel, false))
            continue;
        struct finding *x = finding_add(out, "qcow2-dirty-flag", SEVERITY_WARNING, im->rel,
                                        "dirty flag set with no guest running: it was not closed cleanly, so its "
                                        "refcounts may be stale");
        set_fix(f, l, x, FIX_QCOW2_REPAIR, im->rel, uuid);
    }
}

static void check_backing_missing(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (header_usable(im) && im->backing_class == BACKING_IN_STORE && im->backing_errno == ENOENT)
            set_instance(f, finding_add(out, "backing-missing", SEVERITY_ERROR, im->rel,
                                        "its backing file %s does not exist (named '%s')", im->backing_rel,
                                        im->qcow2->backing_name),
                         im->instance);
    }
}

static void check_backing_outside(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (!header_usable(im))
            continue;
        const char *name = im->qcow2->backing_name;
        struct finding *x = NULL;
        switch (im->backing_class) {
        case BACKING_OUTSIDE:
            x = finding_add(out, "backing-outside-store", SEVERITY_ERROR, im->rel,
                            "its backing file '%s' is outside the instance store", name);
            break;
        case BACKING_PROTOCOL:
            x = finding_add(out, "backing-outside-store", SEVERITY_ERROR, im->rel,
                            "its backing file '%s' is a protocol name, not a file in the store", name);
            break;
        case BACKING_JSON:
            x = finding_add(out, "backing-outside-store", SEVERITY_ERROR, im->rel,
                            "its backing file is a json: specification, not a file in the store");
            break;
        case BACKING_IN_STORE:
            if (im->backing_errno == EXDEV || im->backing_errno == ELOOP)
                x = finding_add(out, "backing-outside-store", SEVERITY_ERROR, im->rel,
                                "reaching its backing file %s follows a symlink out of the store", im->backing_rel);
            break;
        case BACKING_NONE:
            break;
        }
        if (x)
            set_instance(f, x, im->instance);
    }
}

static void check_backing_loop(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    for (size_t i = 0; i < f->n_images; i++) {
        size_t seen[64], n_seen = 0, cur = i;
        unsigned depth = 0;
        bool loop = false;
        seen[n_seen++] = i;
        while (f->images[cur].backing != FSCK_NO_INDEX && !loop && depth <= l->max_chain_depth) {
            cur = f->images[cur].backing;
            depth++;
            for (size_t k = 0; k < n_seen && !loop; k++)
                loop = seen[k] == cur;
            if (n_seen < sizeof(seen) / sizeof(seen[0]))
                seen[n_seen++] = cur;
        }
        struct finding *x = NULL;
        if (loop)
            x = finding_add(out, "backing-loop", SEVERITY_ERROR, f->images[i].rel,
                            "its backing chain loops back to %s", f->images[cur].rel);
        else if (depth > l->max_chain_depth)
            x = finding_add(out, "backing-loop", SEVERITY_ERROR, f->images[i].rel,
                            "its backing chain is deeper than [fsck] max_chain_depth = %u", l->max_chain_depth);
        if (x)
            set_instance(f, x, f->images[i].instance);
    }
}

static void check_declared_formats(const struct store_facts *f, struct finding_list *out, size_t inst,
                                   const struct disk_decl *decls, size_t n, const char *source)
{
    for (size_t k = 0; k < n; k++) {
        const struct disk_decl *d = &decls[k];
        if (!d->rel || !d->format[0])
            continue;
        size_t idx = store_find_image(f, d->rel);
        if (idx == FSCK_NO_INDEX || f->images[idx].read_errno || !f->images[idx].st.ok)
            continue;
        const struct image_facts *im = &f->images[idx];
        if (strcmp(d->format, im->format))
            set_instance(f, finding_add(out, "format-mismatch", SEVERITY_ERROR, im->rel, "%s says %s, the file is %s",
                                        source, d->format, im->format),
                         inst);
    }
}

static void check_format_mismatch(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    for (size_t i = 0; i < f->n_instances; i++) {
        const struct instance_facts *in = &f->instances[i];
        check_declared_formats(f, out, i, in->disk_info, in->n_disk_info, "disk.info");
        check_declared_formats(f, out, i, in->xml_disks, in->n_xml_disks, "libvirt.xml");
    }
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (!header_usable(im) || !im->qcow2->has_backing_format || im->backing == FSCK_NO_INDEX)
            continue;
        const struct image_facts *b = &f->images[im->backing];
        if (b->read_errno || !b->st.ok || !strcmp(b->format, im->qcow2->backing_format))
            continue;
        set_instance(f, finding_add(out, "format-mismatch", SEVERITY_ERROR, im->rel,
                                    "its header says the backing file %s is %s, the file is %s", b->rel,
                                    im->qcow2->backing_format, b->format),
                     im->instance);
    }
}

static void check_missing_disk(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    for (size_t i = 0; i < f->n_instances; i++) {
        const struct instance_facts *in = &f->instances[i];
        for (size_t k = 0; k < in->n_xml_disks; k++) {
            const struct disk_decl *d = &in->xml_disks[k];
            if (d->rel && d->stat_errno == ENOENT)
                set_instance(f, finding_add(out, "missing-disk", SEVERITY_ERROR, d->rel,
                                            "libvirt.xml names this disk (%s), and it does not exist", d->path),
                             i);
        }
    }
}

static void check_config_drive(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (im->role != IMAGE_CONFIG_DRIVE || !im->st.ok || im->read_errno)
            continue;
        struct finding *x = NULL;
        if (im->config_drive == CONFIG_DRIVE_ISO9660)
            x = finding_add(out, "config-drive-format", SEVERITY_INFO, im->rel,
                            "iso9660 config drive: Nova live-migrates it only over shared storage ([nova] "
                            "config_drive_format = %s)",
                            l->config_drive_format ? l->config_drive_format : "?");
        else if (im->config_drive == CONFIG_DRIVE_UNKNOWN)
            x = finding_add(out, "config-drive-format", SEVERITY_WARNING, im->rel,
                            "the config drive is neither iso9660 nor vfat (%s, %" PRIu64 " bytes)", im->format,
                            im->st.size);
        if (x)
            set_instance(f, x, im->instance);
    }
}

/* ---- permissions ------------------------------------------------------------------------- */

bool unix_access(uint32_t mode, uint32_t file_uid, uint32_t file_gid, uint32_t uid, const uint32_t *gids, size_t n,
                 unsigned want)
{
    unsigned bits;
    if (uid == file_uid) {
        bits = (mode >> 6) & 7;
    } else {
        bool member = false;
        for (size_t i = 0; i < n && !member; i++)
            member = gids[i] == file_gid;
        bits = member ? (mode >> 3) & 7 : mode & 7;
    }
    return (bits & want) == want;
}

static const char *access_words(unsigned want)
{
    switch (want) {
    case 6:
        return "read and write";
    case 4:
        return "read";
    case 1:
        return "enter";
    default:
        return "use";
    }
}

static void check_access(const struct store_facts *f, struct finding_list *out, const char *rel,
                         const struct file_stat *st, unsigned want, size_t instance)
{
    if (!st->ok || unix_access(st->mode, st->uid, st->gid, f->qemu_uid, f->qemu_gids, f->n_qemu_gids, want))
        return;
    set_instance(f, finding_add(out, "bad-permissions", SEVERITY_ERROR, rel,
                                "%s (uid %u) cannot %s it: mode %04o, owner %u:%u", f->qemu_user, f->qemu_uid,
                                access_words(want), st->mode & 07777, st->uid, st->gid),
                 instance);
}

/* Marks every image reachable through backing chains from the instances' own images. */
static bool *images_in_use(const struct store_facts *f, const struct fsck_limits *l)
{
    bool *used = calloc(f->n_images ? f->n_images : 1, sizeof(bool));
    if (!used)
        abort();
    for (size_t i = 0; i < f->n_images; i++) {
        if (f->images[i].role == IMAGE_BASE || f->images[i].role == IMAGE_CHAIN)
            continue;
        size_t cur = i;
        for (unsigned depth = 0; f->images[cur].backing != FSCK_NO_INDEX && depth <= l->max_chain_depth + 1; depth++) {
            cur = f->images[cur].backing;
            used[cur] = true;
        }
    }
    return used;
}

static void check_permissions(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    if (!f->qemu_user_known)
        return;
    check_access(f, out, "", &f->root_st, 1, FSCK_NO_INDEX);
    check_access(f, out, "_base", &f->base_dir_st, 1, FSCK_NO_INDEX);
    for (size_t i = 0; i < f->n_instances; i++)
        check_access(f, out, f->instances[i].uuid, &f->instances[i].dir, 1, i);
    bool *used = images_in_use(f, l);
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (!S_ISREG(im->st.mode))
            continue;
        unsigned want = im->role == IMAGE_DISK ? 6 : 4;
        if ((im->role == IMAGE_BASE || im->role == IMAGE_CHAIN) && !used[i])
            continue;
        /* libvirt's dynamic ownership (its default) gives a guest's disks to the qemu user when
         * the guest starts and back to root when it stops: a root-owned disk of a guest that
         * is not running is as it should be. */
        char why[64];
        if (im->role == IMAGE_DISK && im->st.uid == 0 && im->instance != FSCK_NO_INDEX &&
            !instance_running(f, f->instances[im->instance].uuid, why, sizeof(why)))
            continue;
        check_access(f, out, im->rel, &im->st, want, im->instance);
    }
    free(used);
}

/* ---- the store's tree ---------------------------------------------------------------------- */

static void check_symlinks(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    for (size_t i = 0; i < f->n_symlinks; i++) {
        const struct symlink_facts *s = &f->symlinks[i];
        if (!symlink_escapes(s->rel, s->target, f->roots, f->n_roots))
            continue;
        struct finding *x = finding_add(out, "symlink-escape", SEVERITY_ERROR, s->rel,
                                        "symlink to '%s' leads out of the store (not followed)", s->target);
        set_fix(f, l, x, FIX_QUARANTINE, s->rel, s->instance);
    }
}

static void check_stale_partial(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    static const char *const what[] = {
        [LEFTOVER_PARTIAL] = "partial copy left by ferry's streamer",
        [LEFTOVER_RESIZE] = "Nova resize leftover",
        [LEFTOVER_DELETED] = "Nova deletion leftover",
    };
    char age[32], limit[32];
    for (size_t i = 0; i < f->n_leftovers; i++) {
        const struct leftover_facts *o = &f->leftovers[i];
        uint64_t a = age_of(f, o->newest_mtime);
        if (a < l->stale_partial_age_s || store_is_held(f, o->rel, o->is_dir))
            continue;
        struct finding *x = finding_add(out, "stale-partial", SEVERITY_WARNING, o->rel, "%s, untouched for %s (stale after %s)",
                                        what[o->kind], format_age(a, age, sizeof(age)),
                                        format_age(l->stale_partial_age_s, limit, sizeof(limit)));
        set_fix(f, l, x, FIX_QUARANTINE, o->rel, o->instance);
    }
}

/* Could an image the scan did not understand be using a base? Then none is provably unused. */
static const char *scan_incomplete(const struct store_facts *f)
{
    if (f->n_problems)
        return "the scan could not read everything";
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (!im->st.ok || im->read_errno || (im->qcow2 && im->qcow2->status == QCOW2_INVALID))
            return "an image's header could not be read";
    }
    return NULL;
}

static void check_unused_base(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    bool *used = images_in_use(f, l);
    const char *incomplete = scan_incomplete(f);
    char age[32], limit[32];
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        if (im->role != IMAGE_BASE || used[i] || !im->st.ok || !S_ISREG(im->st.mode))
            continue;
        uint64_t a = age_of(f, im->st.mtime);
        if (a < l->unused_base_age_s || store_is_held(f, im->rel, false))
            continue;
        struct finding *x = finding_add(out, "unused-base", SEVERITY_WARNING, im->rel,
                                        "no image in the store uses this base image, unchanged for %s (unused after %s)",
                                        format_age(a, age, sizeof(age)),
                                        format_age(l->unused_base_age_s, limit, sizeof(limit)));
        set_fix(f, l, x, FIX_QUARANTINE, im->rel, NULL);
        if (incomplete)
            snprintf(x->guarded, sizeof(x->guarded), "%s: cannot prove it unused", incomplete);
    }
    free(used);
}

/* ---- owners ---------------------------------------------------------------------------------- */

bool host_is_dead(const struct store_facts *f, const struct fsck_limits *l, const char *host, char *why, size_t size)
{
    const struct host_lease *h = store_find_lease(f, host);
    if (!h) {
        snprintf(why, size, "%s has no lease record in .ferry/leases", host);
        return true;
    }
    if (!strcmp(h->watch_liveness, "expired")) {
        snprintf(why, size, "the local watch daemon sees the lease of %s expired", host);
        return true;
    }
    switch (peer_liveness(&h->obs, f->now_ms, l->lease_timeout_ms)) {
    case PEER_FENCED:
        snprintf(why, size, "%s fenced itself", host);
        return true;
    case PEER_RELEASED:
        snprintf(why, size, "%s released its lease (stopped cleanly)", host);
        return true;
    case PEER_EXPIRED:
        snprintf(why, size, "the lease of %s did not move for %" PRIu64 " ms", host, l->lease_timeout_ms);
        return true;
    default:
        return false;
    }
}

static size_t valid_claims(const struct instance_facts *in, const struct owner_claim **v, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < in->n_claims; i++)
        if (in->claims[i].status == LEASE_DECODE_OK && n < max)
            v[n++] = &in->claims[i];
    return n;
}

static void check_orphan(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    if (!f->owners_in_use)
        return;
    const struct owner_claim *v[8];
    for (size_t i = 0; i < f->n_instances; i++) {
        const struct instance_facts *in = &f->instances[i];
        if (valid_claims(in, v, 8) || store_is_held(f, in->uuid, true) || store_find_domain(f, in->uuid))
            continue;
        set_instance(f, finding_add(out, "orphan-instance", SEVERITY_WARNING, in->uuid,
                                    "no owner record claims it and %s", f->libvirt_checked
                                        ? "this host's libvirt does not define it"
                                        : "this host's libvirt could not be asked"),
                     i);
    }
}

static void check_dead_owner(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    if (!f->leases_in_use)
        return;
    const struct owner_claim *v[8];
    char why[8][160];
    for (size_t i = 0; i < f->n_instances; i++) {
        const struct instance_facts *in = &f->instances[i];
        size_t n = valid_claims(in, v, 8), dead = 0;
        for (size_t k = 0; k < n; k++)
            dead += host_is_dead(f, l, v[k]->host, why[k], sizeof(why[k]));
        if (n == 0 || dead < n)
            continue;
        set_instance(f, finding_add(out, "dead-owner", SEVERITY_WARNING, in->uuid, "owned by %s, and %s%s",
                                    v[0]->host, why[0], n > 1 ? " (and every other claimant is dead too)" : ""),
                     i);
    }
}

static bool migration_pair(const struct owner_claim *a, const struct owner_claim *b)
{
    return a->rec.state == OWNER_OUTGOING && b->rec.state == OWNER_INCOMING && !strcmp(a->rec.peer, b->host) &&
           !strcmp(b->rec.peer, a->host);
}

static void check_double_owner(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    const struct owner_claim *v[8];
    for (size_t i = 0; i < f->n_instances; i++) {
        const struct instance_facts *in = &f->instances[i];
        size_t n = valid_claims(in, v, 8);
        if (n >= 2) {
            if (n == 2 && (migration_pair(v[0], v[1]) || migration_pair(v[1], v[0])))
                continue;
            set_instance(f, finding_add(out, "double-owner", SEVERITY_ERROR, in->uuid,
                                        "claimed by %zu hosts: %s (%s) and %s (%s)%s", n, v[0]->host,
                                        owner_state_name(v[0]->rec.state), v[1]->host,
                                        owner_state_name(v[1]->rec.state), n > 2 ? " and more" : ""),
                         i);
            continue;
        }
        const struct domain_facts *d = store_find_domain(f, in->uuid);
        if (n != 1 || !d || !f->local_host[0] || !strcmp(v[0]->host, f->local_host))
            continue;
        if (v[0]->rec.state != OWNER_OWNED && !strcmp(v[0]->rec.peer, f->local_host))
            continue; /* this host is the other half of the migration the record describes */
        set_instance(f, finding_add(out, "double-owner", SEVERITY_ERROR, in->uuid,
                                    "defined here on %s (libvirt domain %s, %s) and owned by %s", f->local_host,
                                    d->name, d->active ? "running" : "shut off", v[0]->host),
                     i);
    }
}

static void check_metadata(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    for (size_t i = 0; i < f->n_instances; i++) {
        const struct instance_facts *in = &f->instances[i];
        char rel[FSCK_UUID_LEN + 80];
        if (in->has_disk_info && in->disk_info_error[0]) {
            snprintf(rel, sizeof(rel), "%s/disk.info", in->uuid);
            set_instance(f, finding_add(out, "metadata-invalid", SEVERITY_WARNING, rel, "%s", in->disk_info_error), i);
        }
        if (in->has_libvirt_xml && in->libvirt_xml_error[0]) {
            snprintf(rel, sizeof(rel), "%s/libvirt.xml", in->uuid);
            set_instance(f, finding_add(out, "metadata-invalid", SEVERITY_WARNING, rel, "%s", in->libvirt_xml_error),
                         i);
        }
        for (size_t k = 0; k < in->n_claims; k++) {
            const struct owner_claim *c = &in->claims[k];
            if (c->status == LEASE_DECODE_OK)
                continue;
            char *path;
            if (asprintf(&path, OWNER_DIR "/%s/%s", in->uuid, c->host) < 0)
                abort();
            set_instance(f, finding_add(out, "metadata-invalid", SEVERITY_WARNING, path, "owner record is %s: %s",
                                        lease_decode_status_name(c->status), c->why),
                         i);
            free(path);
        }
    }
}

static void check_deep(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    (void)l;
    for (size_t i = 0; i < f->n_images; i++) {
        const struct image_facts *im = &f->images[i];
        const struct deep_result *d = &im->deep;
        struct finding *x = NULL;
        if (!d->ran && d->error[0])
            x = finding_add(out, "qcow2-check", SEVERITY_WARNING, im->rel, "could not run qemu-img check: %s", d->error);
        else if (!d->ran || d->exit_status == 0)
            continue;
        else if (d->exit_status == 3)
            x = finding_add(out, "qcow2-check", SEVERITY_WARNING, im->rel,
                            "qemu-img check: %" PRId64 " leaked clusters (space lost, data safe)", d->leaks);
        else if (d->exit_status == 2)
            x = finding_add(out, "qcow2-check", SEVERITY_ERROR, im->rel,
                            "qemu-img check: %" PRId64 " corruptions%s", d->corruptions,
                            d->leaks > 0 ? " and leaked clusters" : "");
        else if (d->exit_status == 1)
            x = finding_add(out, "qcow2-check", SEVERITY_ERROR, im->rel,
                            "qemu-img check could not complete: %" PRId64 " check errors", d->check_errors);
        else
            x = finding_add(out, "qcow2-check", SEVERITY_ERROR, im->rel, "qemu-img check failed (exit %d)%s%s",
                            d->exit_status, d->error[0] ? ": " : "", d->error);
        if (x)
            set_instance(f, x, im->instance);
    }
}

/* ---- the table ------------------------------------------------------------------------------ */

const struct rule fsck_rules[] = {
    { "qcow2-header-invalid", SEVERITY_ERROR, FIX_NONE, "a qcow2 header no reader should trust", "",
      check_header_invalid },
    { "qcow2-corrupt-flag", SEVERITY_ERROR, FIX_NONE, "QEMU marked the image corrupt", "", check_corrupt_flag },
    { "qcow2-dirty-flag", SEVERITY_WARNING, FIX_QCOW2_REPAIR, "dirty flag set while no guest runs",
      "qemu-img check -r all, as QEMU does on the next open", check_dirty_flag },
    { "image-truncated", SEVERITY_ERROR, FIX_NONE, "the header or metadata tables reach past the end of the file", "",
      check_truncated },
    { "backing-missing", SEVERITY_ERROR, FIX_NONE, "the backing file does not exist", "", check_backing_missing },
    { "backing-outside-store", SEVERITY_ERROR, FIX_NONE,
      "the backing file is outside the store, a protocol or json: name, or behind an escaping symlink", "",
      check_backing_outside },
    { "backing-loop", SEVERITY_ERROR, FIX_NONE, "a backing chain loops or is deeper than max_chain_depth", "",
      check_backing_loop },
    { "format-mismatch", SEVERITY_ERROR, FIX_NONE,
      "disk.info, libvirt.xml or the backing format extension says one format, the file is another", "",
      check_format_mismatch },
    { "orphan-instance", SEVERITY_WARNING, FIX_NONE, "no owner record and not defined on this host", "",
      check_orphan },
    { "stale-partial", SEVERITY_WARNING, FIX_QUARANTINE,
      "*.ferry-partial, <uuid>_resize or <uuid>_del older than stale_partial_age", "moved to the quarantine",
      check_stale_partial },
    { "unused-base", SEVERITY_WARNING, FIX_QUARANTINE, "a base image no image uses, older than unused_base_age",
      "moved to the quarantine", check_unused_base },
    { "dead-owner", SEVERITY_WARNING, FIX_NONE, "every host that claims the instance is dead", "", check_dead_owner },
    { "double-owner", SEVERITY_ERROR, FIX_NONE, "two hosts claim the instance", "", check_double_owner },
    { "bad-permissions", SEVERITY_ERROR, FIX_NONE, "the qemu user cannot read (or write) a file the guest needs", "",
      check_permissions },
    { "symlink-escape", SEVERITY_ERROR, FIX_QUARANTINE, "a symlink leads out of the store",
      "the symlink itself is moved to the quarantine", check_symlinks },
    { "config-drive-format", SEVERITY_INFO, FIX_NONE, "iso9660 config drive (info), or neither iso9660 nor vfat", "",
      check_config_drive },
    { "missing-disk", SEVERITY_ERROR, FIX_NONE, "a disk named in libvirt.xml is absent", "", check_missing_disk },
    { "metadata-invalid", SEVERITY_WARNING, FIX_NONE, "disk.info, libvirt.xml or an owner record cannot be read", "",
      check_metadata },
    { "unreadable", SEVERITY_ERROR, FIX_NONE, "fsck could not read an entry (permissions, I/O errors)", "",
      check_unreadable },
    { "qcow2-check", SEVERITY_ERROR, FIX_NONE, "--deep: qemu-img check found errors, corruptions or leaks", "",
      check_deep },
};
const size_t fsck_n_rules = sizeof(fsck_rules) / sizeof(fsck_rules[0]);

const struct rule *fsck_rule_find(const char *name)
{
    for (size_t i = 0; i < fsck_n_rules; i++)
        if (!strcmp(fsck_rules[i].name, name))
            return &fsck_rules[i];
    return NULL;
}

static int finding_cmp(const void *a, const void *b)
{
    const struct finding *x = a, *y = b;
    int c = strcmp(x->rel, y->rel);
    if (c)
        return c;
    c = strcmp(x->rule, y->rule);
    return c ? c : strcmp(x->message, y->message);
}

void fsck_rules_run(const struct store_facts *f, const struct fsck_limits *l, struct finding_list *out)
{
    for (size_t i = 0; i < fsck_n_rules; i++)
        fsck_rules[i].check(f, l, out);
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(out->v[0]), finding_cmp);
}
