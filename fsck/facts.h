/*
 * What fsck knows about an instance store: plain structs, filled by the scan (scan.c, the
 * only part that reads the store), by the lease and owner readers, by the local libvirt
 * (host_domains.c) and by /proc (live_files.c). The rules (rules.c) are pure functions of
 * these structs, so every rule is tested by writing the facts by hand.
 *
 * Paths inside the store are kept relative to its root ("<uuid>/disk", "_base/abc", "" for
 * the root itself), so that the same store checked under another path (the NFS server's
 * export directory, a test's temporary copy) gives the same findings.
 */
#pragma once

#include "fence_policy.h"
#include "lease_record.h"
#include "owner_record.h"
#include "qcow2.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FSCK_UUID_LEN 36
#define FSCK_MAX_QEMU_GROUPS 32
#define FSCK_NO_INDEX ((size_t)-1)

/* lstat(2), kept small. ok is false when the file could not be stat'ed (err says why). */
struct file_stat {
    bool ok;
    int err; /* positive errno when !ok */
    uint64_t size;
    uint32_t mode, uid, gid;
    uint64_t dev, ino;
    int64_t mtime; /* seconds since the epoch */
};

/* Where a backing file name leads (backing_classify() in paths.h decides). */
enum backing_class {
    BACKING_NONE,     /* no backing file */
    BACKING_IN_STORE, /* a path inside the store (by the path scanned or the configured mount point) */
    BACKING_OUTSIDE,  /* an absolute path elsewhere, or a relative one climbing out with ".." */
    BACKING_PROTOCOL, /* nbd:, http:, rbd:, ... (QEMU's "protocol:" rule) */
    BACKING_JSON,     /* json:{...} */
};

/* Why an image is there: it decides the access the guest needs and what a rule may do. */
enum image_role {
    IMAGE_DISK,         /* a writable guest disk in an instance directory (disk, disk.local, ...) */
    IMAGE_CONFIG_DRIVE, /* disk.config: read-only */
    IMAGE_BOOT_FILE,    /* kernel, ramdisk: read-only */
    IMAGE_BASE,         /* a file in _base */
    IMAGE_CHAIN,        /* elsewhere in the store, found only because a backing chain names it */
};

/* qemu-img check --output=json, for --deep. */
struct deep_result {
    bool ran;
    int exit_status;         /* 0 clean, 1 check errors, 2 corruptions, 3 leaks; other: failed */
    int64_t check_errors, corruptions, leaks; /* -1 when absent */
    char error[200];         /* what went wrong running it, "" when it ran */
};

struct image_facts {
    char *rel;
    size_t instance; /* index into store_facts.instances, FSCK_NO_INDEX for bases and chain members */
    enum image_role role;
    struct file_stat st;
    int read_errno;           /* 0, or why its first bytes could not be read */
    char format[8];           /* as detected from its first bytes: "qcow2", "raw", ... */
    struct qcow2_info *qcow2; /* NULL unless the file has the qcow2 magic */
    enum config_drive_kind config_drive; /* IMAGE_CONFIG_DRIVE only */
    /* The backing file, as the scan resolved it. */
    enum backing_class backing_class;
    char *backing_rel;  /* BACKING_IN_STORE: the store-relative path it names */
    int backing_errno;  /* BACKING_IN_STORE: 0 found; ENOENT missing; EXDEV or ELOOP: reaching it
                           would follow a symlink out of the store; other: could not be checked */
    size_t backing;     /* index into images when found, else FSCK_NO_INDEX */
    struct deep_result deep;
};

/* A disk named by disk.info or by the instance's libvirt.xml. */
struct disk_decl {
    char *path;      /* as written */
    char *rel;       /* mapped into the store; NULL when it lies outside */
    char format[16]; /* disk.info's value or <driver type=...>; "" when not said */
    int stat_errno;  /* for rel: 0 present, ENOENT absent, other: could not be checked */
};

struct owner_claim {
    char host[LEASE_HOST_MAX + 1]; /* the file's name */
    enum lease_decode_status status;
    struct owner_record rec; /* valid when status is OK */
    char why[160];           /* when not OK */
};

/* An instance directory: STORE/<uuid>. */
struct instance_facts {
    char uuid[FSCK_UUID_LEN + 1];
    struct file_stat dir;
    int list_errno; /* 0, or why the directory could not be listed */
    size_t first_image, n_images;

    bool has_disk_info;
    char disk_info_error[160]; /* "" when it parsed */
    struct disk_decl *disk_info;
    size_t n_disk_info;

    bool has_libvirt_xml;
    char libvirt_xml_error[160]; /* "" when it parsed */
    struct disk_decl *xml_disks;
    size_t n_xml_disks;

    struct owner_claim *claims; /* .ferry/owners/<uuid>/<host> */
    size_t n_claims;
};

enum leftover_kind {
    LEFTOVER_PARTIAL, /* ferry's streamer: X.ferry-partial and its companions */
    LEFTOVER_RESIZE,  /* Nova: <uuid>_resize */
    LEFTOVER_DELETED, /* Nova: <uuid>_del */
};

struct leftover_facts {
    char *rel;
    enum leftover_kind kind;
    char instance[FSCK_UUID_LEN + 1]; /* the instance it belongs to, "" when none */
    bool is_dir;
    int64_t newest_mtime; /* of the entry and, for a directory, of what it holds directly */
};

struct symlink_facts {
    char *rel;
    char *target; /* readlink(2); never followed */
    char instance[FSCK_UUID_LEN + 1];
};

/* Something the scan could not read: it is reported, and the rest goes on. */
struct scan_problem {
    char *rel;
    int err;
    char *what; /* "cannot list", "cannot read", ... */
};

/* A host's lease record as fsck saw it, read at the start of the run and again at its end. */
struct host_lease {
    char host[LEASE_HOST_MAX + 1];
    bool readable;        /* the last read decoded */
    enum lease_state state;
    struct peer_observation obs;
    /* The local watch daemon's own judgement of this host, when it runs and knows the
     * host: a peer_liveness name ("live", "expired", ...), "" when not known. */
    char watch_liveness[16];
};

/* A guest as the local libvirt knows it. */
struct domain_facts {
    char uuid[FSCK_UUID_LEN + 1];
    char name[128];
    bool active;   /* running, paused, ... anything but shut off */
    bool job;      /* a job (migration, save, ...) is in progress */
};

struct store_facts {
    char *root;        /* the directory scanned, absolute */
    const char *roots[2]; /* the names QEMU may use for it: root and [storage] mount_point */
    size_t n_roots;
    int64_t now_s;     /* wall clock, for ages of files */
    uint64_t now_ms;   /* monotonic, for lease liveness */
    char local_host[LEASE_HOST_MAX + 1];
    struct file_stat root_st, base_dir_st;

    struct instance_facts *instances;
    size_t n_instances;
    struct image_facts *images; /* instances' images first (contiguous per instance), then the rest */
    size_t n_images;
    size_t *images_by_rel; /* indexes into images, sorted by rel: store_facts_index() */
    struct leftover_facts *leftovers;
    size_t n_leftovers;
    struct symlink_facts *symlinks;
    size_t n_symlinks;
    struct scan_problem *problems;
    size_t n_problems;

    bool leases_in_use; /* .ferry/leases holds at least one record */
    struct host_lease *leases;
    size_t n_leases;
    bool owners_in_use; /* .ferry/owners exists */

    bool libvirt_checked; /* the local libvirt answered */
    struct domain_facts *domains;
    size_t n_domains;

    bool proc_checked;
    char **held; /* store-relative paths some process holds open, sorted */
    size_t n_held;

    /* What could not be checked, and so which rules were skipped: one line each. */
    char notes[8][240];
    size_t n_notes;

    bool qemu_user_known;
    char qemu_user[32];
    uint32_t qemu_uid;
    uint32_t qemu_gids[FSCK_MAX_QEMU_GROUPS];
    size_t n_qemu_gids;
};

void store_facts_free(struct store_facts *f);

void store_note(struct store_facts *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Builds images_by_rel and sorts held: once the facts are complete, before any lookup. */
int store_facts_index(struct store_facts *f);

/* Lookups shared by the scan and the rules. */
size_t store_find_image(const struct store_facts *f, const char *rel);
const struct domain_facts *store_find_domain(const struct store_facts *f, const char *uuid);
const struct host_lease *store_find_lease(const struct store_facts *f, const char *host);
/* Is rel, or (prefix) anything under rel, held open by a process? */
bool store_is_held(const struct store_facts *f, const char *rel, bool prefix);
