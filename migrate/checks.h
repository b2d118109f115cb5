/*
 * The pre-flight checks of `ferry migrate`: what an operator would check by hand before
 * moving a guest, each a pure function of the facts the libvirt driver gathered
 * (facts.h). Each fills a check_result (verdict.h) with a stable name, pass, warn, fail
 * or skip, and one line that names the objects and, on warn or fail, the way out. The
 * planner (plan.h) decides which failures refuse which path; the checks only judge.
 *
 * When the destination's libvirt did not answer, the checks that need its answers (cpu,
 * libvirt-version, hostname, memory, network) skip and point at "uri", which fails:
 * every path requires "uri", so a skip there never lets a move through.
 */
#pragma once

#include "facts.h"
#include "plan.h"
#include "verdict.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The checks, in the order they run and print. */
enum migrate_check {
    MIGRATE_CHECK_CPU,
    MIGRATE_CHECK_LIBVIRT_VERSION,
    MIGRATE_CHECK_HOSTNAME,
    MIGRATE_CHECK_URI,
    MIGRATE_CHECK_CONFIG_DRIVE,
    MIGRATE_CHECK_DISK_SPACE,
    MIGRATE_CHECK_MEMORY,
    MIGRATE_CHECK_NETWORK,
    MIGRATE_CHECK_FENCED,
    MIGRATE_CHECK_SHARED_STORAGE,
    MIGRATE_MAX_CHECKS
};

/* "cpu", "libvirt-version", ..., "shared-storage"; NULL out of range. Static strings. */
const char *migrate_check_name(enum migrate_check check);

/*
 * Runs every check in order into out[0 .. MIGRATE_MAX_CHECKS-1] and returns how many it
 * wrote (MIGRATE_MAX_CHECKS; 0 when f or out is NULL). path is the one the checks judge
 * for (disk-space, memory): plan_path_for(f, mode).
 */
size_t migrate_checks_run(const struct migrate_facts *f, enum migrate_path path, struct check_result *out);

/*
 * The checks one by one; each does nothing when c is NULL and fails ("no facts") when f
 * is NULL. Only disk-space and memory read path; the others take it for one signature.
 *
 * cpu              the guest's CPU (or the source's host-model) against the destination's
 *                  hypervisor: identical/superset pass, incompatible fails, unknown warns
 * libvirt-version  equal pass; differing fail, or warn when only the release differs and
 *                  [migrate] libvirt_version_match = minor; both QEMU versions are shown
 * hostname         the destination's own hostname resolves here to the address ferry uses
 * uri              the destination's libvirtd answers; auth_tcp = "none" warns
 * config-drive     none, vfat or iso9660 pass (saying who copies it); other formats warn
 * disk-space       what the path writes on the destination fits in its free space
 *                  (unknown free space warns; shared: nothing to copy)
 * memory           the guest's memory fits in the destination's free memory (skip for a
 *                  guest that moves cold and stays off)
 * network          every libvirt network and host bridge the interfaces use exists there
 * fenced           neither host is fenced
 * shared-storage   sharing proven (pass) or not (warn, with the first missing piece)
 */
void migrate_check_cpu(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);
void migrate_check_libvirt_version(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);
void migrate_check_hostname(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);
void migrate_check_uri(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);
void migrate_check_config_drive(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);
void migrate_check_disk_space(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);
void migrate_check_memory(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);
void migrate_check_network(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);
void migrate_check_fenced(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);
void migrate_check_shared_storage(struct check_result *c, const struct migrate_facts *f, enum migrate_path path);

/* --- shared by the checks and the planner ------------------------------------------- */

/* Sharing is proven: this host healthy, the destination's lease live, the token seen. */
bool migrate_sharing_proven(const struct sharing_facts *s);

/*
 * The first missing piece of the proof, in the order above, as one phrase that names the
 * host ("the lease of hostB is not live: <detail>"); "" when sharing is proven. Reads the
 * host names from f. Returns buf, always NUL-terminated (cut to size).
 */
const char *migrate_sharing_gap(const struct migrate_facts *f, char *buf, size_t size);

/*
 * The guest's disks in bytes, as the paths move them. Disks without a source path (an
 * empty cdrom) hold nothing and are not counted. "Writable" is neither read-only nor a
 * config drive: QEMU mirrors those in a block migration; ferry streams the others as
 * they are. Sums saturate at UINT64_MAX rather than wrap.
 */
struct migrate_sizes {
    uint64_t writable_virtual;    /* writable disks by virtual size */
    uint64_t writable_allocation; /* writable disks by allocation */
    size_t n_writable;
    bool writable_overlay;        /* some writable disk has a backing file */
    uint64_t readonly_allocation; /* config drives and other read-only disks */
    uint64_t missing_backing;     /* backing files the destination lacks, each file once */
    size_t n_missing_backing;
    uint64_t all_allocation;      /* every disk by allocation */
    /* What ferry's streamer copies: */
    uint64_t block_stream;        /* in a block migration: read-only disks and missing backing files */
    uint64_t cold_stream;         /* in a cold move off shared storage: every disk and missing backing file */
};
void migrate_sizes_count(const struct guest_facts *g, struct migrate_sizes *s);

/* The names the details use: src.name or "this host", dst.name or "the destination",
 * guest.name or "the guest". */
const char *migrate_src_name(const struct migrate_facts *f);
const char *migrate_dst_name(const struct migrate_facts *f);
const char *migrate_guest_name(const struct migrate_facts *f);

/* The guest runs (or is paused): a live path applies, and a cold move starts it again. */
bool migrate_guest_active(const struct guest_facts *g);


/* libvirt's version encoding (major * 1000000 + minor * 1000 + release) -> "9.0.0";
 * 0 -> "unknown". */
const char *migrate_format_version(char *buf, size_t size, unsigned long version);
