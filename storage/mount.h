/*
 * Mounting the export onto the instance directory, and unmounting it: with the kernel's
 * NFS client through libmount, or with ferry's FUSE bridge over libnfs where the kernel has
 * none. Idempotent: the same export already there is success; anything else there is an
 * error that names both. The mount point stays guarded underneath (guard.h).
 */
#pragma once

#include "config.h"
#include "export_spec.h"

#include <stdbool.h>
#include <sys/types.h>

struct storage_mount_request {
    struct export_spec spec;
    const char *mountpoint;
    int driver; /* enum storage_driver; AUTO is resolved here */
    const char *extra_options;
    const char *nfs_version;
    bool force;
    const char *runtime_dir; /* bridge pid files */
    const char *log_dir;     /* bridge logs */
    unsigned timeout_ms;
};

struct storage_mount_result {
    bool already_mounted;
    int driver;        /* the driver used */
    pid_t bridge_pid;  /* fuse: the bridge process */
    char options[512]; /* kernel: the options used */
};

/* AUTO → KERNEL when /proc/filesystems lists nfs, else FUSE. */
int storage_driver_resolve(int driver);
const char *storage_driver_name(int driver);

int storage_mount(const struct storage_mount_request *req, struct storage_mount_result *res, char **error);

/* Unmounts what ferry mounted at mountpoint (stopping its bridge), then guards it.
 * *was_mounted says whether anything was. A busy mount stays, and *error names holders. */
int storage_umount(const char *mountpoint, const char *runtime_dir, bool *was_mounted, char **error);

/*
 * Fences the storage itself: every I/O in flight on the mount, and every later one, fails
 * at once (FUSE: the connection is aborted; kernel NFS: a forced unmount aborts its RPCs),
 * and the mount is detached so the guarded directory shows underneath. Processes blocked on
 * the dead server wake up with an error and can then be killed. Never blocks.
 */
int storage_abort_io(const char *mountpoint, char **error);

/* Where the bridge of a mount point keeps its pid file and log ("opt-stack-data-nova-instances"). */
void storage_bridge_paths(const char *mountpoint, const char *runtime_dir, const char *log_dir, char *pid_path,
                          size_t pid_size, char *log_path, size_t log_size);
