/*
 * The mount module: what is mounted at the instance directory (mount_table), and changing
 * it — kernel NFS through libmount, or ferry's FUSE bridge (nfs_fuse) — with the guard kept
 * on the directory underneath.
 */
#include "mount.h"

#include "cleanup.h"
#include "clock.h"
#include "guard.h"
#include "holders.h"
#include "log.h"
#include "mount_options.h"
#include "mount_table.h"
#include "nfs_fuse.h"

#include <errno.h>
#include <fcntl.h>
#include <libmount.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_HOLDERS 8

const char *storage_driver_name(int driver)
{
    switch (driver) {
    case STORAGE_DRIVER_KERNEL:
        return "kernel";
    case STORAGE_DRIVER_FUSE:
        return "fuse";
    default:
        return "auto";
    }
}

static bool kernel_knows_nfs(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/filesystems", "re");
    char line[256];
    while (f && fgets(line, sizeof(line), f)) {
        char *name = strrchr(line, '\t');
        name = name ? name + 1 : line;
        name[strcspn(name, "\n")] = 0;
        if (!strcmp(name, "nfs") || !strcmp(name, "nfs4"))
            return true;
    }
    return false;
}

int storage_driver_resolve(int driver)
{
    if (driver != STORAGE_DRIVER_AUTO)
        return driver;
    return kernel_knows_nfs() ? STORAGE_DRIVER_KERNEL : STORAGE_DRIVER_FUSE;
}

void storage_bridge_paths(const char *mountpoint, const char *runtime_dir, const char *log_dir, char *pid_path,
                          size_t pid_size, char *log_path, size_t log_size)
{
    char name[512];
    size_t j = 0;
    /* systemd-style escaping of the path: /opt/stack/x → opt-stack-x */
    for (const char *p = mountpoint; *p && j < sizeof(name) - 1; p++) {
        if (*p == '/') {
            if (j > 0 && p[1])
                name[j++] = '-';
        } else {
            name[j++] = *p;
        }
    }
    name[j] = 0;
    snprintf(pid_path, pid_size, "%s/fuse-%s.pid", runtime_dir, j ? name : "root");
    snprintf(log_path, log_size, "%s/fuse-%s.log", log_dir, j ? name : "root");
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* What is at the mount point already: 1 = our export (nothing to do), 0 = nothing, <0 error. */
static int check_existing(const struct storage_mount_request *req, char **error)
{
    struct mount_entry e;
    char want[EXPORT_SPEC_FORMAT_SIZE];
    export_spec_format(&req->spec, want, sizeof(want));
    int r = mount_table_find(req->mountpoint, &e);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        if (asprintf(error, "cannot read the mount table: %s", strerror(-r)) < 0)
            *error = NULL;
        return r;
    }
    struct export_spec there;
    char *perr = NULL;
    enum mount_kind kind = mount_entry_kind(&e);
    bool nfs = kind == MOUNT_KIND_KERNEL_NFS || kind == MOUNT_KIND_FERRY_FUSE;
    bool same = nfs && export_spec_parse(e.source, &there, &perr) == 0 && export_spec_equal(&there, &req->spec);
    free(perr);
    if (same) {
        mount_entry_clear(&e);
        return 1;
    }
    if (nfs) {
        if (asprintf(error,
                     "%s already has export %s mounted (%s), not %s; unmount it first (ferry storage umount --at %s)",
                     req->mountpoint, e.source, e.fstype, want, req->mountpoint) < 0)
            *error = NULL;
    } else if (asprintf(error,
                        "%s has a %s filesystem (%s) mounted on it, not export %s; unmount it first, or mount the "
                        "export elsewhere with --at",
                        req->mountpoint, e.fstype, e.source, want) < 0) {
        *error = NULL;
    }
    mount_entry_clear(&e);
    return -EEXIST;
}

/* The kernel client needs the server's address; mount.nfs would resolve it, mount(2) won't. */
static int kernel_mount(const struct storage_mount_request *req, const char *options, char **error)
{
    char source[EXPORT_SPEC_FORMAT_SIZE], buf[512];
    export_spec_format(&req->spec, source, sizeof(source));
    struct libmnt_context *cxt = mnt_new_context();
    if (!cxt)
        return -ENOMEM;
    const char *fstype = req->nfs_version && req->nfs_version[0] == '4' ? "nfs4" : "nfs";
    mnt_context_set_source(cxt, source);
    mnt_context_set_target(cxt, req->mountpoint);
    mnt_context_set_fstype(cxt, fstype);
    mnt_context_set_options(cxt, options);
    int rc = mnt_context_mount(cxt);
    int r = 0;
    if (rc != 0 || mnt_context_get_status(cxt) != 1) {
        mnt_context_get_excode(cxt, rc, buf, sizeof(buf));
        int syserr = mnt_context_get_syscall_errno(cxt);
        r = syserr ? -syserr : -EIO;
        if (asprintf(error, "cannot mount export %s at %s with the kernel client (%s, %s): %s%s", source,
                     req->mountpoint, fstype, options, buf[0] ? buf : strerror(-r),
                     syserr == ENODEV ? "; this kernel has no NFS client: use --driver fuse" : "") < 0)
            *error = NULL;
    }
    mnt_free_context(cxt);
    return r;
}

static int bridge_mount(const struct storage_mount_request *req, pid_t *pid, char **error)
{
    char url[EXPORT_SPEC_URL_SIZE], fsname[EXPORT_SPEC_FORMAT_SIZE], pid_path[4200], log_path[4200];
    int r;
    export_spec_url(&req->spec, 3, url, sizeof(url));
    export_spec_format(&req->spec, fsname, sizeof(fsname));
    storage_bridge_paths(req->mountpoint, req->runtime_dir, req->log_dir, pid_path, sizeof(pid_path), log_path,
                         sizeof(log_path));
    r = mkdir_p(req->runtime_dir, 0755);
    if (r == 0)
        r = mkdir_p(req->log_dir, 0755);
    if (r < 0) {
        if (asprintf(error, "cannot create %s or %s: %s", req->runtime_dir, req->log_dir, strerror(-r)) < 0)
            *error = NULL;
        return r;
    }
    struct nfs_fuse_options o = {
        .url = url, .mountpoint = req->mountpoint, .fsname = fsname, .log_path = log_path, .pid_path = pid_path,
    };
    return nfs_fuse_start(&o, req->timeout_ms, pid, error);
}

int storage_mount(const struct storage_mount_request *req, struct storage_mount_result *res, char **error)
{
    struct guard_state guard;
    struct stat st;
    int r;

    *error = NULL;
    memset(res, 0, sizeof(*res));
    res->driver = storage_driver_resolve(req->driver);

    /* The mount table first: a stat of a mount point whose server is gone would hang. */
    r = check_existing(req, error);
    if (r < 0)
        return r;
    if (r == 1) {
        res->already_mounted = true;
        return 0;
    }

    /* A missing mount point is more likely a typo than a wish: say so rather than make it. */
    if (stat(req->mountpoint, &st) < 0) {
        r = -errno;
        if (asprintf(error, "mount point %s: %s; create it (mkdir -p %s) or fix --at / [storage] mount_point",
                     req->mountpoint, strerror(-r), req->mountpoint) < 0)
            *error = NULL;
        return r;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (asprintf(error, "mount point %s is not a directory", req->mountpoint) < 0)
            *error = NULL;
        return -ENOTDIR;
    }

    /* Nothing is mounted: guard the directory before covering it. */
    r = guard_apply(req->mountpoint, &guard, error);
    if (r < 0)
        return r;

    if (res->driver == STORAGE_DRIVER_KERNEL) {
        r = mount_options_build(req->nfs_version, req->extra_options, req->force, res->options,
                                sizeof(res->options), error);
        if (r < 0)
            return r;
        return kernel_mount(req, res->options, error);
    }
    return bridge_mount(req, &res->bridge_pid, error);
}

static pid_t read_pid(const char *path)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    long pid = 0;
    if (!f || fscanf(f, "%ld", &pid) != 1)
        return 0;
    return (pid_t)pid;
}

static int wait_gone(pid_t pid, unsigned timeout_ms)
{
    uint64_t deadline = clock_monotonic_ms() + timeout_ms;
    while (kill(pid, 0) == 0) {
        char path[64], state = 0;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (f && fscanf(f, "%*d (%*[^)]) %c", &state) == 1 && state == 'Z')
            return 0;
        if (clock_monotonic_ms() >= deadline)
            return -ETIMEDOUT;
        usleep(20000);
    }
    return 0;
}

/* FUSE's control filesystem, mounted where systemd would mount it if nobody did. */
static int fuse_abort_connection(dev_t devno, char **error)
{
    char path[128];
    snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort", minor(devno));
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL) == 0)
        fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        int r = -errno;
        if (asprintf(error, "cannot abort FUSE connection %u (%s): %s", minor(devno), path, strerror(-r)) < 0)
            *error = NULL;
        return r;
    }
    int r = write(fd, "1", 1) == 1 ? 0 : -errno;
    close(fd);
    return r;
}

int storage_abort_io(const char *mountpoint, char **error)
{
    struct mount_entry e;
    *error = NULL;
    int r = mount_table_find(mountpoint, &e);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    enum mount_kind kind = mount_entry_kind(&e);
    dev_t devno = e.devno;
    mount_entry_clear(&e);
    if (kind == MOUNT_KIND_FERRY_FUSE)
        r = fuse_abort_connection(devno, error);
    else if (kind == MOUNT_KIND_KERNEL_NFS && umount2(mountpoint, MNT_FORCE) < 0 && errno != EBUSY)
        r = -errno;
    /* Detach what is left: the guarded directory shows again, and nothing new gets in. */
    if (umount2(mountpoint, MNT_DETACH) < 0 && r == 0 && errno != EINVAL)
        r = -errno;
    if (r < 0 && !*error && asprintf(error, "cannot cut off the storage at %s: %s", mountpoint, strerror(-r)) < 0)
        *error = NULL;
    return r;
}

int storage_umount(const char *mountpoint, const char *runtime_dir, bool *was_mounted, char **error)
{
    struct mount_entry e;
    struct guard_state guard;
    char pid_path[4200], log_path[4200];
    int r;

    *error = NULL;
    *was_mounted = false;
    r = mount_table_find(mountpoint, &e);
    if (r == -ENOENT)
        return guard_apply(mountpoint, &guard, error);
    if (r < 0)
        return r;
    *was_mounted = true;
    enum mount_kind kind = mount_entry_kind(&e);
    if (kind != MOUNT_KIND_KERNEL_NFS && kind != MOUNT_KIND_FERRY_FUSE) {
        if (asprintf(error, "%s has %s (%s) mounted, which ferry did not mount; leaving it alone", mountpoint,
                     e.source, e.fstype) < 0)
            *error = NULL;
        mount_entry_clear(&e);
        return -EPERM;
    }
    mount_entry_clear(&e);

    storage_bridge_paths(mountpoint, runtime_dir, "/", pid_path, sizeof(pid_path), log_path, sizeof(log_path));
    pid_t bridge = kind == MOUNT_KIND_FERRY_FUSE ? read_pid(pid_path) : 0;

    if (umount2(mountpoint, 0) < 0) {
        r = -errno;
        struct holder holders[MAX_HOLDERS];
        char who[2048] = "";
        int n = r == -EBUSY ? holders_find(mountpoint, holders, MAX_HOLDERS) : 0;
        if (n > 0)
            holders_describe(holders, (size_t)n, who, sizeof(who));
        if (asprintf(error, "cannot unmount %s: %s%s%s", mountpoint, strerror(-r),
                     n > 0 ? "; held by " : r == -EBUSY ? "; no holder found (a kernel user?)" : "", who) < 0)
            *error = NULL;
        return r;
    }
    /* The bridge notices its mount is gone and exits; give it a moment, then insist. */
    if (bridge > 0 && wait_gone(bridge, 5000) < 0) {
        kill(bridge, SIGTERM);
        wait_gone(bridge, 2000);
    }
    if (bridge > 0)
        unlink(pid_path);
    return guard_apply(mountpoint, &guard, error);
}
