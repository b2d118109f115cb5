/*
 * The pre-flight checks of `ferry migrate`, each a pure function of the gathered facts.
 * A check judges one thing and says, in one line, what it saw and, when it warns or
 * fails, what the operator can do. Which failure stops which path is the planner's
 * business (plan.c): a check does not know whether the move will go ahead.
 *
 * The byte counts that disk-space shows and the planner reports come from one function,
 * migrate_sizes_count(), so the two never disagree about what a path copies.
 */
#include "checks.h"

#include "text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>


static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static size_t clamp(size_t n, size_t max)
{
    return n < max ? n : max;
}

/* printf at the end of what buf already holds; cut to size, always terminated. */
__attribute__((format(printf, 3, 4))) static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t len = strnlen(buf, size);
    va_list ap;
    if (len + 1 >= size)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

/* For "what%s%s", colon(detail), detail: the detail only when there is one. */
static const char *colon(const char *detail)
{
    return detail[0] ? ": " : "";
}

const char *migrate_src_name(const struct migrate_facts *f)
{
    return f->src.name[0] ? f->src.name : "this host";
}

const char *migrate_dst_name(const struct migrate_facts *f)
{
    return f->dst.name[0] ? f->dst.name : "the destination";
}

const char *migrate_guest_name(const struct migrate_facts *f)
{
    return f->guest.name[0] ? f->guest.name : "the guest";
}

/* --- formatting --------------------------------------------------------------------- */

const char *migrate_format_version(char *buf, size_t size, unsigned long version)
{
    if (!buf || !size)
        return buf;
    if (version == 0)
        snprintf(buf, size, "unknown");
    else
        snprintf(buf, size, "%lu.%lu.%lu", version / 1000000, version / 1000 % 1000, version % 1000);
    return buf;
}

/* --- facts shared with the planner -------------------------------------------------- */

bool migrate_sharing_proven(const struct sharing_facts *s)
{
    return s && s->source_healthy && s->dest_lease_live && s->token_seen;
}

const char *migrate_sharing_gap(const struct migrate_facts *f, char *buf, size_t size)
{
    if (!buf || !size)
        return buf;
    buf[0] = 0;
    if (!f) {
        append(buf, size, "no facts were gathered");
        return buf;
    }
    const struct sharing_facts *s = &f->sharing;
    const char *src = migrate_src_name(f), *dst = migrate_dst_name(f);
    if (!s->source_healthy)
        append(buf, size, "the instance store on %s is not healthy%s%s", src, colon(s->source_detail),
               s->source_detail);
    else if (!s->dest_lease_live)
        append(buf, size, "the lease of %s is not live%s%s", dst, colon(s->dest_detail), s->dest_detail);
    else if (!s->token_seen && !s->token_tried)
        append(buf, size, "the sharing token was not tried: %s",
               s->token_detail[0] ? s->token_detail : "no reason recorded");
    else if (!s->token_seen)
        append(buf, size,
               "%s and %s do not see the same directory: a token written through the libvirt of %s was not found "
               "here with the same content%s%s",
               src, dst, dst, colon(s->token_detail), s->token_detail);
    return buf;
}

bool migrate_guest_active(const struct guest_facts *g)
{
    return g && (g->state == GUEST_RUNNING || g->state == GUEST_PAUSED);
}

/* Neither read-only nor a config drive: what QEMU mirrors in a block migration. */
static bool disk_writable(const struct disk_facts *d)
{
    return !d->readonly && !d->is_config_drive;
}

/* A backing file the destination lacks, and that no earlier disk already counted. */
static bool backing_first_missing(const struct guest_facts *g, size_t i)
{
    const struct disk_facts *d = &g->disks[i];
    if (!d->backing[0] || d->dest_has_backing)
        return false;
    for (size_t j = 0; j < i; j++) {
        const struct disk_facts *e = &g->disks[j];
        if (e->path[0] && e->backing[0] && !e->dest_has_backing && !strcmp(e->backing, d->backing))
            return false;
    }
    return true;
}

void migrate_sizes_count(const struct guest_facts *g, struct migrate_sizes *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof(*s));
    if (!g)
        return;
    for (size_t i = 0; i < clamp(g->n_disks, FACTS_MAX_DISKS); i++) {
        const struct disk_facts *d = &g->disks[i];
        if (!d->path[0]) /* an empty cdrom: nothing to copy */
            continue;
        s->all_allocation = add_sat(s->all_allocation, d->allocation);
        if (disk_writable(d)) {
            s->writable_virtual = add_sat(s->writable_virtual, d->virtual_size);
            s->writable_allocation = add_sat(s->writable_allocation, d->allocation);
            s->n_writable++;
            if (d->backing[0])
                s->writable_overlay = true;
        } else {
            s->readonly_allocation = add_sat(s->readonly_allocation, d->allocation);
        }
        if (backing_first_missing(g, i)) {
            s->missing_backing = add_sat(s->missing_backing, d->backing_allocation);
            s->n_missing_backing++;
        }
    }
    s->block_stream = add_sat(s->readonly_allocation, s->missing_backing);
    s->cold_stream = add_sat(s->all_allocation, s->missing_backing);
}

/* --- the checks --------------------------------------------------------------------- */

/* The stable names, in the order the checks run and print. */
static const char *const check_names[MIGRATE_MAX_CHECKS] = {
    [MIGRATE_CHECK_CPU] = "cpu",
    [MIGRATE_CHECK_LIBVIRT_VERSION] = "libvirt-version",
    [MIGRATE_CHECK_HOSTNAME] = "hostname",
    [MIGRATE_CHECK_URI] = "uri",
    [MIGRATE_CHECK_CONFIG_DRIVE] = "config-drive",
    [MIGRATE_CHECK_DISK_SPACE] = "disk-space",
    [MIGRATE_CHECK_MEMORY] = "memory",
    [MIGRATE_CHECK_NETWORK] = "network",
    [MIGRATE_CHECK_FENCED] = "fenced",
    [MIGRATE_CHECK_SHARED_STORAGE] = "shared-storage",
};

const char *migrate_check_name(enum migrate_check check)
{
    return (unsigned)check < MIGRATE_MAX_CHECKS ? check_names[check] : NULL;
}

/* Every check begins here: nothing to fill, or nothing to judge by. */
static bool have_facts(struct check_result *c, const struct migrate_facts *f, const char *name)
{
    if (!c)
        return false;
    if (!f) {
        check_result_set(c, name, CHECK_FAIL, "no facts were gathered");
        return false;
    }
    return true;
}

/* The checks that need the destination's libvirt skip when it did not answer: "uri"
 * fails then, and every path requires "uri". */
static bool dest_answered(struct check_result *c, const struct migrate_facts *f, const char *name)
{
    if (f->dst.connected)
        return true;
    check_result_set(c, name, CHECK_SKIP, "not checked: libvirt on %s did not answer (see uri)", migrate_dst_name(f));
    return false;
}

void migrate_check_cpu(struct check_result *c, const struct migrate_facts *f, enum migrate_path path)
{
    const char *name = check_names[MIGRATE_CHECK_CPU];
    char what[320];
    (void)path;
    if (!have_facts(c, f, name) || !dest_answered(c, f, name))
        return;
    if (f->guest.cpu_mode[0])
        snprintf(what, sizeof(what), "the guest's CPU (%.31s)", f->guest.cpu_mode);
    else
        snprintf(what, sizeof(what), "the host-model CPU of %.255s (the guest defines none)", migrate_src_name(f));
    const char *d = f->cpu_detail, *dst = migrate_dst_name(f);
    switch (f->cpu) {
    case CPU_IDENTICAL:
        check_result_set(c, name, CHECK_PASS, "%s is identical to what the hypervisor on %s offers%s%s", what, dst,
                         colon(d), d);
        return;
    case CPU_SUPERSET:
        check_result_set(c, name, CHECK_PASS, "the hypervisor on %s offers a superset of %s%s%s", dst, what,
                         colon(d), d);
        return;
    case CPU_INCOMPATIBLE:
        check_result_set(c, name, CHECK_FAIL,
                         "%s is incompatible with the hypervisor on %s%s%s; give the guest a CPU model both hosts "
                         "support (cpu_mode custom) or choose another host",
                         what, dst, colon(d), d);
        return;
    case CPU_UNKNOWN:
    default: /* a verdict nobody knows vouches for nothing */
        check_result_set(c, name, CHECK_WARN,
                         "%s could not be compared with the hypervisor on %s%s%s; compare by hand "
                         "(virsh hypervisor-cpu-compare)",
                         what, dst, colon(d), d);
        return;
    }
}

void migrate_check_libvirt_version(struct check_result *c, const struct migrate_facts *f, enum migrate_path path)
{
    const char *name = check_names[MIGRATE_CHECK_LIBVIRT_VERSION];
    char sv[32], dv[32], sq[32], dq[32];
    (void)path;
    if (!have_facts(c, f, name) || !dest_answered(c, f, name))
        return;
    unsigned long s = f->src.libvirt_version, d = f->dst.libvirt_version;
    migrate_format_version(sv, sizeof(sv), s);
    migrate_format_version(dv, sizeof(dv), d);
    migrate_format_version(sq, sizeof(sq), f->src.qemu_version);
    migrate_format_version(dq, sizeof(dq), f->dst.qemu_version);
    if (s == 0 || d == 0) {
        check_result_set(c, name, CHECK_WARN,
                         "libvirt %s on %s, %s on %s; QEMU %s / %s; a version could not be read: compare by hand "
                         "(virsh version)",
                         sv, migrate_src_name(f), dv, migrate_dst_name(f), sq, dq);
        return;
    }
    if (s == d) {
        check_result_set(c, name, CHECK_PASS, "libvirt %s on both; QEMU %s / %s", sv, sq, dq);
        return;
    }
    bool same_minor = s / 1000 == d / 1000;
    if (same_minor && f->version_match_minor)
        check_result_set(c, name, CHECK_WARN,
                         "libvirt %s on %s, %s on %s; QEMU %s / %s; only the release differs, which [migrate] "
                         "libvirt_version_match = minor allows",
                         sv, migrate_src_name(f), dv, migrate_dst_name(f), sq, dq);
    else if (same_minor)
        check_result_set(c, name, CHECK_FAIL,
                         "libvirt %s on %s, %s on %s; QEMU %s / %s; only the release differs: install the same "
                         "version on both hosts, or allow it with [migrate] libvirt_version_match = minor",
                         sv, migrate_src_name(f), dv, migrate_dst_name(f), sq, dq);
    else
        check_result_set(c, name, CHECK_FAIL,
                         "libvirt %s on %s, %s on %s; QEMU %s / %s; install the same libvirt version on both hosts",
                         sv, migrate_src_name(f), dv, migrate_dst_name(f), sq, dq);
}

void migrate_check_hostname(struct check_result *c, const struct migrate_facts *f, enum migrate_path path)
{
    const char *name = check_names[MIGRATE_CHECK_HOSTNAME];
    (void)path;
    if (!have_facts(c, f, name) || !dest_answered(c, f, name))
        return;
    const char *dst = migrate_dst_name(f), *h = f->dst.hostname, *d = f->hostname_detail;
    if (!h[0])
        check_result_set(c, name, CHECK_FAIL,
                         "libvirt on %s gave no hostname%s%s; give the host a name (hostnamectl) that resolves here",
                         dst, colon(d), d);
    else if (!f->hostname_resolves)
        check_result_set(c, name, CHECK_FAIL,
                         "%s calls itself %s, which does not resolve here%s%s; add it to /etc/hosts "
                         "(scripts/prepare-host --peer %s=ADDR)",
                         dst, h, colon(d), d, h);
    else if (!f->hostname_matches)
        check_result_set(c, name, CHECK_FAIL,
                         "%s calls itself %s, which resolves here to another address than the one ferry connects "
                         "to%s%s; fix its /etc/hosts entry (scripts/prepare-host --peer %s=ADDR)",
                         dst, h, colon(d), d, h);
    else
        check_result_set(c, name, CHECK_PASS,
                         "%s calls itself %s, which resolves here to the address ferry connects to%s%s", dst, h,
                         colon(d), d);
}

void migrate_check_uri(struct check_result *c, const struct migrate_facts *f, enum migrate_path path)
{
    const char *name = check_names[MIGRATE_CHECK_URI];
    (void)path;
    if (!have_facts(c, f, name))
        return;
    const char *dst = migrate_dst_name(f), *uri = f->dst.uri[0] ? f->dst.uri : "(no URI)", *e = f->dst.connect_error;
    if (!f->dst.connected)
        check_result_set(c, name, CHECK_FAIL,
                         "libvirtd on %s does not answer at %s%s%s; check that it listens there "
                         "(scripts/prepare-host --listen-addr) and [migrate] uri_template",
                         dst, uri, colon(e), e);
    else if (f->auth_none)
        check_result_set(c, name, CHECK_WARN,
                         "libvirtd on %s answers at %s, but libvirtd accepts unauthenticated TCP "
                         "(auth_tcp = \"none\"); use qemu+tls:// or sasl",
                         dst, uri);
    else
        check_result_set(c, name, CHECK_PASS, "libvirtd on %s answers at %s", dst, uri);
}

static enum check_status config_drive_status(const struct disk_facts *d)
{
    return !strcmp(d->config_drive_format, "vfat") || !strcmp(d->config_drive_format, "iso9660") ? CHECK_PASS
                                                                                                 : CHECK_WARN;
}

void migrate_check_config_drive(struct check_result *c, const struct migrate_facts *f, enum migrate_path path)
{
    const char *name = check_names[MIGRATE_CHECK_CONFIG_DRIVE];
    const struct disk_facts *shown = NULL;
    size_t count = 0;
    char more[64] = "";
    (void)path;
    if (!have_facts(c, f, name))
        return;
    /* With several, show the first that warns, else the first. */
    for (size_t i = 0; i < clamp(f->guest.n_disks, FACTS_MAX_DISKS); i++) {
        const struct disk_facts *d = &f->guest.disks[i];
        if (!d->is_config_drive)
            continue;
        count++;
        if (!shown || (config_drive_status(shown) == CHECK_PASS && config_drive_status(d) != CHECK_PASS))
            shown = d;
    }
    if (!shown) {
        check_result_set(c, name, CHECK_PASS, "no config drive");
        return;
    }
    if (count > 1)
        snprintf(more, sizeof(more), " (%zu config drives)", count);
    const char *slash = strrchr(shown->path, '/');
    const char *file = slash ? slash + 1 : shown->path[0] ? shown->path : "(no path)";
    const char *format = shown->config_drive_format;
    if (!strcmp(format, "vfat"))
        check_result_set(c, name, CHECK_PASS,
                         "%s (%s) is a vfat config drive%s: libvirt could copy it in a block migration; ferry "
                         "streams it either way",
                         file, shown->target, more);
    else if (!strcmp(format, "iso9660"))
        check_result_set(c, name, CHECK_PASS,
                         "%s (%s) is a read-only iso9660 config drive%s: libvirt's block migration alone cannot "
                         "copy it; ferry streams it",
                         file, shown->target, more);
    else
        check_result_set(c, name, CHECK_WARN,
                         "%s (%s) is a config drive of unknown format '%s'%s; ferry streams it as it is, but check "
                         "the image and Nova's config_drive_format (vfat or iso9660)",
                         file, shown->target, format, more);
}

void migrate_check_disk_space(struct check_result *c, const struct migrate_facts *f, enum migrate_path path)
{
    const char *name = check_names[MIGRATE_CHECK_DISK_SPACE];
    struct migrate_sizes s;
    char need_text[32], free_text[32], basis[160];
    uint64_t need;
    if (!have_facts(c, f, name))
        return;
    const char *dst = migrate_dst_name(f);
    switch (path) {
    case MIGRATE_PATH_SHARED:
        check_result_set(c, name, CHECK_PASS, "nothing to copy: the shared path moves memory and device state only");
        return;
    case MIGRATE_PATH_COLD:
        if (migrate_sharing_proven(&f->sharing)) {
            check_result_set(c, name, CHECK_PASS, "nothing to copy: %s shares the instance directory", dst);
            return;
        }
        break;
    case MIGRATE_PATH_BLOCK:
        break;
    case MIGRATE_PATH_NONE:
    default:
        check_result_set(c, name, CHECK_SKIP, "not checked: no path was chosen");
        return;
    }

    migrate_sizes_count(&f->guest, &s);
    if (path == MIGRATE_PATH_BLOCK) {
        /* Without over-commit the overlays QEMU fills may grow to their virtual size. */
        need = add_sat(f->disk_overcommit ? s.writable_allocation : s.writable_virtual, s.block_stream);
        snprintf(basis, sizeof(basis), "%s", f->disk_overcommit ? "allocations; disk over-commit on"
                                                                : "virtual sizes; disk over-commit off");
    } else {
        /* A cold copy writes the files as they are (holes stay holes), whatever over-commit says. */
        need = s.cold_stream;
        snprintf(basis, sizeof(basis), "allocations: a cold copy writes the files as they are");
    }
    if (s.n_missing_backing)
        append(basis, sizeof(basis), "; with %zu backing file%s %s lacks", s.n_missing_backing,
               s.n_missing_backing == 1 ? "" : "s", dst);
    text_bytes(need_text, sizeof(need_text), need);
    text_bytes(free_text, sizeof(free_text), f->dst.instance_dir_free_bytes);

    if (!f->dst.instance_dir_free_known)
        check_result_set(c, name, CHECK_WARN,
                         "needs %s (%s), free space on %s unknown; check it there (df on the instance directory)",
                         need_text, basis, dst);
    else if (need > f->dst.instance_dir_free_bytes)
        check_result_set(c, name, CHECK_FAIL, "needs %s (%s), %s free on %s; free space there%s", need_text, basis,
                         free_text, dst,
                         path == MIGRATE_PATH_BLOCK && !f->disk_overcommit
                             ? ", or count allocations with --disk-overcommit"
                             : "");
    else
        check_result_set(c, name, CHECK_PASS, "needs %s (%s), %s free on %s", need_text, basis, free_text, dst);
}

void migrate_check_memory(struct check_result *c, const struct migrate_facts *f, enum migrate_path path)
{
    const char *name = check_names[MIGRATE_CHECK_MEMORY];
    char need[32], free_text[32];
    if (!have_facts(c, f, name))
        return;
    if (path == MIGRATE_PATH_COLD && !migrate_guest_active(&f->guest)) {
        check_result_set(c, name, CHECK_SKIP, "not checked: %s is not running and stays off after a cold move",
                         migrate_guest_name(f));
        return;
    }
    if (!dest_answered(c, f, name))
        return;
    text_bytes(need, sizeof(need), f->guest.memory_bytes);
    text_bytes(free_text, sizeof(free_text), f->dst.free_memory_bytes);
    if (f->guest.memory_bytes > f->dst.free_memory_bytes)
        check_result_set(c, name, CHECK_FAIL,
                         "%s needs %s of memory, %s free on %s; free memory there or choose another host",
                         migrate_guest_name(f), need, free_text, migrate_dst_name(f));
    else
        check_result_set(c, name, CHECK_PASS, "%s needs %s of memory, %s free on %s", migrate_guest_name(f), need,
                         free_text, migrate_dst_name(f));
}

static bool name_listed(const char (*names)[FACTS_NAME_MAX], size_t n, const char *wanted)
{
    for (size_t i = 0; i < clamp(n, FACTS_MAX_NETS); i++)
        if (!strcmp(names[i], wanted))
            return true;
    return false;
}

/* An earlier interface uses the same network or bridge: name it once. */
static bool nic_seen_before(const struct guest_facts *g, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (!strcmp(g->nics[j].type, g->nics[i].type) && !strcmp(g->nics[j].source, g->nics[i].source))
            return true;
    return false;
}

void migrate_check_network(struct check_result *c, const struct migrate_facts *f, enum migrate_path path)
{
    const char *name = check_names[MIGRATE_CHECK_NETWORK];
    enum { LIST_MAX = 512 };
    char present[LIST_MAX] = "", missing[LIST_MAX] = "";
    size_t others = 0, n;
    (void)path;
    if (!have_facts(c, f, name) || !dest_answered(c, f, name))
        return;
    n = clamp(f->guest.n_nics, FACTS_MAX_NICS);
    if (n == 0) {
        check_result_set(c, name, CHECK_PASS, "no network interfaces");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct nic_facts *nic = &f->guest.nics[i];
        bool found;
        if (!strcmp(nic->type, "network"))
            found = name_listed(f->dst.networks, f->dst.n_networks, nic->source);
        else if (!strcmp(nic->type, "bridge"))
            found = name_listed(f->dst.bridges, f->dst.n_bridges, nic->source);
        else {
            others++; /* user, direct, ...: nothing on the destination to look up */
            continue;
        }
        if (nic_seen_before(&f->guest, i))
            continue;
        char *list = found ? present : missing;
        append(list, LIST_MAX, "%s%s '%s'", list[0] ? ", " : "", nic->type, nic->source);
    }
    char other_note[80] = "";
    if (others)
        snprintf(other_note, sizeof(other_note), "; %zu interface%s of another type not checked", others,
                 others == 1 ? "" : "s");
    if (missing[0])
        check_result_set(c, name, CHECK_FAIL,
                         "missing on %s: %s%s; create them there (virsh net-define and net-start, or the host "
                         "bridge) before moving the guest",
                         migrate_dst_name(f), missing, other_note);
    else if (!present[0])
        check_result_set(c, name, CHECK_PASS, "no interface uses a libvirt network or host bridge%s", other_note);
    else
        check_result_set(c, name, CHECK_PASS, "%s has %s%s", migrate_dst_name(f), present, other_note);
}

void migrate_check_fenced(struct check_result *c, const struct migrate_facts *f, enum migrate_path path)
{
    const char *name = check_names[MIGRATE_CHECK_FENCED];
    (void)path;
    if (!have_facts(c, f, name))
        return;
    const char *sd = f->src.fenced_detail, *dd = f->dst.fenced_detail;
    if (f->src.fenced && f->dst.fenced)
        check_result_set(c, name, CHECK_FAIL,
                         "%s is fenced%s%s, and so is %s%s%s; once their storage is healthy, run 'ferry storage "
                         "unfence' on each",
                         migrate_src_name(f), colon(sd), sd, migrate_dst_name(f), colon(dd), dd);
    else if (f->src.fenced || f->dst.fenced) {
        const struct host_facts *h = f->src.fenced ? &f->src : &f->dst;
        const char *who = f->src.fenced ? migrate_src_name(f) : migrate_dst_name(f);
        check_result_set(c, name, CHECK_FAIL,
                         "%s is fenced%s%s; once its storage is healthy, run 'ferry storage unfence' there", who,
                         colon(h->fenced_detail), h->fenced_detail);
    } else
        check_result_set(c, name, CHECK_PASS, "neither %s nor %s is fenced", migrate_src_name(f),
                         migrate_dst_name(f));
}

void migrate_check_shared_storage(struct check_result *c, const struct migrate_facts *f, enum migrate_path path)
{
    const char *name = check_names[MIGRATE_CHECK_SHARED_STORAGE];
    char gap[512];
    (void)path;
    if (!have_facts(c, f, name))
        return;
    const struct sharing_facts *s = &f->sharing;
    if (migrate_sharing_proven(s)) {
        check_result_set(c, name, CHECK_PASS,
                         "%s is healthy, the lease of %s is live, and a token written through its libvirt was "
                         "found here with the same content%s",
                         migrate_src_name(f), migrate_dst_name(f),
                         s->fs_recognised_shared ? ""
                                                 : "; libvirt does not recognise the filesystem as shared, so "
                                                   "ferry passes VIR_MIGRATE_UNSAFE");
        return;
    }
    migrate_sharing_gap(f, gap, sizeof(gap));
    /* When an earlier piece is missing, the token was not tried because of it (or for the
     * reason the driver recorded): say so, the operator will ask. */
    char token_note[600] = "";
    if (!s->token_tried && (!s->source_healthy || !s->dest_lease_live))
        snprintf(token_note, sizeof(token_note), "; the sharing token was not tried%s%.512s", colon(s->token_detail),
                 s->token_detail);
    check_result_set(c, name, CHECK_WARN,
                     "not proven: %s%s; auto copies the disks instead (block, or cold for a shut-off guest)", gap,
                     token_note);
}

/* --- all of them ---------------------------------------------------------------------- */

typedef void check_fn(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);

static check_fn *const check_functions[MIGRATE_MAX_CHECKS] = {
    [MIGRATE_CHECK_CPU] = migrate_check_cpu,
    [MIGRATE_CHECK_LIBVIRT_VERSION] = migrate_check_libvirt_version,
    [MIGRATE_CHECK_HOSTNAME] = migrate_check_hostname,
    [MIGRATE_CHECK_URI] = migrate_check_uri,
    [MIGRATE_CHECK_CONFIG_DRIVE] = migrate_check_config_drive,
    [MIGRATE_CHECK_DISK_SPACE] = migrate_check_disk_space,
    [MIGRATE_CHECK_MEMORY] = migrate_check_memory,
    [MIGRATE_CHECK_NETWORK] = migrate_check_network,
    [MIGRATE_CHECK_FENCED] = migrate_check_fenced,
    [MIGRATE_CHECK_SHARED_STORAGE] = migrate_check_shared_storage,
};

size_t migrate_checks_run(const struct migrate_facts *f, enum migrate_path path, struct check_result *out)
{
    if (!f || !out)
        return 0;
    for (size_t i = 0; i < MIGRATE_MAX_CHECKS; i++)
        check_functions[i](&out[i], f, path);
    return MIGRATE_MAX_CHECKS;
}
