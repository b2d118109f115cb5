/*
 * ferry's userspace NFS mount (the "fuse" mount driver): a FUSE filesystem that forwards
 * every operation to an NFSv3 export through libnfs, for machines whose kernel has no NFS
 * client. It behaves like a hard NFS mount: when the server goes away, operations wait for
 * it to come back instead of failing.
 */
#pragma once

#include <sys/types.h>

struct nfs_fuse_options {
    const char *url;        /* libnfs URL of the export: "nfs://10.77.0.10/srv/nova?version=3" */
    const char *mountpoint; /* absolute directory */
    const char *fsname;     /* shown as the mount's source in mountinfo, e.g. "10.77.0.10:/srv/nova" */
    const char *log_path;   /* the bridge's log file (appended); NULL: stderr */
    const char *pid_path;   /* pid file of the bridge process; NULL: none */
};

/* Starts the bridge as a background process that outlives the caller (fork, setsid, stdio to
 * the log, pid file written), and returns once the mount is in place (the child reports
 * success or a one-line error back over a pipe; wait at most timeout_ms). Returns 0 and the
 * bridge's pid, or a negative errno with *error set (malloc'd, one line naming the export, the
 * mount point and the cause). Nothing is left behind on failure (no process, no mount, no pid
 * file). */
int nfs_fuse_start(const struct nfs_fuse_options *o, unsigned timeout_ms, pid_t *pid, char **error);

/* Runs the bridge in the foreground until unmounted or SIGTERM/SIGINT (then unmounts cleanly).
 * Reports readiness on ready_fd (if >= 0): "OK\n" once the mount answers a stat through the
 * server, or "ERR <errno> <message>\n". Waits at most 30 s for the server at start-up, then
 * forever (a hard mount: an operation that loses the server waits for it, trying to connect
 * again at once, then after 50 ms, the wait doubling up to a second, and the outage is logged
 * once as it starts and once as it ends). A signal while files are open there detaches the
 * mount and serves them until they are closed; a second signal stops at once. With log_path,
 * stdout and stderr go to the log. Returns 0 after a clean stop, or a negative errno. */
int nfs_fuse_run(const struct nfs_fuse_options *o, int ready_fd /* -1, or a pipe to report readiness on */);
