/*
 * A thin command line over the FUSE bridge, so that lab tests can start it inside a lab host
 * (scripts/lab exec hostA nfs_fuse_tool ...), where ferry's CLI is not the thing under test.
 *
 *   nfs_fuse_tool start URL MOUNTPOINT FSNAME LOG PIDFILE [TIMEOUT_MS]   prints the bridge's pid
 *   nfs_fuse_tool run URL MOUNTPOINT FSNAME LOG PIDFILE                  runs in the foreground
 *
 * LOG or PIDFILE "-" means none (stderr, no pid file).
 */
#include "nfs_fuse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *optional(const char *arg)
{
    return strcmp(arg, "-") ? arg : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 7 || argc > 8 || (strcmp(argv[1], "start") && strcmp(argv[1], "run"))) {
        fprintf(stderr, "usage: nfs_fuse_tool start|run URL MOUNTPOINT FSNAME LOG|- PIDFILE|- [TIMEOUT_MS]\n");
        return 2;
    }
    struct nfs_fuse_options o = {
        .url = argv[2],
        .mountpoint = argv[3],
        .fsname = argv[4],
        .log_path = optional(argv[5]),
        .pid_path = optional(argv[6]),
    };
    if (!strcmp(argv[1], "run"))
        return nfs_fuse_run(&o, -1) < 0 ? 1 : 0;

    unsigned timeout_ms = argc == 8 ? (unsigned)strtoul(argv[7], NULL, 10) : 10000;
    pid_t pid;
    char *error = NULL;
    int r = nfs_fuse_start(&o, timeout_ms, &pid, &error);
    if (r < 0) {
        fprintf(stderr, "nfs_fuse_tool: %s (%s)\n", error ? error : "failed", strerror(-r));
        free(error);
        return 1;
    }
    printf("%d\n", (int)pid);
    return 0;
}
