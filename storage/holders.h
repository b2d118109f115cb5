/*
 * Who holds a mount busy: the processes with a file, a working directory, a root or a
 * mapping under a directory. Used to name them when an unmount is refused.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct holder {
    pid_t pid;
    char comm[32];
    char path[512]; /* the first path found under the directory */
};

/* Finds up to max holders of paths under dir; returns how many were found (or -errno). */
int holders_find(const char *dir, struct holder *holders, size_t max);
/* "qemu-system-x86 (pid 123, /opt/.../disk), bash (pid 99, cwd)" into buf. */
void holders_describe(const struct holder *holders, size_t n, char *buf, size_t size);
