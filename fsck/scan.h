/*
 * The walk of an instance store: the one part of fsck that reads it. Metadata only —
 * directory listings, lstat, the first 4 KiB of each image (32 KiB of a config drive),
 * disk.info, libvirt.xml, the lease and owner records — in parallel, one instance
 * directory or base image per work item. Never follows a symlink out of the store: every
 * open goes through openat2(RESOLVE_BENEATH) from the store's directory, and symlinks met
 * on the way are recorded, not followed. Opens use O_NOATIME, so a check leaves even the
 * access times as they were.
 */
#pragma once

#include "facts.h"

struct scan_options {
    const char *root;        /* the store, absolute */
    const char *mount_point; /* [storage] mount_point: the name the hosts' QEMUs use; may be NULL */
    unsigned jobs;           /* workers; 0: one per CPU */
    const char *libvirt_uri; /* NULL: do not ask libvirt */
    unsigned libvirt_timeout_ms;
    const char *runtime_dir; /* where the local watch daemon's watch.json is; NULL: not read */
    const char *qemu_user;   /* NULL: libvirt-qemu, else qemu */
};

/* Fills *f (zeroed by the caller). Returns 0, or a negative errno with *error (one line,
 * malloc'd) when the store itself cannot be read: the run's operational error. Anything
 * smaller that cannot be read becomes a scan_problem and the walk goes on. */
int store_scan(const struct scan_options *o, struct store_facts *f, char **error);

/* Opens rel beneath the directory fd, never leaving it (openat2 RESOLVE_BENEATH, or a
 * component-wise walk refusing every symlink where openat2 is missing). */
int open_beneath(int dirfd, const char *rel, int flags);
