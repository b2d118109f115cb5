/*
 * fsck's decisions without a store: facts written by hand go through each rule, and each
 * rule is shown to find its defect, to stay silent on its near misses, and to decide its
 * repair and its guard (running, migrating) as documented. Also the pure helpers the rules
 * stand on: path arithmetic, owner records, the Unix access check (against an oracle over
 * every mode), host death, and the report's counts, exit codes and three forms.
 */
#include "owner_record.h"
#include "paths.h"
#include "report.h"
#include "rules.h"
#include "test_support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"
#define NOW 2000000000
#define DAY 86400

static struct store_facts F;
static struct finding_list L;
static const struct fsck_limits LIMITS = {
    .stale_partial_age_s = DAY,
    .unused_base_age_s = 7 * DAY,
    .max_chain_depth = 3,
    .lease_timeout_ms = 40000,
    .config_drive_format = "vfat",
};

/* ---- building facts ------------------------------------------------------------------------ */

static void reset(void)
{
    finding_list_free(&L);
    store_facts_free(&F);
    F.root = strdup("/store");
    F.roots[0] = F.root;
    F.roots[1] = "/opt/stack/data/nova/instances";
    F.n_roots = 2;
    F.now_s = NOW;
    F.now_ms = 1000000;
    strcpy(F.local_host, "hostA");
    F.root_st = (struct file_stat){ .ok = true, .mode = S_IFDIR | 0755 };
    F.base_dir_st = F.root_st;
    F.qemu_user_known = true;
    strcpy(F.qemu_user, "libvirt-qemu");
    F.qemu_uid = 64055;
    F.qemu_gids[0] = 107;
    F.n_qemu_gids = 1;
    F.owners_in_use = true;
}

#define GROW(arr, n)                                                                                   \
    ((arr) = realloc((arr), ((n) + 1) * sizeof(*(arr))), memset(&(arr)[(n)], 0, sizeof(*(arr))), &(arr)[(n)++])

static size_t add_instance(const char *uuid)
{
    struct instance_facts *in = GROW(F.instances, F.n_instances);
    strcpy(in->uuid, uuid);
    in->dir = (struct file_stat){ .ok = true, .mode = S_IFDIR | 0755 };
    return F.n_instances - 1;
}

static size_t add_image(const char *rel, enum image_role role, size_t instance, const char *format)
{
    struct image_facts *im = GROW(F.images, F.n_images);
    im->rel = strdup(rel);
    im->role = role;
    im->instance = instance;
    im->backing = FSCK_NO_INDEX;
    im->st = (struct file_stat){ .ok = true, .mode = S_IFREG | 0644, .uid = 64055, .gid = 107, .size = 1 << 20,
                                 .mtime = NOW - 30 * DAY, .ino = F.n_images };
    strcpy(im->format, format);
    if (!strcmp(format, "qcow2")) {
        im->qcow2 = calloc(1, sizeof(*im->qcow2));
        im->qcow2->status = QCOW2_VALID;
        im->qcow2->h.version = 3;
    }
    if (role == IMAGE_CONFIG_DRIVE)
        im->config_drive = CONFIG_DRIVE_VFAT;
    if (instance != FSCK_NO_INDEX && F.instances[instance].n_images == 0)
        F.instances[instance].first_image = F.n_images - 1;
    if (instance != FSCK_NO_INDEX)
        F.instances[instance].n_images++;
    return F.n_images - 1;
}

static void set_backing(size_t image, size_t backing, const char *name)
{
    struct image_facts *im = &F.images[image];
    im->qcow2->has_backing = true;
    snprintf(im->qcow2->backing_name, sizeof(im->qcow2->backing_name), "%s", name);
    im->backing_class = BACKING_IN_STORE;
    free(im->backing_rel);
    im->backing_rel = strdup(backing != FSCK_NO_INDEX ? F.images[backing].rel : "_base/gone");
    im->backing = backing;
    im->backing_errno = backing != FSCK_NO_INDEX ? 0 : ENOENT;
}

static void add_claim(size_t instance, const char *host, enum owner_state state, const char *peer)
{
    struct instance_facts *in = &F.instances[instance];
    struct owner_claim *c = GROW(in->claims, in->n_claims);
    strcpy(c->host, host);
    c->status = LEASE_DECODE_OK;
    strcpy(c->rec.instance, in->uuid);
    strcpy(c->rec.host, host);
    c->rec.state = state;
    strcpy(c->rec.peer, peer ? peer : "");
}

static struct host_lease *add_lease(const char *host, enum lease_state state)
{
    struct host_lease *h = GROW(F.leases, F.n_leases);
    strcpy(h->host, host);
    h->readable = true;
    h->state = state;
    struct lease_record rec = { .version = 1, .counter = 5, .state = state };
    peer_observe(&h->obs, &rec, F.now_ms - 2000, F.now_ms - 1990);
    rec.counter = 6;
    peer_observe(&h->obs, &rec, F.now_ms - 10, F.now_ms - 5);
    F.leases_in_use = true;
    return h;
}

static void add_domain(const char *uuid, bool active, bool job)
{
    struct domain_facts *d = GROW(F.domains, F.n_domains);
    strcpy(d->uuid, uuid);
    snprintf(d->name, sizeof(d->name), "instance-%.4s", uuid);
    d->active = active;
    d->job = job;
    F.libvirt_checked = true;
}

static void add_held(const char *rel)
{
    char **slot = GROW(F.held, F.n_held);
    *slot = strdup(rel);
}

static struct disk_decl *add_decl(struct disk_decl **v, size_t *n, const char *path, const char *rel,
                                  const char *format, int err)
{
    struct disk_decl *d = GROW(*v, *n);
    d->path = strdup(path);
    d->rel = rel ? strdup(rel) : NULL;
    strcpy(d->format, format);
    d->stat_errno = err;
    return d;
}

/* Forgets an instance's disk.info and libvirt.xml declarations. */
static void drop_decls(size_t in)
{
    struct instance_facts *x = &F.instances[in];
    for (size_t i = 0; i < x->n_disk_info; i++) {
        free(x->disk_info[i].path);
        free(x->disk_info[i].rel);
    }
    for (size_t i = 0; i < x->n_xml_disks; i++) {
        free(x->xml_disks[i].path);
        free(x->xml_disks[i].rel);
    }
    x->n_disk_info = x->n_xml_disks = 0;
}

/* A clean instance: qcow2 disk on a raw base, config drive, records, claim, live lease. */
static size_t clean_instance(const char *uuid, size_t base)
{
    size_t in = add_instance(uuid);
    char rel[128];
    snprintf(rel, sizeof(rel), "%s/disk", uuid);
    size_t disk = add_image(rel, IMAGE_DISK, in, "qcow2");
    set_backing(disk, base, "/opt/stack/data/nova/instances/_base/b");
    snprintf(rel, sizeof(rel), "%s/disk.config", uuid);
    add_image(rel, IMAGE_CONFIG_DRIVE, in, "raw");
    char path[256];
    snprintf(path, sizeof(path), "/opt/stack/data/nova/instances/%s/disk", uuid);
    snprintf(rel, sizeof(rel), "%s/disk", uuid);
    add_decl(&F.instances[in].disk_info, &F.instances[in].n_disk_info, path, rel, "qcow2", 0);
    add_decl(&F.instances[in].xml_disks, &F.instances[in].n_xml_disks, path, rel, "qcow2", 0);
    add_claim(in, "hostA", OWNER_OWNED, NULL);
    return in;
}

static size_t base;

/* A clean store of two instances on one base, then the rules. */
static void clean_store(void)
{
    reset();
    add_lease("hostA", LEASE_LIVE);
    add_lease("hostB", LEASE_LIVE);
    base = add_image("_base/b", IMAGE_BASE, FSCK_NO_INDEX, "raw");
    clean_instance(U1, base);
    clean_instance(U2, base);
}

static void run(void)
{
    finding_list_free(&L);
    CU_ASSERT_EQUAL_FATAL(store_facts_index(&F), 0);
    fsck_rules_run(&F, &LIMITS, &L);
}

static size_t count(const char *rule, const char *rel)
{
    size_t n = 0;
    for (size_t i = 0; i < L.n; i++)
        n += !strcmp(L.v[i].rule, rule) && (!rel || !strcmp(L.v[i].rel, rel));
    return n;
}

static const struct finding *find(const char *rule, const char *rel)
{
    for (size_t i = 0; i < L.n; i++)
        if (!strcmp(L.v[i].rule, rule) && !strcmp(L.v[i].rel, rel))
            return &L.v[i];
    return NULL;
}

static void dump(void)
{
    for (size_t i = 0; i < L.n; i++)
        fprintf(stderr, "\n      %s %s %s: %s [%s]", severity_name(L.v[i].severity), L.v[i].rule, L.v[i].rel,
                L.v[i].message, L.v[i].guarded);
}

/* Exactly the findings named (rule, rel pairs, NULL-terminated), nothing else. */
static void expect_only(const char *rule, const char *rel)
{
    bool ok = L.n == 1 && count(rule, rel) == 1;
    if (!ok) {
        fprintf(stderr, "\n    expected only %s on %s, got %zu:", rule, rel, L.n);
        dump();
    }
    CU_ASSERT(ok);
}

static void expect_none(void)
{
    if (L.n) {
        fprintf(stderr, "\n    expected no findings, got %zu:", L.n);
        dump();
    }
    CU_ASSERT_EQUAL(L.n, 0);
}

/* ---- the clean store ------------------------------------------------------------------------ */

static void test_clean(void)
{
    reset();
    run();
    expect_none();
    clean_store();
    run();
    expect_none();
}

static void test_rule_table(void)
{
    static const char *const required[] = {
        "qcow2-header-invalid", "qcow2-corrupt-flag", "qcow2-dirty-flag", "image-truncated", "backing-missing",
        "backing-outside-store", "backing-loop", "format-mismatch", "orphan-instance", "stale-partial",
        "unused-base", "dead-owner", "double-owner", "bad-permissions", "symlink-escape", "config-drive-format",
        "missing-disk",
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        CU_ASSERT_PTR_NOT_NULL(fsck_rule_find(required[i]));
    for (size_t i = 0; i < fsck_n_rules; i++)
        for (size_t k = i + 1; k < fsck_n_rules; k++)
            CU_ASSERT(strcmp(fsck_rules[i].name, fsck_rules[k].name) != 0);
    /* What -y may do, as documented. */
    for (size_t i = 0; i < fsck_n_rules; i++) {
        const char *n = fsck_rules[i].name;
        enum fix_kind want = !strcmp(n, "qcow2-dirty-flag")                            ? FIX_QCOW2_REPAIR
                             : !strcmp(n, "stale-partial") || !strcmp(n, "unused-base") ||
                                       !strcmp(n, "symlink-escape")
                                 ? FIX_QUARANTINE
                                 : FIX_NONE;
        CU_ASSERT_EQUAL(fsck_rules[i].fix, want);
        CU_ASSERT_EQUAL(fsck_rules[i].repair[0] != 0, want != FIX_NONE);
    }
    CU_ASSERT_PTR_NULL(fsck_rule_find("bogus"));
}

/* ---- images ---------------------------------------------------------------------------------- */

static void test_header_invalid_and_truncated(void)
{
    clean_store();
    struct qcow2_info *q = F.images[1].qcow2;
    q->status = QCOW2_INVALID;
    strcpy(q->why, "qcow2 version 9");
    run();
    expect_only("qcow2-header-invalid", U1 "/disk");
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "qcow2 version 9"));
    CU_ASSERT_EQUAL(L.v[0].severity, SEVERITY_ERROR);
    CU_ASSERT_EQUAL(L.v[0].fix, FIX_NONE);
    CU_ASSERT_STRING_EQUAL(L.v[0].instance, U1);

    q->truncated = true; /* the file ends inside the header */
    run();
    expect_only("image-truncated", U1 "/disk");

    q->status = QCOW2_VALID; /* tables past the end */
    run();
    expect_only("image-truncated", U1 "/disk");
}

static void test_corrupt_and_dirty(void)
{
    clean_store();
    F.images[1].qcow2->corrupt = true;
    run();
    expect_only("qcow2-corrupt-flag", U1 "/disk");

    F.images[1].qcow2->dirty = true; /* corrupt and dirty: corrupt is what matters */
    run();
    expect_only("qcow2-corrupt-flag", U1 "/disk");

    F.images[1].qcow2->corrupt = false;
    run();
    expect_only("qcow2-dirty-flag", U1 "/disk");
    CU_ASSERT_EQUAL(L.v[0].fix, FIX_QCOW2_REPAIR);
    CU_ASSERT_STRING_EQUAL(L.v[0].fix_rel, U1 "/disk");
    CU_ASSERT_STRING_EQUAL(L.v[0].guarded, "");
    CU_ASSERT_EQUAL(L.v[0].severity, SEVERITY_WARNING);

    /* A running guest keeps the bit set with lazy refcounts: no finding. */
    add_domain(U1, true, false);
    run();
    expect_none();
    F.domains[0].active = false; /* defined, shut off: found again */
    run();
    expect_only("qcow2-dirty-flag", U1 "/disk");
    add_held(U1 "/disk"); /* a QEMU libvirt does not know about */
    run();
    expect_none();

    /* Migrating but not running (an incoming claim): reported, never repaired. */
    clean_store();
    F.images[1].qcow2->dirty = true;
    add_claim(0, "hostB", OWNER_INCOMING, "hostA");
    F.instances[0].claims[0].rec.state = OWNER_OUTGOING;
    strcpy(F.instances[0].claims[0].rec.peer, "hostB");
    run();
    expect_only("qcow2-dirty-flag", U1 "/disk");
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].guarded, "migrating"));

    /* A dirty base nobody holds open. */
    clean_store();
    F.images[base].format[0] = 0;
    strcpy(F.images[base].format, "qcow2");
    F.images[base].qcow2 = calloc(1, sizeof(struct qcow2_info));
    F.images[base].qcow2->status = QCOW2_VALID;
    F.images[base].qcow2->dirty = true;
    drop_decls(0); /* they said qcow2 over raw... */
    drop_decls(1);
    run();
    CU_ASSERT_EQUAL(count("qcow2-dirty-flag", "_base/b"), 1);
    add_held("_base/b");
    run();
    CU_ASSERT_EQUAL(count("qcow2-dirty-flag", "_base/b"), 0);
}

static void test_backing(void)
{
    clean_store();
    struct image_facts *im = &F.images[1];
    im->backing = FSCK_NO_INDEX;
    im->backing_errno = ENOENT;
    run();
    expect_only("backing-missing", U1 "/disk");
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "_base/b does not exist"));

    static const struct {
        enum backing_class cls;
        int err;
        const char *message;
    } outside[] = {
        { BACKING_OUTSIDE, 0, "outside the instance store" },
        { BACKING_PROTOCOL, 0, "protocol name" },
        { BACKING_JSON, 0, "json: specification" },
        { BACKING_IN_STORE, EXDEV, "follows a symlink out of the store" },
        { BACKING_IN_STORE, ELOOP, "follows a symlink out of the store" },
    };
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        im->backing_class = outside[i].cls;
        im->backing_errno = outside[i].err;
        run();
        expect_only("backing-outside-store", U1 "/disk");
        CU_ASSERT_PTR_NOT_NULL(L.n ? strstr(L.v[0].message, outside[i].message) : NULL);
    }
    im->backing_class = BACKING_IN_STORE;
    im->backing_errno = EACCES;
    run();
    expect_only("unreadable", U1 "/disk");
    im->backing_class = BACKING_NONE;
    im->backing_errno = 0;
    run();
    expect_none();
}

static void test_backing_loop_and_depth(void)
{
    clean_store();
    /* U1/disk -> _base/b -> _base/c -> U1/disk */
    size_t c = add_image("_base/c", IMAGE_BASE, FSCK_NO_INDEX, "qcow2");
    F.images[base].format[0] = 0;
    strcpy(F.images[base].format, "qcow2");
    F.images[base].qcow2 = calloc(1, sizeof(struct qcow2_info));
    F.images[base].qcow2->status = QCOW2_VALID;
    set_backing(base, c, "c");
    set_backing(c, 1, "../" U1 "/disk");
    drop_decls(0);
    drop_decls(1);
    run();
    CU_ASSERT_EQUAL(count("backing-loop", U1 "/disk"), 1);
    CU_ASSERT_EQUAL(count("backing-loop", "_base/b"), 1);
    CU_ASSERT_EQUAL(count("backing-loop", "_base/c"), 1);
    CU_ASSERT_EQUAL(count("backing-loop", U2 "/disk"), 1); /* its chain runs into the loop */
    CU_ASSERT_PTR_NOT_NULL(strstr(find("backing-loop", "_base/b")->message, "loops back"));

    /* A straight chain: disk -> b -> c -> d -> e is 4 deep; the limit is 3. */
    size_t d = add_image("_base/d", IMAGE_BASE, FSCK_NO_INDEX, "qcow2");
    size_t e = add_image("_base/e", IMAGE_BASE, FSCK_NO_INDEX, "raw");
    set_backing(c, d, "d");
    set_backing(d, e, "e");
    run();
    CU_ASSERT_EQUAL(count("backing-loop", U1 "/disk"), 1);
    CU_ASSERT_EQUAL(count("backing-loop", "_base/b"), 0); /* 3 deep: allowed */
    CU_ASSERT_PTR_NOT_NULL(strstr(find("backing-loop", U1 "/disk")->message, "max_chain_depth = 3"));
    F.images[d].backing = FSCK_NO_INDEX;
    F.images[d].qcow2->has_backing = false;
    F.images[d].backing_class = BACKING_NONE;
    run();
    CU_ASSERT_EQUAL(count("backing-loop", NULL), 0);
}

static void test_format_mismatch(void)
{
    clean_store();
    strcpy(F.instances[0].disk_info[0].format, "raw");
    run();
    expect_only("format-mismatch", U1 "/disk");
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "disk.info says raw, the file is qcow2"));
    strcpy(F.instances[0].disk_info[0].format, "qcow2");
    strcpy(F.instances[0].xml_disks[0].format, "raw");
    run();
    expect_only("format-mismatch", U1 "/disk");
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "libvirt.xml says raw"));
    strcpy(F.instances[0].xml_disks[0].format, ""); /* not said: nothing to compare */
    run();
    expect_none();
    /* The header's backing format extension. */
    F.images[1].qcow2->has_backing_format = true;
    strcpy(F.images[1].qcow2->backing_format, "qcow2");
    run();
    expect_only("format-mismatch", U1 "/disk");
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "backing file _base/b is qcow2, the file is raw"));
    strcpy(F.images[1].qcow2->backing_format, "raw");
    run();
    expect_none();
    /* A declaration naming a file that is not there is missing-disk's business, not this rule's. */
    F.instances[0].disk_info[0].rel[0] = 'x';
    run();
    expect_none();
}

static void test_missing_disk(void)
{
    clean_store();
    add_decl(&F.instances[0].xml_disks, &F.instances[0].n_xml_disks, "/opt/stack/data/nova/instances/" U1 "/disk.local",
             U1 "/disk.local", "qcow2", ENOENT);
    add_decl(&F.instances[0].xml_disks, &F.instances[0].n_xml_disks, "/elsewhere/vol", NULL, "raw", 0);
    add_decl(&F.instances[0].xml_disks, &F.instances[0].n_xml_disks, "/opt/x/" U1 "/disk.swap", U1 "/disk.swap", "raw",
             EXDEV);
    run();
    expect_only("missing-disk", U1 "/disk.local");
}

static void test_config_drive(void)
{
    clean_store();
    F.images[2].config_drive = CONFIG_DRIVE_ISO9660;
    run();
    expect_only("config-drive-format", U1 "/disk.config");
    CU_ASSERT_EQUAL(L.v[0].severity, SEVERITY_INFO);
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "config_drive_format = vfat"));
    F.images[2].config_drive = CONFIG_DRIVE_UNKNOWN;
    run();
    expect_only("config-drive-format", U1 "/disk.config");
    CU_ASSERT_EQUAL(L.v[0].severity, SEVERITY_WARNING);
}

/* ---- permissions ---------------------------------------------------------------------------------- */

/* The oracle: the permission bits that apply, chosen by a different route. */
static bool oracle_access(unsigned mode, bool owner, bool member, unsigned want)
{
    unsigned shift = owner ? 6 : member ? 3 : 0;
    bool ok = true;
    for (unsigned bit = 1; bit <= 4; bit <<= 1)
        if (want & bit)
            ok = ok && ((mode >> shift) & bit);
    return ok;
}

static void test_unix_access(void)
{
    uint32_t gids[] = { 100, 107 };
    for (unsigned mode = 0; mode < 01000; mode++)
        for (int who = 0; who < 3; who++)
            for (unsigned want = 0; want < 8; want++) {
                uint32_t file_uid = who == 0 ? 5 : 9, file_gid = who == 1 ? 107 : 55;
                bool got = unix_access(mode, file_uid, file_gid, 5, gids, 2, want);
                CU_ASSERT_EQUAL(got, oracle_access(mode, who == 0, who == 1, want));
            }
    /* The owner's bits apply to the owner even when the group's would allow more. */
    CU_ASSERT_FALSE(unix_access(0070, 5, 107, 5, gids, 2, 4));
}

static void test_bad_permissions(void)
{
    clean_store();
    F.images[1].st.mode = S_IFREG | 0644;
    F.images[1].st.uid = 4242;
    F.images[1].st.gid = 0;
    run();
    expect_only("bad-permissions", U1 "/disk");
    CU_ASSERT_PTR_NOT_NULL_FATAL(L.n > 0 ? L.v[0].message : NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "libvirt-qemu (uid 64055) cannot read and write it: mode 0644, owner 4242:0"));
    /* Owned by root while its guest is not running: libvirt's dynamic ownership hands it to
     * the qemu user when the guest starts. Not a finding. */
    F.images[1].st.uid = 0;
    run();
    CU_ASSERT_EQUAL(count("bad-permissions", NULL), 0);
    F.images[1].st.uid = 4242;
    F.images[1].st.mode = S_IFREG | 0666;
    run();
    expect_none();
    /* Read-only is enough for a config drive and a base; a base nobody uses is not checked. */
    F.images[2].st = (struct file_stat){ .ok = true, .mode = S_IFREG | 0604 };
    F.images[base].st.mode = S_IFREG | 0600;
    F.images[base].st.uid = 0;
    run();
    expect_only("bad-permissions", "_base/b");
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "cannot read it"));
    F.images[1].backing = F.images[3].backing = FSCK_NO_INDEX;
    F.images[base].st.mtime = NOW;
    run();
    CU_ASSERT_EQUAL(count("bad-permissions", NULL), 0);
    /* Directories need search permission. */
    clean_store();
    F.instances[1].dir.mode = S_IFDIR | 0700;
    F.instances[1].dir.uid = 0;
    F.root_st.mode = S_IFDIR | 0750;
    F.root_st.gid = 107;
    run();
    expect_only("bad-permissions", U2);
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "cannot enter it"));
    /* No qemu user on this host: the rule does not run. */
    F.qemu_user_known = false;
    run();
    expect_none();
}

/* ---- the tree -------------------------------------------------------------------------------------- */

static void add_symlink(const char *rel, const char *target, const char *instance)
{
    struct symlink_facts *s = GROW(F.symlinks, F.n_symlinks);
    s->rel = strdup(rel);
    s->target = strdup(target);
    strcpy(s->instance, instance ? instance : "");
}

static void test_symlink_escape(void)
{
    clean_store();
    add_symlink(U1 "/console.log", "/etc/passwd", U1);
    add_symlink(U1 "/disk.eph0", "../_base/b", U1);                            /* inside: fine */
    add_symlink("_base/x", "/opt/stack/data/nova/instances/_base/b", NULL);   /* inside, by the other root */
    add_symlink("_base/y", "../../../etc", NULL);
    add_symlink(U2, "/srv/elsewhere/" U2, U2);
    run();
    CU_ASSERT_EQUAL(L.n, 3);
    const struct finding *x = find("symlink-escape", U1 "/console.log");
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_EQUAL(x->fix, FIX_QUARANTINE);
    CU_ASSERT_STRING_EQUAL(x->fix_rel, U1 "/console.log");
    CU_ASSERT_STRING_EQUAL(x->guarded, "");
    CU_ASSERT_PTR_NOT_NULL(find("symlink-escape", "_base/y"));
    CU_ASSERT_PTR_NOT_NULL(find("symlink-escape", U2));
    /* The guest of U1 runs: reported, not to be touched. */
    add_domain(U1, true, false);
    run();
    x = find("symlink-escape", U1 "/console.log");
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_PTR_NOT_NULL(strstr(x->guarded, "guest running (libvirt domain"));
}

static void add_leftover(const char *rel, enum leftover_kind kind, const char *instance, int64_t mtime, bool dir)
{
    struct leftover_facts *o = GROW(F.leftovers, F.n_leftovers);
    o->rel = strdup(rel);
    o->kind = kind;
    strcpy(o->instance, instance ? instance : "");
    o->newest_mtime = mtime;
    o->is_dir = dir;
}

static void test_stale_partial(void)
{
    clean_store();
    add_leftover(U1 "/disk.ferry-partial", LEFTOVER_PARTIAL, U1, NOW - DAY, false);          /* exactly stale */
    add_leftover(U1 "/disk.ferry-partial.manifest", LEFTOVER_PARTIAL, U1, NOW - DAY + 1, false); /* not yet */
    add_leftover(U2 "_del", LEFTOVER_DELETED, U2, NOW - 3 * DAY, true);
    add_leftover(U1 "_resize", LEFTOVER_RESIZE, U1, NOW + 100, true); /* a clock ahead: age 0 */
    add_leftover("_base/abc.ferry-partial", LEFTOVER_PARTIAL, NULL, NOW - 2 * DAY, false);
    run();
    CU_ASSERT_EQUAL(L.n, 3);
    const struct finding *x = find("stale-partial", U1 "/disk.ferry-partial");
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_PTR_NOT_NULL(strstr(x->message, "partial copy left by ferry's streamer, untouched for 1d 0h (stale after 1d 0h)"));
    CU_ASSERT_EQUAL(x->fix, FIX_QUARANTINE);
    x = find("stale-partial", U2 "_del");
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_PTR_NOT_NULL(strstr(x->message, "Nova deletion leftover, untouched for 3d 0h"));
    CU_ASSERT_STRING_EQUAL(x->instance, U2);
    CU_ASSERT_PTR_NOT_NULL(find("stale-partial", "_base/abc.ferry-partial"));
    /* Held open (a streamer still writing, a directory in use): not stale. */
    add_held(U2 "_del/disk");
    add_held("_base/abc.ferry-partial");
    run();
    CU_ASSERT_EQUAL(L.n, 1);
    /* The instance is migrating: reported, guarded. */
    add_domain(U1, false, true);
    run();
    x = find("stale-partial", U1 "/disk.ferry-partial");
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_PTR_NOT_NULL(strstr(x->guarded, "migrating (a libvirt job"));
}

static void test_unused_base(void)
{
    clean_store();
    size_t old = add_image("_base/old", IMAGE_BASE, FSCK_NO_INDEX, "raw");
    size_t young = add_image("_base/young", IMAGE_BASE, FSCK_NO_INDEX, "raw");
    F.images[young].st.mtime = NOW - 7 * DAY + 1;
    size_t via = add_image("_base/via-chain", IMAGE_BASE, FSCK_NO_INDEX, "raw");
    size_t chain = add_image("snapshots/s1", IMAGE_CHAIN, FSCK_NO_INDEX, "qcow2");
    set_backing(chain, via, "../_base/via-chain");
    set_backing(F.instances[1].first_image, chain, "../snapshots/s1");
    drop_decls(1);
    run();
    expect_only("unused-base", "_base/old");
    CU_ASSERT_EQUAL(L.v[0].fix, FIX_QUARANTINE);
    CU_ASSERT_STRING_EQUAL(L.v[0].guarded, "");
    CU_ASSERT_STRING_EQUAL(L.v[0].instance, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "unchanged for 30d 0h (unused after 7d 0h)"));
    (void)old;
    /* An image whose header could not be read might use it: reported, never moved. */
    F.images[1].qcow2->status = QCOW2_INVALID;
    run();
    const struct finding *x = find("unused-base", "_base/old");
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_PTR_NOT_NULL(strstr(x->guarded, "cannot prove it unused"));
    F.images[1].qcow2->status = QCOW2_VALID;
    struct scan_problem *p = GROW(F.problems, F.n_problems);
    p->rel = strdup(U2);
    p->err = EACCES;
    p->what = strdup("cannot open the instance directory");
    run();
    x = find("unused-base", "_base/old");
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_PTR_NOT_NULL(strstr(x->guarded, "could not read everything"));
    CU_ASSERT_EQUAL(count("unreadable", U2), 1);
    /* Held open: in use whatever the chains say. */
    add_held("_base/old");
    run();
    CU_ASSERT_EQUAL(count("unused-base", NULL), 0);
}

/* ---- owners --------------------------------------------------------------------------------------- */

static void test_orphan(void)
{
    clean_store();
    F.instances[0].n_claims = 0;
    run();
    expect_only("orphan-instance", U1);
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "could not be asked"));
    add_domain(U2, true, false); /* libvirt answered, and does not know U1 */
    F.instances[1].n_claims = 0;
    run();
    expect_only("orphan-instance", U1);
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "does not define it"));
    add_domain(U1, false, false); /* defined here, shut off */
    run();
    expect_none();
    F.n_domains = 0;
    add_held(U1 "/disk");
    run();
    CU_ASSERT_EQUAL(count("orphan-instance", U1), 0);
    CU_ASSERT_EQUAL(count("orphan-instance", U2), 1);
    /* A claim that does not decode is no claim. */
    clean_store();
    F.instances[0].claims[0].status = LEASE_DECODE_BAD_CHECKSUM;
    strcpy(F.instances[0].claims[0].why, "checksum mismatch");
    run();
    CU_ASSERT_EQUAL(count("orphan-instance", U1), 1);
    CU_ASSERT_EQUAL(count("metadata-invalid", ".ferry/owners/" U1 "/hostA"), 1);
    /* Without .ferry/owners the rule is skipped (the scan notes it). */
    F.owners_in_use = false;
    run();
    CU_ASSERT_EQUAL(count("orphan-instance", NULL), 0);
}

static void test_host_is_dead(void)
{
    char why[200];
    clean_store();
    CU_ASSERT_FALSE(host_is_dead(&F, &LIMITS, "hostA", why, sizeof(why)));
    CU_ASSERT_TRUE(host_is_dead(&F, &LIMITS, "ghost", why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "no lease record"));
    add_lease("gone", LEASE_RELEASED);
    CU_ASSERT_TRUE(host_is_dead(&F, &LIMITS, "gone", why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "released"));
    add_lease("fenced", LEASE_FENCED);
    CU_ASSERT_TRUE(host_is_dead(&F, &LIMITS, "fenced", why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "fenced itself"));
    /* Live by its record, but the local watch daemon has seen it expire. */
    struct host_lease *h = add_lease("stuck", LEASE_LIVE);
    strcpy(h->watch_liveness, "expired");
    CU_ASSERT_TRUE(host_is_dead(&F, &LIMITS, "stuck", why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "watch daemon"));
    strcpy(h->watch_liveness, "live");
    CU_ASSERT_FALSE(host_is_dead(&F, &LIMITS, "stuck", why, sizeof(why)));
    /* Unchanged for lease_timeout within this run: expired. */
    struct lease_record rec = { .version = 1, .counter = 9, .state = LEASE_LIVE };
    memset(&h->obs, 0, sizeof(h->obs));
    peer_observe(&h->obs, &rec, 1000, 1010);
    peer_observe(&h->obs, &rec, 1010 + 40000, 1010 + 40010);
    CU_ASSERT_TRUE(host_is_dead(&F, &LIMITS, "stuck", why, sizeof(why)));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "did not move"));
    /* Seen once, not long enough to know: not dead. */
    memset(&h->obs, 0, sizeof(h->obs));
    peer_observe(&h->obs, &rec, 1000, 1010);
    CU_ASSERT_FALSE(host_is_dead(&F, &LIMITS, "stuck", why, sizeof(why)));
    /* Unreadable record: unknown, not dead. */
    memset(&h->obs, 0, sizeof(h->obs));
    h->readable = false;
    CU_ASSERT_FALSE(host_is_dead(&F, &LIMITS, "stuck", why, sizeof(why)));
}

static void test_dead_owner(void)
{
    clean_store();
    add_lease("hostC", LEASE_RELEASED);
    F.instances[0].claims[0].host[4] = 'C';
    F.instances[0].claims[0].rec.host[4] = 'C';
    run();
    expect_only("dead-owner", U1);
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "owned by hostC, and hostC released its lease"));
    /* No lease records at all on the store: skipped. */
    F.leases_in_use = false;
    run();
    expect_none();
    F.leases_in_use = true;
    /* Mid-migration to a live host: not dead. */
    F.instances[0].claims[0].rec.state = OWNER_OUTGOING;
    strcpy(F.instances[0].claims[0].rec.peer, "hostB");
    add_claim(0, "hostB", OWNER_INCOMING, "hostC");
    run();
    expect_none();
    /* Both dead. */
    add_lease("hostD", LEASE_FENCED);
    strcpy(F.instances[0].claims[1].host, "hostD");
    strcpy(F.instances[0].claims[1].rec.host, "hostD");
    strcpy(F.instances[0].claims[0].rec.peer, "hostD");
    strcpy(F.instances[0].claims[1].rec.peer, "hostC");
    run();
    CU_ASSERT_EQUAL(count("dead-owner", U1), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(find("dead-owner", U1)->message, "every other claimant is dead"));
}

static void test_double_owner(void)
{
    clean_store();
    add_claim(0, "hostB", OWNER_OWNED, NULL);
    run();
    expect_only("double-owner", U1);
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "claimed by 2 hosts: hostA (owned) and hostB (owned)"));
    /* The two halves of one migration are not a double owner... */
    F.instances[0].claims[0].rec.state = OWNER_OUTGOING;
    strcpy(F.instances[0].claims[0].rec.peer, "hostB");
    F.instances[0].claims[1].rec.state = OWNER_INCOMING;
    strcpy(F.instances[0].claims[1].rec.peer, "hostA");
    run();
    expect_none();
    /* ...but halves that do not match are. */
    strcpy(F.instances[0].claims[1].rec.peer, "hostC");
    run();
    expect_only("double-owner", U1);
    /* Defined here (hostA) while hostB owns it. */
    clean_store();
    strcpy(F.instances[1].claims[0].host, "hostB");
    strcpy(F.instances[1].claims[0].rec.host, "hostB");
    add_domain(U2, false, false);
    run();
    expect_only("double-owner", U2);
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "defined here on hostA (libvirt domain instance-2222, shut off) and owned by hostB"));
    /* hostB is migrating it here: fine. */
    F.instances[1].claims[0].rec.state = OWNER_OUTGOING;
    strcpy(F.instances[1].claims[0].rec.peer, "hostA");
    run();
    expect_none();
    /* Owned by this host and defined here: fine. */
    clean_store();
    add_domain(U1, true, false);
    run();
    expect_none();
}

/* ---- what the rules share ----------------------------------------------------------------------- */

static void test_guarded(void)
{
    char why[96];
    clean_store();
    CU_ASSERT_FALSE(instance_guarded(&F, U1, why, sizeof(why)));
    CU_ASSERT_FALSE(instance_guarded(&F, "", why, sizeof(why)));
    add_held(U1 "/disk");
    CU_ASSERT_TRUE(instance_guarded(&F, U1, why, sizeof(why)));
    CU_ASSERT_STRING_EQUAL(why, "guest running (a process holds its files open)");
    CU_ASSERT_FALSE(instance_guarded(&F, U2, why, sizeof(why)));
    add_held(U2 "_del/x"); /* a sibling with a longer name is not the instance */
    CU_ASSERT_EQUAL(store_facts_index(&F), 0);
    CU_ASSERT_FALSE(instance_guarded(&F, U2, why, sizeof(why)));
    add_claim(1, "hostB", OWNER_INCOMING, "hostA");
    CU_ASSERT_TRUE(instance_guarded(&F, U2, why, sizeof(why)));
    CU_ASSERT_STRING_EQUAL(why, "migrating (owner record: hostB incoming, peer hostA)");
}

/* Repairs are the owner's: another live host's instance is reported, not repaired. */
static void test_owned_elsewhere(void)
{
    clean_store();
    add_symlink(U2 "/escape", "/etc", U2);
    strcpy(F.instances[1].claims[0].host, "hostB");
    strcpy(F.instances[1].claims[0].rec.host, "hostB");
    run();
    const struct finding *x = find("symlink-escape", U2 "/escape");
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_STRING_EQUAL(x->guarded, "owned by hostB: repairs are left to that host");
    /* hostB released its lease: dead, so this host may repair (and dead-owner says so). */
    F.leases[1].obs.state = LEASE_RELEASED;
    run();
    x = find("symlink-escape", U2 "/escape");
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    CU_ASSERT_STRING_EQUAL(x->guarded, "");
    CU_ASSERT_PTR_NOT_NULL(find("dead-owner", U2));
    /* No owner records on the store: only what this host's libvirt defines is its own. */
    clean_store();
    add_symlink(U2 "/escape", "/etc", U2);
    F.owners_in_use = false;
    F.instances[1].n_claims = 0;
    run();
    CU_ASSERT_STRING_EQUAL(find("symlink-escape", U2 "/escape")->guarded,
                           "no owner records on this store: another host may run it");
    add_domain(U2, false, false);
    run();
    CU_ASSERT_STRING_EQUAL(find("symlink-escape", U2 "/escape")->guarded, "");
    /* Leftovers of an instance that is gone are anyone's to clean. */
    add_leftover(U1 "_del", LEFTOVER_DELETED, "33333333-3333-4333-8333-333333333333", NOW - 9 * DAY, true);
    run();
    CU_ASSERT_STRING_EQUAL(find("stale-partial", U1 "_del")->guarded, "");
}

static void test_metadata_and_deep(void)
{
    clean_store();
    F.instances[0].has_disk_info = true;
    strcpy(F.instances[0].disk_info_error, "disk.info is not a JSON object");
    F.instances[1].has_libvirt_xml = true;
    strcpy(F.instances[1].libvirt_xml_error, "libvirt.xml is not a domain's XML");
    run();
    CU_ASSERT_EQUAL(count("metadata-invalid", U1 "/disk.info"), 1);
    CU_ASSERT_EQUAL(count("metadata-invalid", U2 "/libvirt.xml"), 1);
    CU_ASSERT_EQUAL(L.n, 2);

    clean_store();
    struct deep_result *d = &F.images[1].deep;
    *d = (struct deep_result){ .ran = true, .exit_status = 0 };
    run();
    expect_none();
    *d = (struct deep_result){ .ran = true, .exit_status = 3, .leaks = 12 };
    run();
    expect_only("qcow2-check", U1 "/disk");
    CU_ASSERT_EQUAL(L.v[0].severity, SEVERITY_WARNING);
    CU_ASSERT_PTR_NOT_NULL(strstr(L.v[0].message, "12 leaked clusters"));
    *d = (struct deep_result){ .ran = true, .exit_status = 2, .corruptions = 4, .leaks = 0 };
    run();
    expect_only("qcow2-check", U1 "/disk");
    CU_ASSERT_EQUAL(L.v[0].severity, SEVERITY_ERROR);
    *d = (struct deep_result){ .ran = false, .error = "cannot run qemu-img: No such file or directory" };
    run();
    expect_only("qcow2-check", U1 "/disk");
}

static void test_sorted(void)
{
    clean_store();
    add_symlink("zz", "/x", NULL);
    add_symlink("aa", "/y", NULL);
    F.images[2].config_drive = CONFIG_DRIVE_ISO9660;
    run();
    CU_ASSERT_EQUAL_FATAL(L.n, 3);
    CU_ASSERT_STRING_EQUAL(L.v[0].rel, U1 "/disk.config");
    CU_ASSERT_STRING_EQUAL(L.v[1].rel, "aa");
    CU_ASSERT_STRING_EQUAL(L.v[2].rel, "zz");
}

/* ---- paths -------------------------------------------------------------------------------------------- */

static void test_paths(void)
{
    char out[256];
    const char *roots[] = { "/store/", "/opt/nova" };
    CU_ASSERT_EQUAL(path_join_rel("a/b", "../c", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "a/c");
    CU_ASSERT_EQUAL(path_join_rel("a", "./x//y/", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "a/x/y");
    CU_ASSERT_EQUAL(path_join_rel("a", "../..", out, sizeof(out)), -EXDEV);
    CU_ASSERT_EQUAL(path_join_rel("", "..", out, sizeof(out)), -EXDEV);
    CU_ASSERT_EQUAL(path_join_rel("a", "..", out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(path_join_rel("a", "0123456789", out, 8), -ENAMETOOLONG);

    CU_ASSERT_EQUAL(path_under_roots("/store/_base/x", roots, 2, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "_base/x");
    CU_ASSERT_EQUAL(path_under_roots("/opt/nova", roots, 2, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(path_under_roots("/opt/novax/y", roots, 2, out, sizeof(out)), -EXDEV);
    CU_ASSERT_EQUAL(path_under_roots("/store/../etc", roots, 2, out, sizeof(out)), -EXDEV);
    CU_ASSERT_EQUAL(path_under_roots("store/x", roots, 2, out, sizeof(out)), -EXDEV);

    CU_ASSERT_TRUE(path_has_protocol("nbd:localhost:10809"));
    CU_ASSERT_TRUE(path_has_protocol("http://x/y"));
    CU_ASSERT_TRUE(path_has_protocol("json:{}"));
    CU_ASSERT_FALSE(path_has_protocol("/a:b"));
    CU_ASSERT_FALSE(path_has_protocol("a/b:c"));

    static const struct {
        const char *name, *image;
        enum backing_class cls;
        const char *rel;
    } cases[] = {
        { "", U1 "/disk", BACKING_NONE, "" },
        { "/opt/nova/_base/abc", U1 "/disk", BACKING_IN_STORE, "_base/abc" },
        { "/store/_base/abc", U1 "/disk", BACKING_IN_STORE, "_base/abc" },
        { "../_base/abc", U1 "/disk", BACKING_IN_STORE, "_base/abc" },
        { "abc", "_base/def", BACKING_IN_STORE, "_base/abc" },
        { "../../etc/passwd", U1 "/disk", BACKING_OUTSIDE, "" },
        { "/var/lib/images/x", U1 "/disk", BACKING_OUTSIDE, "" },
        { "/opt/nova/../../etc/x", U1 "/disk", BACKING_OUTSIDE, "" },
        { "nbd://10.0.0.1/x", U1 "/disk", BACKING_PROTOCOL, "" },
        { "json:{\"driver\":\"raw\"}", U1 "/disk", BACKING_JSON, "" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum backing_class c = backing_classify(cases[i].name, cases[i].image, roots, 2, out, sizeof(out));
        CU_ASSERT_EQUAL(c, cases[i].cls);
        if (c == BACKING_IN_STORE)
            CU_ASSERT_STRING_EQUAL(out, cases[i].rel);
    }

    CU_ASSERT_TRUE(symlink_escapes("a/l", "/etc", roots, 2));
    CU_ASSERT_TRUE(symlink_escapes("a/l", "../../x", roots, 2));
    CU_ASSERT_FALSE(symlink_escapes("a/l", "../x", roots, 2));
    CU_ASSERT_FALSE(symlink_escapes("a/l", "/opt/nova/y", roots, 2));
    CU_ASSERT_FALSE(symlink_escapes("l", "", roots, 2));

    CU_ASSERT_EQUAL(path_map_instance_file("/opt/nova/" U1 "/disk", U1, roots, 2, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, U1 "/disk");
    CU_ASSERT_EQUAL(path_map_instance_file("/var/lib/nova/instances/" U1 "/disk.config", U1, roots, 2, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, U1 "/disk.config");
    CU_ASSERT_EQUAL(path_map_instance_file("/elsewhere/" U1 "/../../etc/x", U1, roots, 2, out, sizeof(out)), -EXDEV);
    CU_ASSERT_EQUAL(path_map_instance_file("/dev/sdb", U1, roots, 2, out, sizeof(out)), -EXDEV);
    CU_ASSERT_EQUAL(path_map_instance_file("relative/" U1 "/disk", U1, roots, 2, out, sizeof(out)), -EXDEV);

    CU_ASSERT_TRUE(path_is_uuid(U1));
    CU_ASSERT_FALSE(path_is_uuid("11111111-1111-4111-8111-11111111111A"));
    CU_ASSERT_FALSE(path_is_uuid(U1 "_del"));
    CU_ASSERT_TRUE(path_is_partial("disk.ferry-partial"));
    CU_ASSERT_TRUE(path_is_partial("disk.ferry-partial.manifest"));
    CU_ASSERT_FALSE(path_is_partial(".ferry-partial"));
    CU_ASSERT_FALSE(path_is_partial("disk.ferry-partialx"));
    CU_ASSERT_FALSE(path_is_partial("disk"));
}

/* ---- owner records ---------------------------------------------------------------------------------- */

static void test_owner_records(void)
{
    struct owner_record r = { .instance = U1, .host = "compute1", .state = OWNER_OWNED, .written_at = 1764255600 };
    char buf[OWNER_RECORD_MAX + 1], why[200];
    int n = owner_record_encode(&r, buf, sizeof(buf));
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "ferry-owner 1\ninstance " U1 "\nhost compute1\nstate owned\npeer -\n"
                                       "written_at 1764255600\nchecksum "));
    struct owner_record back;
    CU_ASSERT_EQUAL(owner_record_decode(buf, (size_t)n, &back, why, sizeof(why)), LEASE_DECODE_OK);
    CU_ASSERT_STRING_EQUAL(back.host, "compute1");
    CU_ASSERT_EQUAL(back.state, OWNER_OWNED);
    CU_ASSERT_STRING_EQUAL(back.peer, "");
    CU_ASSERT_EQUAL(back.written_at, 1764255600);

    /* Every prefix is refused, none decodes. */
    for (int len = 0; len < n; len++) {
        enum lease_decode_status s = owner_record_decode(buf, (size_t)len, NULL, why, sizeof(why));
        CU_ASSERT(s != LEASE_DECODE_OK);
        CU_ASSERT(len == 0 ? s == LEASE_DECODE_EMPTY : (s == LEASE_DECODE_TRUNCATED || s == LEASE_DECODE_GARBAGE));
    }
    /* Every flipped bit is caught. */
    for (int i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            char copy[OWNER_RECORD_MAX + 1];
            memcpy(copy, buf, (size_t)n);
            copy[i] ^= (char)(1 << bit);
            CU_ASSERT(owner_record_decode(copy, (size_t)n, NULL, why, sizeof(why)) != LEASE_DECODE_OK);
        }

    r.state = OWNER_INCOMING;
    CU_ASSERT_EQUAL(owner_record_encode(&r, buf, sizeof(buf)), -EINVAL); /* a migration needs a peer */
    strcpy(r.peer, "compute1");
    CU_ASSERT_EQUAL(owner_record_encode(&r, buf, sizeof(buf)), -EINVAL); /* not itself */
    strcpy(r.peer, "compute2");
    n = owner_record_encode(&r, buf, sizeof(buf));
    CU_ASSERT_FATAL(n > 0);
    CU_ASSERT_EQUAL(owner_record_decode(buf, (size_t)n, &back, why, sizeof(why)), LEASE_DECODE_OK);
    CU_ASSERT_EQUAL(back.state, OWNER_INCOMING);
    CU_ASSERT_STRING_EQUAL(back.peer, "compute2");
    CU_ASSERT_EQUAL(owner_record_encode(&r, buf, 10), -ENOSPC);
    strcpy(r.host, "bad/host");
    CU_ASSERT_EQUAL(owner_record_encode(&r, buf, sizeof(buf)), -EINVAL);
    strcpy(r.host, "compute1");
    strcpy(r.instance, "not-a-uuid");
    CU_ASSERT_EQUAL(owner_record_encode(&r, buf, sizeof(buf)), -EINVAL);

    const char future[] = "ferry-owner 2\nwhatever\nchecksum 0000000000000000\n";
    CU_ASSERT_EQUAL(owner_record_decode(future, strlen(future), NULL, why, sizeof(why)), LEASE_DECODE_BAD_CHECKSUM);
    CU_ASSERT_EQUAL(owner_record_decode("ferry-lease 1\n", 14, NULL, why, sizeof(why)), LEASE_DECODE_GARBAGE);
    CU_ASSERT_EQUAL(owner_record_decode("ferry-owner 1\nhost", 18, NULL, why, sizeof(why)), LEASE_DECODE_TRUNCATED);
    CU_ASSERT_STRING_EQUAL(owner_state_name(OWNER_OUTGOING), "outgoing");
}

/* ---- the report ---------------------------------------------------------------------------------------- */

static void test_report(void)
{
    clean_store();
    F.images[1].qcow2->dirty = true;      /* warning, fixable */
    F.images[3].qcow2->corrupt = true;    /* error */
    F.images[2].config_drive = CONFIG_DRIVE_ISO9660; /* info */
    run();
    CU_ASSERT_EQUAL_FATAL(L.n, 3);
    struct fsck_report r = { .facts = &F, .findings = &L, .duration_s = 0.5, .started_at = NOW };
    struct fsck_counts c;
    fsck_count(&r, &c);
    CU_ASSERT_EQUAL(c.by_severity[SEVERITY_ERROR], 1);
    CU_ASSERT_EQUAL(c.by_severity[SEVERITY_WARNING], 1);
    CU_ASSERT_EQUAL(c.by_severity[SEVERITY_INFO], 1);
    CU_ASSERT_EQUAL(c.left, 2);
    CU_ASSERT_EQUAL(c.fixable, 1);
    CU_ASSERT_EQUAL(fsck_exit_code(&r), 4);
    L.v[0].fixed = true; /* U1/disk's dirty flag (sorted by path: U1/disk, U1/disk.config, U2/disk) */
    CU_ASSERT_STRING_EQUAL(L.v[0].rule, "qcow2-dirty-flag");
    CU_ASSERT_EQUAL(fsck_exit_code(&r), 5);
    r.operational_error = true;
    CU_ASSERT_EQUAL(fsck_exit_code(&r), 13);
    r.operational_error = false;
    L.v[2].fixed = true; /* pretend: only info left */
    CU_ASSERT_EQUAL(fsck_exit_code(&r), 1);
    L.v[0].fixed = L.v[2].fixed = false;

    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    report_human(out, &r);
    fclose(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "WARNING qcow2-dirty-flag /store/" U1 "/disk: dirty flag set with no guest "
                                        "running: it was not closed cleanly, so its refcounts may be stale [fixable with -y]\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ERROR qcow2-corrupt-flag /store/" U2 "/disk: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "INFO config-drive-format /store/" U1 "/disk.config: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "/store: 2 problems (1 error, 1 warning), 0 fixed, 2 left, 1 info; 2 instances, "
                                        "5 images (1 base), 0.50 s\n/store: 1 can be repaired with -y\n"));
    free(text);

    struct json_object *j = report_json(&r), *v, *list, *e;
    CU_ASSERT_TRUE(json_object_object_get_ex(j, "exit_code", &v) && json_object_get_int(v) == 4);
    CU_ASSERT_TRUE(json_object_object_get_ex(j, "findings", &list) && json_object_array_length(list) == 3);
    e = json_object_array_get_idx(list, 0);
    CU_ASSERT_TRUE(json_object_object_get_ex(e, "rule", &v) && !strcmp(json_object_get_string(v), "qcow2-dirty-flag"));
    CU_ASSERT_TRUE(json_object_object_get_ex(e, "fixable", &v) && json_object_get_boolean(v));
    CU_ASSERT_TRUE(json_object_object_get_ex(e, "fixed", &v) && !json_object_get_boolean(v));
    CU_ASSERT_TRUE(json_object_object_get_ex(e, "path", &v) && !strcmp(json_object_get_string(v), "/store/" U1 "/disk"));
    CU_ASSERT_TRUE(json_object_object_get_ex(j, "counts", &v));
    json_object_put(j);

    text = report_prometheus_text(&r);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# TYPE ferry_fsck_findings gauge\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ferry_fsck_findings{store=\"/store\",rule=\"qcow2-corrupt-flag\",severity=\"error\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ferry_fsck_findings{store=\"/store\",rule=\"backing-missing\",severity=\"error\"} 0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ferry_fsck_findings{store=\"/store\",rule=\"config-drive-format\",severity=\"info\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ferry_fsck_findings_fixed{store=\"/store\",rule=\"stale-partial\"} 0\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ferry_fsck_instances_scanned{store=\"/store\"} 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ferry_fsck_last_run_timestamp_seconds{store=\"/store\"} 2000000000\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ferry_fsck_exit_code{store=\"/store\"} 4\n"));
    /* Every sample line has a HELP and TYPE above it. */
    for (char *line = text; *line; line = strchr(line, '\n') + 1) {
        if (line[0] != '#') {
            char name[64];
            CU_ASSERT_EQUAL(sscanf(line, "%63[a-z_]", name), 1);
            char *type = test_strf("# TYPE %s gauge\n", name);
            CU_ASSERT_PTR_NOT_NULL(strstr(text, type));
            free(type);
        }
    }
    free(text);
    /* A store path that needs escaping in a label. */
    free(F.root);
    F.root = strdup("/a\"b\\c");
    text = report_prometheus_text(&r);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "store=\"/a\\\"b\\\\c\""));
    free(text);
}

static void teardown(void)
{
    finding_list_free(&L);
    store_facts_free(&F);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "a clean store has no findings", test_clean },
        { "the rule table", test_rule_table },
        { "qcow2-header-invalid and image-truncated", test_header_invalid_and_truncated },
        { "qcow2-corrupt-flag and qcow2-dirty-flag", test_corrupt_and_dirty },
        { "backing-missing, backing-outside-store", test_backing },
        { "backing-loop: loops and depth", test_backing_loop_and_depth },
        { "format-mismatch", test_format_mismatch },
        { "missing-disk", test_missing_disk },
        { "config-drive-format", test_config_drive },
        { "unix_access against an oracle", test_unix_access },
        { "bad-permissions", test_bad_permissions },
        { "symlink-escape", test_symlink_escape },
        { "stale-partial", test_stale_partial },
        { "unused-base", test_unused_base },
        { "orphan-instance", test_orphan },
        { "host_is_dead", test_host_is_dead },
        { "dead-owner", test_dead_owner },
        { "double-owner", test_double_owner },
        { "guarded: running, migrating", test_guarded },
        { "repairs are the owner's", test_owned_elsewhere },
        { "metadata-invalid and qcow2-check", test_metadata_and_deep },
        { "findings are sorted", test_sorted },
        { "paths", test_paths },
        { "owner records", test_owner_records },
        { "counts, exit codes, human, JSON, Prometheus", test_report },
        { "teardown", teardown },
        { NULL, NULL },
    };
    return test_run_suite("fsck rules", cases);
}
