/*
 * The pre-flight checks of `ferry migrate` over plain facts: a healthy default (a running
 * guest with a qcow2 overlay on a base image and an iso9660 config drive, moving hostA ->
 * hostB on proven shared storage), then one field tweaked per case. Every branch of every
 * check with the detail it prints; the byte counts the paths move (overlays, flat and
 * read-only disks, missing backing files counted once, saturation); human sizes and
 * libvirt version numbers; the sharing proof's first missing piece; running all of them.
 */
#include "checks.h"
#include "text.h"
#include "test_support.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KiB ((uint64_t)1 << 10)
#define MiB ((uint64_t)1 << 20)
#define GiB ((uint64_t)1 << 30)

#define STORE "/opt/stack/data/nova/instances"
#define UUID "6f1c3a52-0b8e-4a8e-9d0b-1d2e3f4a5b6c"

static void expect_check(const struct check_result *c, const char *name, enum check_status status,
                         const char *detail)
{
    ASSERT_STR(c->name, name);
    if (c->status != status)
        fprintf(stderr, "\n    %s: status %s, expected %s (%s)\n", name, check_status_name(c->status),
                check_status_name(status), c->detail);
    CU_ASSERT_EQUAL(c->status, status);
    ASSERT_STR(c->detail, detail);
}

/* --- the facts ------------------------------------------------------------------------- */

/* Large (hundreds of KiB): one static copy, reset by healthy(). */
static struct migrate_facts facts;

static void set_text(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}
#define SET(field, text) set_text((field), sizeof(field), (text))

static struct disk_facts *add_disk(struct migrate_facts *f, const char *target, const char *file,
                                   uint64_t virtual_size, uint64_t allocation)
{
    struct disk_facts *d = &f->guest.disks[f->guest.n_disks++];
    memset(d, 0, sizeof(*d));
    SET(d->target, target);
    SET(d->device, "disk");
    snprintf(d->path, sizeof(d->path), "%s/%s/%s", STORE, UUID, file);
    SET(d->format, "raw");
    d->virtual_size = virtual_size;
    d->allocation = allocation;
    return d;
}

static void set_backing(struct disk_facts *d, const char *base, uint64_t allocation, bool dest_has)
{
    snprintf(d->backing, sizeof(d->backing), "%s/_base/%s", STORE, base);
    d->backing_allocation = allocation;
    d->dest_has_backing = dest_has;
    SET(d->format, "qcow2");
}

static void add_nic(struct migrate_facts *f, const char *type, const char *source)
{
    struct nic_facts *n = &f->guest.nics[f->guest.n_nics++];
    SET(n->type, type);
    SET(n->source, source);
}

static void host(struct host_facts *h, const char *name)
{
    SET(h->name, name);
    snprintf(h->uri, sizeof(h->uri), "qemu+tcp://%s/system", name);
    h->connected = true;
    SET(h->hostname, name);
    h->libvirt_version = 9000000;
    h->qemu_version = 7002000;
    h->free_memory_bytes = 30 * GiB;
    h->instance_dir_free_bytes = 75 * GiB / 2; /* 37.5 GiB */
    h->instance_dir_free_known = true;
    SET(h->networks[h->n_networks++], "default");
    SET(h->bridges[h->n_bridges++], "br100");
}

/*
 * instance-00000001, running, 2 GiB, host-model CPU; vda: a 20 GiB qcow2 overlay holding
 * 1 GiB on a 512 MiB base image that hostB has; hda: a 512 KiB iso9660 config drive; one
 * interface on network "default", one on bridge "br100". Both hosts libvirt 9.0.0 and
 * QEMU 7.2.0, resolvable, unfenced; sharing proven on a filesystem libvirt recognises.
 */
static struct migrate_facts *healthy(void)
{
    struct migrate_facts *f = &facts;
    memset(f, 0, sizeof(*f));
    SET(f->guest.name, "instance-00000001");
    SET(f->guest.uuid, UUID);
    f->guest.state = GUEST_RUNNING;
    f->guest.memory_bytes = 2 * GiB;
    SET(f->guest.cpu_mode, "host-model");
    snprintf(f->guest.instance_dir, sizeof(f->guest.instance_dir), "%s/%s", STORE, UUID);
    struct disk_facts *vda = add_disk(f, "vda", "disk", 20 * GiB, 1 * GiB);
    set_backing(vda, "base1", 512 * MiB, true);
    struct disk_facts *cd = add_disk(f, "hda", "disk.config", 512 * KiB, 512 * KiB);
    SET(cd->device, "cdrom");
    cd->readonly = true;
    cd->is_config_drive = true;
    SET(cd->config_drive_format, "iso9660");
    add_nic(f, "network", "default");
    add_nic(f, "bridge", "br100");

    host(&f->src, "hostA");
    host(&f->dst, "hostB");

    f->sharing.source_healthy = true;
    f->sharing.dest_lease_live = true;
    f->sharing.token_tried = true;
    f->sharing.token_seen = true;
    f->sharing.fs_recognised_shared = true;

    f->cpu = CPU_IDENTICAL;
    f->hostname_resolves = true;
    f->hostname_matches = true;
    SET(f->uri_scheme, "tcp");
    return f;
}

typedef void check_fn(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);

static struct check_result run(check_fn *fn, const struct migrate_facts *f, enum migrate_path path)
{
    struct check_result c;
    memset(&c, 0x5a, sizeof(c)); /* whatever was there before is overwritten */
    fn(&c, f, path);
    return c;
}

/* Every check with the destination's libvirt silent: the ones that need it skip. */
static void expect_skips_when_unreachable(check_fn *fn, const char *name)
{
    struct migrate_facts *f = healthy();
    f->dst.connected = false;
    struct check_result c = run(fn, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, name, CHECK_SKIP, "not checked: libvirt on hostB did not answer (see uri)");
    /* Without a name for the destination, the detail still reads. */
    SET(f->dst.name, "");
    c = run(fn, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, name, CHECK_SKIP, "not checked: libvirt on the destination did not answer (see uri)");
}

/* Nothing to fill, or no facts: no crash, and a failure that says so. */
static void expect_null_handling(check_fn *fn, const char *name)
{
    struct check_result c = run(fn, NULL, MIGRATE_PATH_BLOCK);
    expect_check(&c, name, CHECK_FAIL, "no facts were gathered");
    fn(NULL, healthy(), MIGRATE_PATH_BLOCK);
    fn(NULL, NULL, MIGRATE_PATH_BLOCK);
}

/* --- formatting ------------------------------------------------------------------------- */

static void test_format_bytes(void)
{
    static const struct {
        uint64_t bytes;
        const char *text;
    } cases[] = {
        { 0, "0 B" },
        { 1, "1 B" },
        { 1023, "1023 B" },
        { 1024, "1 KiB" },
        { 1536, "1.5 KiB" },
        { 1075, "1 KiB" },  /* 1.0498 */
        { 1076, "1.1 KiB" }, /* 1.0508 */
        { 1048524, "1023.9 KiB" },
        { 1048525, "1 MiB" }, /* would read 1024.0 KiB */
        { 1288490189, "1.2 GiB" },
        { 75 * GiB / 2, "37.5 GiB" },
        { 100 * GiB, "100 GiB" },
        { 1024 * GiB, "1 TiB" },
        { 5 * 1024 * 1024 * GiB / 2, "2.5 PiB" },
        { UINT64_MAX, "16 EiB" },
    };
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ASSERT_STR(text_bytes(buf, sizeof(buf), cases[i].bytes), cases[i].text);
    /* Cut to the buffer, still terminated; nothing written to a buffer of 0. */
    char small[4] = "xyz";
    ASSERT_STR(text_bytes(small, sizeof(small), 75 * GiB / 2), "37.");
    CU_ASSERT_PTR_NULL(text_bytes(NULL, 10, 1));
    char untouched[2] = "q";
    CU_ASSERT_PTR_EQUAL(text_bytes(untouched, 0, 1), untouched);
    CU_ASSERT_EQUAL(untouched[0], 'q');
}

static void test_format_version(void)
{
    static const struct {
        unsigned long version;
        const char *text;
    } cases[] = {
        { 0, "unknown" },          { 1, "0.0.1" },         { 9000000, "9.0.0" },      { 7002000, "7.2.0" },
        { 10001002, "10.1.2" },    { 999999, "0.999.999" }, { 8010000, "8.10.0" },    { 9000001, "9.0.1" },
        { 123456789, "123.456.789" },
    };
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ASSERT_STR(migrate_format_version(buf, sizeof(buf), cases[i].version), cases[i].text);
    char expected[64];
    snprintf(expected, sizeof(expected), "%lu.%lu.%lu", ULONG_MAX / 1000000, ULONG_MAX / 1000 % 1000,
             ULONG_MAX % 1000);
    ASSERT_STR(migrate_format_version(buf, sizeof(buf), ULONG_MAX), expected);
    CU_ASSERT_PTR_NULL(migrate_format_version(NULL, 10, 1));
    char untouched[2] = "q";
    migrate_format_version(untouched, 0, 9000000);
    CU_ASSERT_EQUAL(untouched[0], 'q');
}

static void test_names(void)
{
    static const char *const expected[] = { "cpu",         "libvirt-version", "hostname", "uri",    "config-drive",
                                            "disk-space",  "memory",          "network",  "fenced", "shared-storage" };
    CU_ASSERT_EQUAL(MIGRATE_MAX_CHECKS, 10);
    for (size_t i = 0; i < 10; i++)
        ASSERT_STR(migrate_check_name((enum migrate_check)i), expected[i]);
    CU_ASSERT_PTR_NULL(migrate_check_name(MIGRATE_MAX_CHECKS));
    CU_ASSERT_PTR_NULL(migrate_check_name((enum migrate_check)-1));

    struct migrate_facts *f = healthy();
    ASSERT_STR(migrate_src_name(f), "hostA");
    ASSERT_STR(migrate_dst_name(f), "hostB");
    ASSERT_STR(migrate_guest_name(f), "instance-00000001");
    SET(f->src.name, "");
    SET(f->dst.name, "");
    SET(f->guest.name, "");
    ASSERT_STR(migrate_src_name(f), "this host");
    ASSERT_STR(migrate_dst_name(f), "the destination");
    ASSERT_STR(migrate_guest_name(f), "the guest");
}

static void test_guest_active(void)
{
    struct migrate_facts *f = healthy();
    static const struct {
        enum guest_state state;
        bool active;
    } cases[] = {
        { GUEST_RUNNING, true }, { GUEST_PAUSED, true }, { GUEST_SHUTOFF, false }, { GUEST_OTHER, false },
        { (enum guest_state)9, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f->guest.state = cases[i].state;
        CU_ASSERT_EQUAL(migrate_guest_active(&f->guest), cases[i].active);
    }
    CU_ASSERT_FALSE(migrate_guest_active(NULL));
}

/* --- sizes ------------------------------------------------------------------------------ */

static void test_sizes(void)
{
    struct migrate_sizes s;
    struct migrate_facts *f = healthy();

    /* The default: one overlay (20 GiB virtual, 1 GiB allocated) on a base hostB has, and
     * a 512 KiB config drive. */
    migrate_sizes_count(&f->guest, &s);
    CU_ASSERT_EQUAL(s.writable_virtual, 20 * GiB);
    CU_ASSERT_EQUAL(s.writable_allocation, 1 * GiB);
    CU_ASSERT_EQUAL(s.n_writable, 1);
    CU_ASSERT_TRUE(s.writable_overlay);
    CU_ASSERT_EQUAL(s.readonly_allocation, 512 * KiB);
    CU_ASSERT_EQUAL(s.missing_backing, 0);
    CU_ASSERT_EQUAL(s.n_missing_backing, 0);
    CU_ASSERT_EQUAL(s.all_allocation, 1 * GiB + 512 * KiB);
    CU_ASSERT_EQUAL(s.block_stream, 512 * KiB);
    CU_ASSERT_EQUAL(s.cold_stream, 1 * GiB + 512 * KiB);

    /* The base missing on hostB; a second overlay on the same base counts it once; a third
     * on another missing base counts that; a flat data disk; a read-only disk that is no
     * config drive; an empty cdrom (no path) counts nothing, even its "sizes". */
    f->guest.disks[0].dest_has_backing = false;
    struct disk_facts *vdb = add_disk(f, "vdb", "disk.eph0", 10 * GiB, 3 * GiB);
    set_backing(vdb, "base1", 512 * MiB, false);
    struct disk_facts *vdc = add_disk(f, "vdc", "disk.swap", 4 * GiB, 100 * MiB);
    set_backing(vdc, "swap_4096", 7 * MiB, false);
    add_disk(f, "vdd", "disk.data", 8 * GiB, 8 * GiB);
    struct disk_facts *ro = add_disk(f, "vde", "disk.ro", 2 * GiB, 1 * GiB);
    ro->readonly = true;
    struct disk_facts *empty = add_disk(f, "hdb", "x", 5 * GiB, 5 * GiB);
    SET(empty->path, "");
    set_backing(empty, "ghost", 9 * GiB, false);
    /* A backing file hostB has, named like a missing one elsewhere, does not hide it. */
    struct disk_facts *vdf = add_disk(f, "vdf", "disk.other", 1 * GiB, 1 * MiB);
    set_backing(vdf, "base2", 64 * MiB, true);
    struct disk_facts *vdg = add_disk(f, "vdg", "disk.other2", 1 * GiB, 1 * MiB);
    set_backing(vdg, "base2", 64 * MiB, false);
    migrate_sizes_count(&f->guest, &s);
    CU_ASSERT_EQUAL(s.writable_virtual, 20 * GiB + 10 * GiB + 4 * GiB + 8 * GiB + 2 * GiB);
    CU_ASSERT_EQUAL(s.writable_allocation, 1 * GiB + 3 * GiB + 100 * MiB + 8 * GiB + 2 * MiB);
    CU_ASSERT_EQUAL(s.n_writable, 6);
    CU_ASSERT_TRUE(s.writable_overlay);
    CU_ASSERT_EQUAL(s.readonly_allocation, 512 * KiB + 1 * GiB);
    CU_ASSERT_EQUAL(s.missing_backing, 512 * MiB + 7 * MiB + 64 * MiB);
    CU_ASSERT_EQUAL(s.n_missing_backing, 3);
    CU_ASSERT_EQUAL(s.all_allocation, 1 * GiB + 512 * KiB + 3 * GiB + 100 * MiB + 8 * GiB + 1 * GiB + 2 * MiB);
    CU_ASSERT_EQUAL(s.block_stream, s.readonly_allocation + s.missing_backing);
    CU_ASSERT_EQUAL(s.cold_stream, s.all_allocation + s.missing_backing);

    /* Flat disks only: no overlay. A config drive with a backing file is not an overlay
     * QEMU mirrors. A writable config drive (vfat) is streamed, not mirrored. */
    f = healthy();
    SET(f->guest.disks[0].backing, "");
    f->guest.disks[1].readonly = false;
    SET(f->guest.disks[1].backing, "/x");
    migrate_sizes_count(&f->guest, &s);
    CU_ASSERT_FALSE(s.writable_overlay);
    CU_ASSERT_EQUAL(s.n_writable, 1);
    CU_ASSERT_EQUAL(s.readonly_allocation, 512 * KiB);
    CU_ASSERT_EQUAL(s.n_missing_backing, 1);

    /* No disks at all. */
    f->guest.n_disks = 0;
    memset(&s, 0x77, sizeof(s));
    migrate_sizes_count(&f->guest, &s);
    CU_ASSERT_EQUAL(s.all_allocation, 0);
    CU_ASSERT_EQUAL(s.n_writable, 0);
    CU_ASSERT_FALSE(s.writable_overlay);
    CU_ASSERT_EQUAL(s.cold_stream, 0);

    /* Sums saturate instead of wrapping. */
    f = healthy();
    f->guest.disks[0].virtual_size = UINT64_MAX - 1;
    f->guest.disks[0].allocation = UINT64_MAX - 1;
    f->guest.disks[0].dest_has_backing = false;
    f->guest.disks[0].backing_allocation = UINT64_MAX;
    struct disk_facts *big = add_disk(f, "vdb", "disk.big", 10, 10);
    (void)big;
    migrate_sizes_count(&f->guest, &s);
    CU_ASSERT_EQUAL(s.writable_virtual, UINT64_MAX);
    CU_ASSERT_EQUAL(s.writable_allocation, UINT64_MAX);
    CU_ASSERT_EQUAL(s.all_allocation, UINT64_MAX);
    CU_ASSERT_EQUAL(s.missing_backing, UINT64_MAX);
    CU_ASSERT_EQUAL(s.block_stream, UINT64_MAX);
    CU_ASSERT_EQUAL(s.cold_stream, UINT64_MAX);

    /* A count beyond the array reads only the array. */
    f = healthy();
    for (size_t i = f->guest.n_disks; i < FACTS_MAX_DISKS; i++)
        add_disk(f, "vdz", "disk.n", 1 * GiB, 1 * MiB);
    f->guest.n_disks = FACTS_MAX_DISKS + 100;
    migrate_sizes_count(&f->guest, &s);
    CU_ASSERT_EQUAL(s.n_writable, FACTS_MAX_DISKS - 1);
    CU_ASSERT_EQUAL(s.writable_allocation, 1 * GiB + (FACTS_MAX_DISKS - 2) * MiB);

    /* NULLs. */
    memset(&s, 0x77, sizeof(s));
    migrate_sizes_count(NULL, &s);
    CU_ASSERT_EQUAL(s.all_allocation, 0);
    CU_ASSERT_EQUAL(s.n_missing_backing, 0);
    migrate_sizes_count(&f->guest, NULL);
}

/* --- cpu ------------------------------------------------------------------------------- */

static void test_cpu(void)
{
    struct migrate_facts *f = healthy();
    struct check_result c = run(migrate_check_cpu, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "cpu", CHECK_PASS,
                 "the guest's CPU (host-model) is identical to what the hypervisor on hostB offers");
    SET(f->cpu_detail, "Haswell-noTSX-IBRS");
    c = run(migrate_check_cpu, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "cpu", CHECK_PASS,
                 "the guest's CPU (host-model) is identical to what the hypervisor on hostB offers: "
                 "Haswell-noTSX-IBRS");

    f->cpu = CPU_SUPERSET;
    SET(f->cpu_detail, "");
    SET(f->guest.cpu_mode, "custom");
    c = run(migrate_check_cpu, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "cpu", CHECK_PASS, "the hypervisor on hostB offers a superset of the guest's CPU (custom)");

    f->cpu = CPU_INCOMPATIBLE;
    SET(f->cpu_detail, "host CPU lacks avx512f");
    SET(f->guest.cpu_mode, "host-passthrough");
    c = run(migrate_check_cpu, f, MIGRATE_PATH_COLD);
    expect_check(&c, "cpu", CHECK_FAIL,
                 "the guest's CPU (host-passthrough) is incompatible with the hypervisor on hostB: host CPU lacks "
                 "avx512f; give the guest a CPU model both hosts support (cpu_mode custom) or choose another host");

    f->cpu = CPU_UNKNOWN;
    SET(f->cpu_detail, "");
    c = run(migrate_check_cpu, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "cpu", CHECK_WARN,
                 "the guest's CPU (host-passthrough) could not be compared with the hypervisor on hostB; compare by "
                 "hand (virsh hypervisor-cpu-compare)");
    /* A verdict nobody knows vouches for nothing either. */
    f->cpu = (enum cpu_verdict)42;
    SET(f->cpu_detail, "odd");
    c = run(migrate_check_cpu, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "cpu", CHECK_WARN,
                 "the guest's CPU (host-passthrough) could not be compared with the hypervisor on hostB: odd; compare "
                 "by hand (virsh hypervisor-cpu-compare)");

    /* No CPU definition in the guest: the source's host-model was compared. */
    f = healthy();
    SET(f->guest.cpu_mode, "");
    c = run(migrate_check_cpu, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "cpu", CHECK_PASS,
                 "the host-model CPU of hostA (the guest defines none) is identical to what the hypervisor on hostB "
                 "offers");
    f->cpu = CPU_INCOMPATIBLE;
    c = run(migrate_check_cpu, f, MIGRATE_PATH_SHARED);
    CU_ASSERT_EQUAL(c.status, CHECK_FAIL);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.detail, "the host-model CPU of hostA (the guest defines none) is incompatible"));

    /* The path does not matter to it. */
    f = healthy();
    f->cpu = CPU_INCOMPATIBLE;
    for (int p = MIGRATE_PATH_NONE; p <= MIGRATE_PATH_COLD; p++)
        CU_ASSERT_EQUAL(run(migrate_check_cpu, f, (enum migrate_path)p).status, CHECK_FAIL);

    expect_skips_when_unreachable(migrate_check_cpu, "cpu");
    expect_null_handling(migrate_check_cpu, "cpu");
}

/* --- libvirt-version ------------------------------------------------------------------- */

static void test_libvirt_version(void)
{
    struct migrate_facts *f = healthy();
    struct check_result c = run(migrate_check_libvirt_version, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "libvirt-version", CHECK_PASS, "libvirt 9.0.0 on both; QEMU 7.2.0 / 7.2.0");
    /* The QEMU versions are shown, source first, and do not decide. */
    f->dst.qemu_version = 8001002;
    c = run(migrate_check_libvirt_version, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "libvirt-version", CHECK_PASS, "libvirt 9.0.0 on both; QEMU 7.2.0 / 8.1.2");
    f->src.qemu_version = 0;
    c = run(migrate_check_libvirt_version, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "libvirt-version", CHECK_PASS, "libvirt 9.0.0 on both; QEMU unknown / 8.1.2");

    /* Only the release differs: fails, unless the setting allows it. */
    f = healthy();
    f->dst.libvirt_version = 9000001;
    c = run(migrate_check_libvirt_version, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "libvirt-version", CHECK_FAIL,
                 "libvirt 9.0.0 on hostA, 9.0.1 on hostB; QEMU 7.2.0 / 7.2.0; only the release differs: install the "
                 "same version on both hosts, or allow it with [migrate] libvirt_version_match = minor");
    f->version_match_minor = true;
    c = run(migrate_check_libvirt_version, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "libvirt-version", CHECK_WARN,
                 "libvirt 9.0.0 on hostA, 9.0.1 on hostB; QEMU 7.2.0 / 7.2.0; only the release differs, which "
                 "[migrate] libvirt_version_match = minor allows");
    /* The other way round too. */
    f->src.libvirt_version = 9000999;
    c = run(migrate_check_libvirt_version, f, MIGRATE_PATH_SHARED);
    CU_ASSERT_EQUAL(c.status, CHECK_WARN);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.detail, "libvirt 9.0.999 on hostA, 9.0.1 on hostB"));

    /* The minor (or major) differs: the setting does not help. */
    static const unsigned long others[] = { 9001000, 8000000, 10000000, 9999000, 8999000 };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        for (int minor = 0; minor <= 1; minor++) {
            char dv[32], expected[300];
            f = healthy();
            f->version_match_minor = minor;
            f->dst.libvirt_version = others[i];
            c = run(migrate_check_libvirt_version, f, MIGRATE_PATH_BLOCK);
            snprintf(expected, sizeof(expected),
                     "libvirt 9.0.0 on hostA, %s on hostB; QEMU 7.2.0 / 7.2.0; install the same libvirt version on "
                     "both hosts",
                     migrate_format_version(dv, sizeof(dv), others[i]));
            expect_check(&c, "libvirt-version", CHECK_FAIL, expected);
        }
    }

    /* A version that could not be read. */
    f = healthy();
    f->dst.libvirt_version = 0;
    c = run(migrate_check_libvirt_version, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "libvirt-version", CHECK_WARN,
                 "libvirt 9.0.0 on hostA, unknown on hostB; QEMU 7.2.0 / 7.2.0; a version could not be read: compare "
                 "by hand (virsh version)");
    f = healthy();
    f->src.libvirt_version = 0;
    f->dst.libvirt_version = 0;
    c = run(migrate_check_libvirt_version, f, MIGRATE_PATH_SHARED);
    CU_ASSERT_EQUAL(c.status, CHECK_WARN); /* equal, but equally unknown: no pass */
    CU_ASSERT_PTR_NOT_NULL(strstr(c.detail, "libvirt unknown on hostA, unknown on hostB"));
    f = healthy();
    f->src.libvirt_version = 0;
    c = run(migrate_check_libvirt_version, f, MIGRATE_PATH_SHARED);
    CU_ASSERT_EQUAL(c.status, CHECK_WARN);

    expect_skips_when_unreachable(migrate_check_libvirt_version, "libvirt-version");
    expect_null_handling(migrate_check_libvirt_version, "libvirt-version");
}

/* --- hostname -------------------------------------------------------------------------- */

static void test_hostname(void)
{
    struct migrate_facts *f = healthy();
    SET(f->dst.hostname, "compute2.example.org");
    struct check_result c = run(migrate_check_hostname, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "hostname", CHECK_PASS,
                 "hostB calls itself compute2.example.org, which resolves here to the address ferry connects to");
    SET(f->hostname_detail, "10.0.0.12");
    c = run(migrate_check_hostname, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "hostname", CHECK_PASS,
                 "hostB calls itself compute2.example.org, which resolves here to the address ferry connects to: "
                 "10.0.0.12");

    f->hostname_resolves = false;
    f->hostname_matches = false;
    SET(f->hostname_detail, "Name or service not known");
    c = run(migrate_check_hostname, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "hostname", CHECK_FAIL,
                 "hostB calls itself compute2.example.org, which does not resolve here: Name or service not known; add "
                 "it to /etc/hosts (scripts/prepare-host --peer compute2.example.org=ADDR)");
    /* Not resolving decides, whatever "matches" says. */
    f->hostname_matches = true;
    SET(f->hostname_detail, "");
    c = run(migrate_check_hostname, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "hostname", CHECK_FAIL,
                 "hostB calls itself compute2.example.org, which does not resolve here; add it to /etc/hosts "
                 "(scripts/prepare-host --peer compute2.example.org=ADDR)");

    f->hostname_resolves = true;
    f->hostname_matches = false;
    SET(f->hostname_detail, "127.0.1.1, ferry connects to 10.0.0.12");
    c = run(migrate_check_hostname, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "hostname", CHECK_FAIL,
                 "hostB calls itself compute2.example.org, which resolves here to another address than the one ferry "
                 "connects to: 127.0.1.1, ferry connects to 10.0.0.12; fix its /etc/hosts entry "
                 "(scripts/prepare-host --peer compute2.example.org=ADDR)");

    f = healthy();
    SET(f->dst.hostname, "");
    c = run(migrate_check_hostname, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "hostname", CHECK_FAIL,
                 "libvirt on hostB gave no hostname; give the host a name (hostnamectl) that resolves here");
    SET(f->hostname_detail, "virConnectGetHostname failed");
    c = run(migrate_check_hostname, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "hostname", CHECK_FAIL,
                 "libvirt on hostB gave no hostname: virConnectGetHostname failed; give the host a name (hostnamectl) "
                 "that resolves here");

    expect_skips_when_unreachable(migrate_check_hostname, "hostname");
    expect_null_handling(migrate_check_hostname, "hostname");
}

/* --- uri ------------------------------------------------------------------------------- */

static void test_uri(void)
{
    struct migrate_facts *f = healthy();
    SET(f->dst.uri, "qemu+tls://hostB/system");
    struct check_result c = run(migrate_check_uri, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "uri", CHECK_PASS, "libvirtd on hostB answers at qemu+tls://hostB/system");

    f = healthy();
    f->auth_none = true;
    c = run(migrate_check_uri, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "uri", CHECK_WARN,
                 "libvirtd on hostB answers at qemu+tcp://hostB/system, but libvirtd accepts unauthenticated TCP "
                 "(auth_tcp = \"none\"); use qemu+tls:// or sasl");

    /* Not connected fails, auth or not. */
    f->dst.connected = false;
    SET(f->dst.connect_error, "unable to connect to server at 'hostB:16509': Connection refused");
    c = run(migrate_check_uri, f, MIGRATE_PATH_COLD);
    expect_check(&c, "uri", CHECK_FAIL,
                 "libvirtd on hostB does not answer at qemu+tcp://hostB/system: unable to connect to server at "
                 "'hostB:16509': Connection refused; check that it listens there (scripts/prepare-host --listen-addr) "
                 "and [migrate] uri_template");
    SET(f->dst.connect_error, "");
    SET(f->dst.uri, "");
    c = run(migrate_check_uri, f, MIGRATE_PATH_COLD);
    expect_check(&c, "uri", CHECK_FAIL,
                 "libvirtd on hostB does not answer at (no URI); check that it listens there (scripts/prepare-host "
                 "--listen-addr) and [migrate] uri_template");

    expect_null_handling(migrate_check_uri, "uri");
}

/* --- config-drive ---------------------------------------------------------------------- */

static void test_config_drive(void)
{
    struct migrate_facts *f = healthy();
    struct check_result c = run(migrate_check_config_drive, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "config-drive", CHECK_PASS,
                 "disk.config (hda) is a read-only iso9660 config drive: libvirt's block migration alone cannot copy "
                 "it; ferry streams it");

    SET(f->guest.disks[1].config_drive_format, "vfat");
    SET(f->guest.disks[1].target, "vdb");
    c = run(migrate_check_config_drive, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "config-drive", CHECK_PASS,
                 "disk.config (vdb) is a vfat config drive: libvirt could copy it in a block migration; ferry streams "
                 "it either way");

    static const char *const odd[] = { "unknown", "", "ext4", "VFAT" };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        char expected[400];
        SET(f->guest.disks[1].config_drive_format, odd[i]);
        c = run(migrate_check_config_drive, f, MIGRATE_PATH_BLOCK);
        snprintf(expected, sizeof(expected),
                 "disk.config (vdb) is a config drive of unknown format '%s'; ferry streams it as it is, but check "
                 "the image and Nova's config_drive_format (vfat or iso9660)",
                 odd[i]);
        expect_check(&c, "config-drive", CHECK_WARN, expected);
    }

    /* None: a readonly cdrom that is no config drive is not one. */
    f = healthy();
    f->guest.disks[1].is_config_drive = false;
    c = run(migrate_check_config_drive, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "config-drive", CHECK_PASS, "no config drive");
    f->guest.n_disks = 0;
    c = run(migrate_check_config_drive, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "config-drive", CHECK_PASS, "no config drive");

    /* Two: the one that warns is shown, whichever comes first; else the first. */
    f = healthy();
    struct disk_facts *second = add_disk(f, "hdb", "disk.config2", 64 * MiB, 64 * MiB);
    second->is_config_drive = true;
    SET(second->config_drive_format, "unknown");
    c = run(migrate_check_config_drive, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "config-drive", CHECK_WARN,
                 "disk.config2 (hdb) is a config drive of unknown format 'unknown' (2 config drives); ferry streams it "
                 "as it is, but check the image and Nova's config_drive_format (vfat or iso9660)");
    SET(second->config_drive_format, "vfat");
    c = run(migrate_check_config_drive, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "config-drive", CHECK_PASS,
                 "disk.config (hda) is a read-only iso9660 config drive (2 config drives): libvirt's block migration "
                 "alone cannot copy it; ferry streams it");
    SET(f->guest.disks[1].config_drive_format, "bogus");
    SET(second->config_drive_format, "");
    c = run(migrate_check_config_drive, f, MIGRATE_PATH_BLOCK);
    CU_ASSERT_EQUAL(c.status, CHECK_WARN);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.detail, "disk.config (hda) is a config drive of unknown format 'bogus'"));

    /* A path without a directory, and none at all. */
    f = healthy();
    SET(f->guest.disks[1].path, "disk.config");
    c = run(migrate_check_config_drive, f, MIGRATE_PATH_BLOCK);
    CU_ASSERT_EQUAL(strncmp(c.detail, "disk.config (hda) is a read-only", 32), 0);
    SET(f->guest.disks[1].path, "");
    c = run(migrate_check_config_drive, f, MIGRATE_PATH_BLOCK);
    CU_ASSERT_EQUAL(strncmp(c.detail, "(no path) (hda) is a read-only", 30), 0);

    /* A count beyond the array reads only the array. */
    f = healthy();
    f->guest.n_disks = FACTS_MAX_DISKS + 1;
    c = run(migrate_check_config_drive, f, MIGRATE_PATH_BLOCK);
    CU_ASSERT_EQUAL(c.status, CHECK_PASS);

    expect_null_handling(migrate_check_config_drive, "config-drive");
}

/* --- disk-space ------------------------------------------------------------------------ */

static void test_disk_space(void)
{
    struct migrate_facts *f = healthy();
    struct check_result c;

    /* Shared: nothing to copy, whatever the numbers. */
    f->dst.instance_dir_free_bytes = 0;
    f->dst.instance_dir_free_known = false;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "disk-space", CHECK_PASS, "nothing to copy: the shared path moves memory and device state only");
    /* No path (or one nobody knows): nothing to judge. */
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_NONE);
    expect_check(&c, "disk-space", CHECK_SKIP, "not checked: no path was chosen");
    c = run(migrate_check_disk_space, f, (enum migrate_path)17);
    expect_check(&c, "disk-space", CHECK_SKIP, "not checked: no path was chosen");
    /* Cold on proven shared storage: nothing to copy. */
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_COLD);
    expect_check(&c, "disk-space", CHECK_PASS, "nothing to copy: hostB shares the instance directory");

    /* Block, over-commit off: the overlay's virtual size plus the config drive. */
    f = healthy();
    f->sharing.token_seen = false;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "disk-space", CHECK_PASS,
                 "needs 20 GiB (virtual sizes; disk over-commit off), 37.5 GiB free on hostB");
    /* Exactly full still fits; one byte more does not. */
    f->dst.instance_dir_free_bytes = 20 * GiB + 512 * KiB;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK);
    CU_ASSERT_EQUAL(c.status, CHECK_PASS);
    f->dst.instance_dir_free_bytes = 20 * GiB + 512 * KiB - 1;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "disk-space", CHECK_FAIL,
                 "needs 20 GiB (virtual sizes; disk over-commit off), 20 GiB free on hostB; free space there, or count "
                 "allocations with --disk-overcommit");
    /* With over-commit, allocations: 1 GiB + 512 KiB fits. */
    f->disk_overcommit = true;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "disk-space", CHECK_PASS, "needs 1 GiB (allocations; disk over-commit on), 20 GiB free on hostB");
    f->dst.instance_dir_free_bytes = 1 * GiB;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "disk-space", CHECK_FAIL,
                 "needs 1 GiB (allocations; disk over-commit on), 1 GiB free on hostB; free space there");

    /* The brief's example: 1.2 GiB by virtual size. */
    f = healthy();
    f->sharing.source_healthy = false;
    f->guest.disks[0].virtual_size = 1288490189 - 512 * KiB;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "disk-space", CHECK_PASS,
                 "needs 1.2 GiB (virtual sizes; disk over-commit off), 37.5 GiB free on hostB");

    /* Backing files hostB lacks are counted, each once, and named. */
    f = healthy();
    f->sharing.token_seen = false;
    f->guest.disks[0].dest_has_backing = false;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "disk-space", CHECK_PASS,
                 "needs 20.5 GiB (virtual sizes; disk over-commit off; with 1 backing file hostB lacks), 37.5 GiB free "
                 "on hostB");
    struct disk_facts *vdb = add_disk(f, "vdb", "disk.eph0", 1 * GiB, 1 * MiB);
    set_backing(vdb, "ephemeral_1_0706d66", 1 * MiB, false);
    struct disk_facts *vdc = add_disk(f, "vdc", "disk.eph1", 1 * GiB, 1 * MiB);
    set_backing(vdc, "ephemeral_1_0706d66", 1 * MiB, false);
    f->disk_overcommit = true;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK);
    /* 1 GiB + 2 MiB writable allocations, 512 KiB config drive, 512 MiB + 1 MiB backing. */
    expect_check(&c, "disk-space", CHECK_PASS,
                 "needs 1.5 GiB (allocations; disk over-commit on; with 2 backing files hostB lacks), 37.5 GiB free "
                 "on hostB");

    /* Cold: allocations, whatever over-commit says; every disk, read-only ones too. */
    f = healthy();
    f->sharing.dest_lease_live = false;
    f->guest.state = GUEST_SHUTOFF;
    struct disk_facts *data = add_disk(f, "vdb", "disk.data", 100 * GiB, 3 * GiB);
    data->readonly = true;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_COLD);
    expect_check(&c, "disk-space", CHECK_PASS,
                 "needs 4 GiB (allocations: a cold copy writes the files as they are), 37.5 GiB free on hostB");
    f->disk_overcommit = true;
    CU_ASSERT_STRING_EQUAL(run(migrate_check_disk_space, f, MIGRATE_PATH_COLD).detail, c.detail);
    f->dst.instance_dir_free_bytes = 4 * GiB;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_COLD);
    expect_check(&c, "disk-space", CHECK_FAIL,
                 "needs 4 GiB (allocations: a cold copy writes the files as they are), 4 GiB free on hostB; free "
                 "space there");
    f->disk_overcommit = false; /* no over-commit hint on the cold path: it would change nothing */
    CU_ASSERT_STRING_EQUAL(run(migrate_check_disk_space, f, MIGRATE_PATH_COLD).detail, c.detail);
    f->guest.disks[0].dest_has_backing = false;
    f->dst.instance_dir_free_bytes = 100 * GiB;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_COLD);
    expect_check(&c, "disk-space", CHECK_PASS,
                 "needs 4.5 GiB (allocations: a cold copy writes the files as they are; with 1 backing file hostB "
                 "lacks), 100 GiB free on hostB");

    /* Free space unknown: a warning, on both copying paths. */
    f = healthy();
    f->sharing.token_seen = false;
    f->dst.instance_dir_free_known = false;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "disk-space", CHECK_WARN,
                 "needs 20 GiB (virtual sizes; disk over-commit off), free space on hostB unknown; check it there (df "
                 "on the instance directory)");
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_COLD);
    CU_ASSERT_EQUAL(c.status, CHECK_WARN);
    /* Block judges sizes even on proven storage (the planner refuses that path anyway). */
    f = healthy();
    f->dst.instance_dir_free_bytes = 1;
    CU_ASSERT_EQUAL(run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK).status, CHECK_FAIL);

    /* No disks: nothing needed, fits anywhere. */
    f = healthy();
    f->sharing.token_seen = false;
    f->guest.n_disks = 0;
    f->dst.instance_dir_free_bytes = 0;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "disk-space", CHECK_PASS, "needs 0 B (virtual sizes; disk over-commit off), 0 B free on hostB");

    /* Sizes that would overflow saturate and do not fit. */
    f = healthy();
    f->sharing.token_seen = false;
    f->guest.disks[0].virtual_size = UINT64_MAX;
    f->dst.instance_dir_free_bytes = UINT64_MAX - 1;
    c = run(migrate_check_disk_space, f, MIGRATE_PATH_BLOCK);
    CU_ASSERT_EQUAL(c.status, CHECK_FAIL);
    CU_ASSERT_EQUAL(strncmp(c.detail, "needs 16 EiB", 12), 0);

    expect_null_handling(migrate_check_disk_space, "disk-space");
}

/* --- memory ---------------------------------------------------------------------------- */

static void test_memory(void)
{
    struct migrate_facts *f = healthy();
    struct check_result c = run(migrate_check_memory, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "memory", CHECK_PASS, "instance-00000001 needs 2 GiB of memory, 30 GiB free on hostB");
    f->dst.free_memory_bytes = 2 * GiB; /* exactly */
    c = run(migrate_check_memory, f, MIGRATE_PATH_BLOCK);
    CU_ASSERT_EQUAL(c.status, CHECK_PASS);
    f->dst.free_memory_bytes = 2 * GiB - 1;
    c = run(migrate_check_memory, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "memory", CHECK_FAIL,
                 "instance-00000001 needs 2 GiB of memory, 2 GiB free on hostB; free memory there or choose another "
                 "host");
    f->dst.free_memory_bytes = 1536 * MiB;
    SET(f->guest.name, "");
    c = run(migrate_check_memory, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "memory", CHECK_FAIL,
                 "the guest needs 2 GiB of memory, 1.5 GiB free on hostB; free memory there or choose another host");

    /* Cold: judged for a guest that will be started again, skipped for one that stays off. */
    f = healthy();
    f->dst.free_memory_bytes = 1 * GiB;
    c = run(migrate_check_memory, f, MIGRATE_PATH_COLD);
    CU_ASSERT_EQUAL(c.status, CHECK_FAIL);
    f->guest.state = GUEST_PAUSED;
    c = run(migrate_check_memory, f, MIGRATE_PATH_COLD);
    CU_ASSERT_EQUAL(c.status, CHECK_FAIL);
    f->guest.state = GUEST_SHUTOFF;
    c = run(migrate_check_memory, f, MIGRATE_PATH_COLD);
    expect_check(&c, "memory", CHECK_SKIP,
                 "not checked: instance-00000001 is not running and stays off after a cold move");
    f->guest.state = GUEST_OTHER;
    c = run(migrate_check_memory, f, MIGRATE_PATH_COLD);
    CU_ASSERT_EQUAL(c.status, CHECK_SKIP);
    /* ...even with the destination silent. */
    f->dst.connected = false;
    c = run(migrate_check_memory, f, MIGRATE_PATH_COLD);
    expect_check(&c, "memory", CHECK_SKIP,
                 "not checked: instance-00000001 is not running and stays off after a cold move");
    /* A shut-off guest on another path (refused by the planner) is still judged. */
    f = healthy();
    f->guest.state = GUEST_SHUTOFF;
    f->dst.free_memory_bytes = 0;
    CU_ASSERT_EQUAL(run(migrate_check_memory, f, MIGRATE_PATH_BLOCK).status, CHECK_FAIL);
    CU_ASSERT_EQUAL(run(migrate_check_memory, f, MIGRATE_PATH_NONE).status, CHECK_FAIL);

    expect_skips_when_unreachable(migrate_check_memory, "memory");
    expect_null_handling(migrate_check_memory, "memory");
}

/* --- network --------------------------------------------------------------------------- */

static void test_network(void)
{
    struct migrate_facts *f = healthy();
    struct check_result c = run(migrate_check_network, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "network", CHECK_PASS, "hostB has network 'default', bridge 'br100'");

    f->guest.n_nics = 0;
    c = run(migrate_check_network, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "network", CHECK_PASS, "no network interfaces");

    /* Missing ones are listed, each once; the present ones are not. */
    f = healthy();
    add_nic(f, "network", "private");
    add_nic(f, "bridge", "br-ex");
    add_nic(f, "network", "private");
    add_nic(f, "network", "br100"); /* a bridge of that name is no network */
    c = run(migrate_check_network, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "network", CHECK_FAIL,
                 "missing on hostB: network 'private', bridge 'br-ex', network 'br100'; create them there (virsh "
                 "net-define and net-start, or the host bridge) before moving the guest");
    /* Found later in the destination's lists. */
    SET(f->dst.networks[f->dst.n_networks++], "private");
    SET(f->dst.networks[f->dst.n_networks++], "br100");
    SET(f->dst.bridges[f->dst.n_bridges++], "br-ex");
    c = run(migrate_check_network, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "network", CHECK_PASS,
                 "hostB has network 'default', bridge 'br100', network 'private', bridge 'br-ex', network 'br100'");

    /* Interfaces of other types are not looked up, and said so. */
    f = healthy();
    add_nic(f, "direct", "eth0");
    c = run(migrate_check_network, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "network", CHECK_PASS,
                 "hostB has network 'default', bridge 'br100'; 1 interface of another type not checked");
    add_nic(f, "user", "");
    f->dst.n_bridges = 0;
    c = run(migrate_check_network, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "network", CHECK_FAIL,
                 "missing on hostB: bridge 'br100'; 2 interfaces of another type not checked; create them there (virsh "
                 "net-define and net-start, or the host bridge) before moving the guest");
    f->guest.n_nics = 0;
    add_nic(f, "user", "");
    c = run(migrate_check_network, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "network", CHECK_PASS,
                 "no interface uses a libvirt network or host bridge; 1 interface of another type not checked");

    /* The destination has none at all. */
    f = healthy();
    f->dst.n_networks = 0;
    f->dst.n_bridges = 0;
    c = run(migrate_check_network, f, MIGRATE_PATH_COLD);
    expect_check(&c, "network", CHECK_FAIL,
                 "missing on hostB: network 'default', bridge 'br100'; create them there (virsh net-define and "
                 "net-start, or the host bridge) before moving the guest");

    /* Counts beyond the arrays read only the arrays. */
    f = healthy();
    f->dst.n_networks = FACTS_MAX_NETS + 5;
    f->dst.n_bridges = FACTS_MAX_NETS + 5;
    f->guest.n_nics = FACTS_MAX_NICS + 5;
    c = run(migrate_check_network, f, MIGRATE_PATH_SHARED);
    CU_ASSERT_EQUAL(c.status, CHECK_PASS); /* the zeroed rest: interfaces of no type */
    CU_ASSERT_PTR_NOT_NULL(strstr(c.detail, "; 14 interfaces of another type not checked"));

    /* A long list is cut, still one terminated line. */
    f = healthy();
    f->guest.n_nics = 0;
    for (size_t i = 0; i < FACTS_MAX_NICS; i++) {
        char name[FACTS_NAME_MAX];
        memset(name, 'n', 60);
        snprintf(name + 60, sizeof(name) - 60, "%zu", i);
        add_nic(f, "network", name);
    }
    c = run(migrate_check_network, f, MIGRATE_PATH_SHARED);
    CU_ASSERT_EQUAL(c.status, CHECK_FAIL);
    CU_ASSERT_EQUAL(strlen(c.detail), sizeof(c.detail) - 1);

    expect_skips_when_unreachable(migrate_check_network, "network");
    expect_null_handling(migrate_check_network, "network");
}

/* --- fenced ---------------------------------------------------------------------------- */

static void test_fenced(void)
{
    struct migrate_facts *f = healthy();
    struct check_result c = run(migrate_check_fenced, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "fenced", CHECK_PASS, "neither hostA nor hostB is fenced");

    f->dst.fenced = true;
    SET(f->dst.fenced_detail, "lease not renewed for 40s");
    c = run(migrate_check_fenced, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "fenced", CHECK_FAIL,
                 "hostB is fenced: lease not renewed for 40s; once its storage is healthy, run 'ferry storage "
                 "unfence' there");
    SET(f->dst.fenced_detail, "");
    c = run(migrate_check_fenced, f, MIGRATE_PATH_COLD);
    expect_check(&c, "fenced", CHECK_FAIL,
                 "hostB is fenced; once its storage is healthy, run 'ferry storage unfence' there");

    f = healthy();
    f->src.fenced = true;
    SET(f->src.fenced_detail, "fenced by request 7");
    SET(f->dst.fenced_detail, "stale text of an unfenced host");
    c = run(migrate_check_fenced, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "fenced", CHECK_FAIL,
                 "hostA is fenced: fenced by request 7; once its storage is healthy, run 'ferry storage unfence' "
                 "there");

    f->dst.fenced = true;
    SET(f->dst.fenced_detail, "export unreachable");
    c = run(migrate_check_fenced, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "fenced", CHECK_FAIL,
                 "hostA is fenced: fenced by request 7, and so is hostB: export unreachable; once their storage is "
                 "healthy, run 'ferry storage unfence' on each");
    SET(f->src.fenced_detail, "");
    SET(f->dst.fenced_detail, "");
    c = run(migrate_check_fenced, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "fenced", CHECK_FAIL,
                 "hostA is fenced, and so is hostB; once their storage is healthy, run 'ferry storage unfence' on "
                 "each");

    /* Fencing is judged whatever the destination's libvirt says. */
    f = healthy();
    f->dst.connected = false;
    f->dst.fenced = true;
    CU_ASSERT_EQUAL(run(migrate_check_fenced, f, MIGRATE_PATH_COLD).status, CHECK_FAIL);

    expect_null_handling(migrate_check_fenced, "fenced");
}

/* --- shared-storage -------------------------------------------------------------------- */

static void test_shared_storage(void)
{
    struct migrate_facts *f = healthy();
    char gap[512];
    struct check_result c = run(migrate_check_shared_storage, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "shared-storage", CHECK_PASS,
                 "hostA is healthy, the lease of hostB is live, and a token written through its libvirt was found "
                 "here with the same content");
    CU_ASSERT_TRUE(migrate_sharing_proven(&f->sharing));
    ASSERT_STR(migrate_sharing_gap(f, gap, sizeof(gap)), "");
    f->sharing.fs_recognised_shared = false;
    c = run(migrate_check_shared_storage, f, MIGRATE_PATH_SHARED);
    expect_check(&c, "shared-storage", CHECK_PASS,
                 "hostA is healthy, the lease of hostB is live, and a token written through its libvirt was found "
                 "here with the same content; libvirt does not recognise the filesystem as shared, so ferry passes "
                 "VIR_MIGRATE_UNSAFE");
    CU_ASSERT_TRUE(migrate_sharing_proven(&f->sharing)); /* libvirt's opinion is no part of the proof */

    /* Each piece missing, first missing named first. */
    f = healthy();
    f->sharing.source_healthy = false;
    SET(f->sharing.source_detail, "check latency fails: p99 900 ms");
    c = run(migrate_check_shared_storage, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "shared-storage", CHECK_WARN,
                 "not proven: the instance store on hostA is not healthy: check latency fails: p99 900 ms; auto "
                 "copies the disks instead (block, or cold for a shut-off guest)");
    CU_ASSERT_FALSE(migrate_sharing_proven(&f->sharing));
    /* ... and the token was not tried because of it. */
    f->sharing.token_tried = false;
    f->sharing.token_seen = false;
    f->sharing.dest_lease_live = false;
    SET(f->sharing.token_detail, "this host's storage is not healthy");
    c = run(migrate_check_shared_storage, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "shared-storage", CHECK_WARN,
                 "not proven: the instance store on hostA is not healthy: check latency fails: p99 900 ms; the "
                 "sharing token was not tried: this host's storage is not healthy; auto copies the disks instead "
                 "(block, or cold for a shut-off guest)");
    SET(f->sharing.token_detail, "");
    SET(f->sharing.source_detail, "");
    c = run(migrate_check_shared_storage, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "shared-storage", CHECK_WARN,
                 "not proven: the instance store on hostA is not healthy; the sharing token was not tried; auto "
                 "copies the disks instead (block, or cold for a shut-off guest)");

    f = healthy();
    f->sharing.dest_lease_live = false;
    SET(f->sharing.dest_detail, "counter unchanged for 45s");
    c = run(migrate_check_shared_storage, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "shared-storage", CHECK_WARN,
                 "not proven: the lease of hostB is not live: counter unchanged for 45s; auto copies the disks instead "
                 "(block, or cold for a shut-off guest)");
    f->sharing.token_tried = false;
    f->sharing.token_seen = false;
    c = run(migrate_check_shared_storage, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "shared-storage", CHECK_WARN,
                 "not proven: the lease of hostB is not live: counter unchanged for 45s; the sharing token was not "
                 "tried; auto copies the disks instead (block, or cold for a shut-off guest)");

    /* The token not tried although the rest holds: the recorded reason, or that there is none. */
    f = healthy();
    f->sharing.token_tried = false;
    f->sharing.token_seen = false;
    SET(f->sharing.token_detail, "hostB has no storage pool on the instance directory");
    c = run(migrate_check_shared_storage, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "shared-storage", CHECK_WARN,
                 "not proven: the sharing token was not tried: hostB has no storage pool on the instance directory; "
                 "auto copies the disks instead (block, or cold for a shut-off guest)");
    SET(f->sharing.token_detail, "");
    c = run(migrate_check_shared_storage, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "shared-storage", CHECK_WARN,
                 "not proven: the sharing token was not tried: no reason recorded; auto copies the disks instead "
                 "(block, or cold for a shut-off guest)");

    /* Tried and not found: the hosts see different directories. */
    f = healthy();
    f->sharing.token_seen = false;
    c = run(migrate_check_shared_storage, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "shared-storage", CHECK_WARN,
                 "not proven: hostA and hostB do not see the same directory: a token written through the libvirt of "
                 "hostB was not found here with the same content; auto copies the disks instead (block, or cold for a "
                 "shut-off guest)");
    SET(f->sharing.token_detail, ".ferry-token-1234 has other content");
    c = run(migrate_check_shared_storage, f, MIGRATE_PATH_BLOCK);
    expect_check(&c, "shared-storage", CHECK_WARN,
                 "not proven: hostA and hostB do not see the same directory: a token written through the libvirt of "
                 "hostB was not found here with the same content: .ferry-token-1234 has other content; auto copies "
                 "the disks instead (block, or cold for a shut-off guest)");
    /* Seen without "tried" is still seen: proven. */
    f = healthy();
    f->sharing.token_tried = false;
    CU_ASSERT_TRUE(migrate_sharing_proven(&f->sharing));
    CU_ASSERT_EQUAL(run(migrate_check_shared_storage, f, MIGRATE_PATH_SHARED).status, CHECK_PASS);

    /* Every combination: proven exactly when the three hold. */
    for (unsigned bits = 0; bits < 32; bits++) {
        f = healthy();
        f->sharing.source_healthy = bits & 1;
        f->sharing.dest_lease_live = bits & 2;
        f->sharing.token_tried = bits & 4;
        f->sharing.token_seen = bits & 8;
        f->sharing.fs_recognised_shared = bits & 16;
        bool proven = (bits & 1) && (bits & 2) && (bits & 8);
        CU_ASSERT_EQUAL(migrate_sharing_proven(&f->sharing), proven);
        c = run(migrate_check_shared_storage, f, MIGRATE_PATH_BLOCK);
        CU_ASSERT_EQUAL(c.status, proven ? CHECK_PASS : CHECK_WARN);
        CU_ASSERT_EQUAL(migrate_sharing_gap(f, gap, sizeof(gap))[0] == 0, proven);
    }
    CU_ASSERT_FALSE(migrate_sharing_proven(NULL));

    /* The gap cut to its buffer; NULLs. */
    f = healthy();
    f->sharing.dest_lease_live = false;
    char small[12];
    ASSERT_STR(migrate_sharing_gap(f, small, sizeof(small)), "the lease o");
    CU_ASSERT_PTR_NULL(migrate_sharing_gap(f, NULL, 10));
    char untouched[2] = "q";
    migrate_sharing_gap(f, untouched, 0);
    CU_ASSERT_EQUAL(untouched[0], 'q');
    ASSERT_STR(migrate_sharing_gap(NULL, gap, sizeof(gap)), "no facts were gathered");
    /* Without host names. */
    SET(f->dst.name, "");
    ASSERT_STR(migrate_sharing_gap(f, gap, sizeof(gap)), "the lease of the destination is not live");
    f = healthy();
    f->sharing.source_healthy = false;
    SET(f->src.name, "");
    ASSERT_STR(migrate_sharing_gap(f, gap, sizeof(gap)), "the instance store on this host is not healthy");

    /* Independent of the destination's libvirt (the token says it all). */
    f = healthy();
    f->dst.connected = false;
    CU_ASSERT_EQUAL(run(migrate_check_shared_storage, f, MIGRATE_PATH_SHARED).status, CHECK_PASS);

    expect_null_handling(migrate_check_shared_storage, "shared-storage");
}

/* --- all of them ----------------------------------------------------------------------- */

static void test_run_all(void)
{
    struct check_result out[MIGRATE_MAX_CHECKS + 1];
    struct migrate_facts *f = healthy();

    /* The healthy default passes everything, on every path, in the stable order. */
    for (int p = MIGRATE_PATH_SHARED; p <= MIGRATE_PATH_COLD; p++) {
        memset(out, 0, sizeof(out));
        out[MIGRATE_MAX_CHECKS].name = "sentinel";
        CU_ASSERT_EQUAL(migrate_checks_run(f, (enum migrate_path)p, out), MIGRATE_MAX_CHECKS);
        for (size_t i = 0; i < MIGRATE_MAX_CHECKS; i++) {
            ASSERT_STR(out[i].name, migrate_check_name((enum migrate_check)i));
            CU_ASSERT_EQUAL(out[i].status, CHECK_PASS);
            CU_ASSERT(out[i].detail[0] != 0);
        }
        ASSERT_STR(out[MIGRATE_MAX_CHECKS].name, "sentinel"); /* nothing written past the end */
    }

    /* Each result is the single check's result. */
    f->dst.libvirt_version = 9001000;
    f->guest.state = GUEST_SHUTOFF;
    f->sharing.token_seen = false;
    migrate_checks_run(f, MIGRATE_PATH_COLD, out);
    static check_fn *const fns[MIGRATE_MAX_CHECKS] = {
        migrate_check_cpu,    migrate_check_libvirt_version, migrate_check_hostname, migrate_check_uri,
        migrate_check_config_drive, migrate_check_disk_space, migrate_check_memory, migrate_check_network,
        migrate_check_fenced, migrate_check_shared_storage,
    };
    for (size_t i = 0; i < MIGRATE_MAX_CHECKS; i++) {
        struct check_result one = run(fns[i], f, MIGRATE_PATH_COLD);
        ASSERT_STR(out[i].name, one.name);
        CU_ASSERT_EQUAL(out[i].status, one.status);
        ASSERT_STR(out[i].detail, one.detail);
    }
    CU_ASSERT_EQUAL(out[MIGRATE_CHECK_LIBVIRT_VERSION].status, CHECK_FAIL);
    CU_ASSERT_EQUAL(out[MIGRATE_CHECK_MEMORY].status, CHECK_SKIP);
    CU_ASSERT_EQUAL(out[MIGRATE_CHECK_SHARED_STORAGE].status, CHECK_WARN);

    /* The destination silent: uri fails, its dependants skip, the rest judge. */
    f = healthy();
    f->dst.connected = false;
    migrate_checks_run(f, MIGRATE_PATH_BLOCK, out);
    static const enum check_status expected[MIGRATE_MAX_CHECKS] = {
        CHECK_SKIP, CHECK_SKIP, CHECK_SKIP, CHECK_FAIL, CHECK_PASS,
        CHECK_PASS, CHECK_SKIP, CHECK_SKIP, CHECK_PASS, CHECK_PASS,
    };
    for (size_t i = 0; i < MIGRATE_MAX_CHECKS; i++)
        CU_ASSERT_EQUAL(out[i].status, expected[i]);

    CU_ASSERT_EQUAL(migrate_checks_run(NULL, MIGRATE_PATH_BLOCK, out), 0);
    CU_ASSERT_EQUAL(migrate_checks_run(f, MIGRATE_PATH_BLOCK, NULL), 0);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "byte amounts", test_format_bytes },
        { "version numbers", test_format_version },
        { "names", test_names },
        { "guest active", test_guest_active },
        { "sizes", test_sizes },
        { "cpu", test_cpu },
        { "libvirt-version", test_libvirt_version },
        { "hostname", test_hostname },
        { "uri", test_uri },
        { "config-drive", test_config_drive },
        { "disk-space", test_disk_space },
        { "memory", test_memory },
        { "network", test_network },
        { "fenced", test_fenced },
        { "shared-storage", test_shared_storage },
        { "all checks", test_run_all },
        { NULL, NULL },
    };
    return test_run_suite("migrate_checks", cases);
}
