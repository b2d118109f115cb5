/*
 * Walks /proc: each process's cwd, root, fds and mapped files, compared against a
 * directory prefix. Reading another process's links is root's business; what cannot be
 * read is skipped.
 */
#include "holders.h"

#include "cleanup.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool under(const char *path, const char *dir, size_t dlen)
{
    return !strncmp(path, dir, dlen) && (path[dlen] == '/' || path[dlen] == 0);
}

static bool link_under(const char *link, const char *dir, size_t dlen, char *found, size_t size)
{
    char target[4096];
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0)
        return false;
    target[n] = 0;
    if (!under(target, dir, dlen))
        return false;
    text_copy(found, size, target);
    return true;
}

static bool process_holds(pid_t pid, const char *dir, size_t dlen, char *found, size_t size)
{
    char p[64];
    static const char *const links[] = { "cwd", "root", "exe" };
    for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
        snprintf(p, sizeof(p), "/proc/%d/%s", (int)pid, links[i]);
        if (link_under(p, dir, dlen, found, size))
            return true;
    }
    snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(p);
    if (d) {
        struct dirent *e;
        bool hit = false;
        while (!hit && (e = readdir(d))) {
            char fd[96];
            if (e->d_name[0] == '.')
                continue;
            if (snprintf(fd, sizeof(fd), "%s/%s", p, e->d_name) >= (int)sizeof(fd))
                continue;
            hit = link_under(fd, dir, dlen, found, size);
        }
        closedir(d);
        if (hit)
            return true;
    }
    snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
    _cleanup_fclose_ FILE *maps = fopen(p, "re");
    char line[4096];
    while (maps && fgets(line, sizeof(line), maps)) {
        char *path = strchr(line, '/');
        if (!path)
            continue;
        path[strcspn(path, "\n")] = 0;
        if (under(path, dir, dlen)) {
            text_copy(found, size, path);
            return true;
        }
    }
    return false;
}

int holders_find(const char *dir, struct holder *holders, size_t max)
{
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    DIR *proc = opendir("/proc");
    if (!proc)
        return -errno;
    size_t n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(proc))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == getpid())
            continue;
        struct holder *h = &holders[n];
        if (!process_holds((pid_t)pid, dir, dlen, h->path, sizeof(h->path)))
            continue;
        h->pid = (pid_t)pid;
        char p[64];
        snprintf(p, sizeof(p), "/proc/%ld/comm", pid);
        _cleanup_fclose_ FILE *f = fopen(p, "re");
        if (!f || !fgets(h->comm, sizeof(h->comm), f))
            snprintf(h->comm, sizeof(h->comm), "?");
        h->comm[strcspn(h->comm, "\n")] = 0;
        n++;
    }
    closedir(proc);
    return (int)n;
}

void holders_describe(const struct holder *holders, size_t n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s (pid %d, %s)", i ? ", " : "", holders[i].comm,
                                 (int)holders[i].pid, holders[i].path);
}
