/*
 * What is mounted where: the one entry of the mount table that sits at a directory, read from
 * mountinfo through libmount, and what ferry should think of it (kernel NFS, ferry's own FUSE
 * bridge, or something else; hard or soft; which NFS version). Facts only: deciding whether
 * the mount is acceptable is the caller's business.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>

struct mount_entry {
    char *target;     /* mount point, unescaped ("/mnt/a b") */
    char *source;     /* e.g. "10.0.0.5:/srv/nova"; "" when the kernel shows none */
    char *fstype;     /* e.g. "nfs4", "fuse.ferry" */
    char *options;    /* VFS + FS options, comma-separated, as libmount's mnt_fs_get_options() */
    char *fs_options; /* FS-specific options only (mnt_fs_get_fs_options) */
    bool read_only;   /* "ro" in the VFS (per-mount) or the FS (superblock) options */
    dev_t devno;      /* the filesystem's device number (for FUSE, its connection: the minor) */
};

/*
 * Reads mountinfo TEXT (the format of /proc/self/mountinfo) and finds the entry mounted at
 * TARGET: the LAST one, the top of an over-mount stack. TARGET and the mountinfo targets are
 * compared after collapsing repeated '/' and dropping a trailing '/', without touching the
 * filesystem (no symlinks resolved). TARGET is plain text; mountinfo's \040 escapes are undone.
 * Returns 0 and fills *entry (every string non-NULL; free with mount_entry_clear()),
 * -ENOENT if nothing is mounted there (also for empty text), -EINVAL if the text is not
 * mountinfo (any line that does not parse) or TARGET is not an absolute path, -ENOMEM.
 * On error *entry is untouched.
 * One libmount habit reaches outside the text: a "/dev/root" source is rewritten to the real
 * root device when libmount can find it on this host (it reads /sys/dev/block and /proc/cmdline).
 */
int mount_table_find_in_text(const char *mountinfo_text, const char *target, struct mount_entry *entry);

/* The same on the live /proc/self/mountinfo; also -errno when it cannot be read. */
int mount_table_find(const char *target, struct mount_entry *entry);

/* Frees the strings and zeroes the entry; safe on a zeroed or already cleared entry. */
void mount_entry_clear(struct mount_entry *entry);

/* What ferry should think of an entry. */
enum mount_kind { MOUNT_KIND_NONE, MOUNT_KIND_KERNEL_NFS, MOUNT_KIND_FERRY_FUSE, MOUNT_KIND_OTHER };

/* "nfs"/"nfs4" → KERNEL_NFS; "fuse.ferry" → FERRY_FUSE; NONE for NULL or a cleared entry;
 * anything else → OTHER. */
enum mount_kind mount_entry_kind(const struct mount_entry *entry);

/* Kernel NFS entries only: hard means no "soft" or "softerr" option. False for any entry that
 * is not kernel NFS, since only the kernel client has hard semantics to promise. */
bool mount_entry_is_hard(const struct mount_entry *entry);

/* Kernel NFS entries only: the NFS version from "vers=" (or "nfsvers="), e.g. "4.2", copied
 * into buf. Returns buf, or NULL when absent, the entry is not kernel NFS, or buf is too small. */
const char *mount_entry_nfs_version(const struct mount_entry *entry, char *buf, size_t size);
