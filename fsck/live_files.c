/*
 * /proc/<pid>/fd/N read once: each link's target is mapped into the store with the same
 * lexical rules the rest of fsck uses. What cannot be read (a process that exits meanwhile,
 * another user's fds when not root) is skipped.
 */
#include "live_files.h"

#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct collector {
    char **v;
    size_t n, cap;
    bool oom;
};

static void add(struct collector *c, const char *rel)
{
    if (c->oom)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        char **v = realloc(c->v, cap * sizeof(*v));
        if (!v) {
            c->oom = true;
            return;
        }
        c->v = v;
        c->cap = cap;
    }
    if (!(c->v[c->n] = strdup(rel)))
        c->oom = true;
    else
        c->n++;
}

/* Calls fn for the store-relative path of each open file under roots. */
static int walk_proc(const char *const *roots, size_t n_roots, void (*fn)(const char *rel, void *arg), void *arg)
{
    DIR *proc = opendir("/proc");
    if (!proc)
        return -errno;
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(proc))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self)
            continue;
        char dir[64];
        snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
        DIR *fds = opendir(dir);
        if (!fds)
            continue;
        struct dirent *f;
        while ((f = readdir(fds))) {
            if (f->d_name[0] == '.')
                continue;
            char link[352], target[4096], rel[4096];
            snprintf(link, sizeof(link), "%s/%s", dir, f->d_name);
            ssize_t n = readlink(link, target, sizeof(target) - 1);
            if (n <= 0 || target[0] != '/')
                continue;
            target[n] = 0;
            static const char deleted[] = " (deleted)";
            size_t dl = sizeof(deleted) - 1;
            if ((size_t)n > dl && !strcmp(target + n - dl, deleted))
                target[n - dl] = 0;
            if (path_under_roots(target, roots, n_roots, rel, sizeof(rel)) == 0)
                fn(rel, arg);
        }
        closedir(fds);
    }
    closedir(proc);
    return 0;
}

static void collect_one(const char *rel, void *arg)
{
    add(arg, rel);
}

int live_files_collect(const char *const *roots, size_t n_roots, char ***held, size_t *n)
{
    struct collector c = { 0 };
    int r = walk_proc(roots, n_roots, collect_one, &c);
    if (r == 0 && c.oom)
        r = -ENOMEM;
    if (r < 0) {
        for (size_t i = 0; i < c.n; i++)
            free(c.v[i]);
        free(c.v);
        *held = NULL;
        *n = 0;
        return r;
    }
    *held = c.v;
    *n = c.n;
    return 0;
}

struct probe {
    const char *rel;
    size_t len;
    bool found;
};

static void probe_one(const char *rel, void *arg)
{
    struct probe *p = arg;
    if (!strncmp(rel, p->rel, p->len) && (rel[p->len] == 0 || rel[p->len] == '/' || p->len == 0))
        p->found = true;
}

bool live_files_holds(const char *const *roots, size_t n_roots, const char *rel)
{
    struct probe p = { rel, strlen(rel), false };
    /* /proc unreadable: cannot prove the path free, so say it is held. */
    return walk_proc(roots, n_roots, probe_one, &p) < 0 || p.found;
}
