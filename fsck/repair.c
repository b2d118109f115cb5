/*
 * Quarantine by rename, one manifest line per move, written and flushed before the next
 * move, so an interrupted run still says where everything went.
 */
#include "repair.h"

#include "cleanup.h"
#include "deep.h"
#include "live_files.h"
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QUARANTINE_DIR ".ferry/quarantine"

char *repair_escape(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 4 + 1), *p = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\t')
            p += sprintf(p, "\\t");
        else if (c == '\n')
            p += sprintf(p, "\\n");
        else if (c == '\\')
            p += sprintf(p, "\\\\");
        else if (c < 0x20 || c == 0x7f)
            p += sprintf(p, "\\x%02x", c);
        else
            *p++ = (char)c;
    }
    *p = 0;
    return out;
}

struct quarantine {
    int rootfd;
    int qfd; /* the run's quarantine directory, -1 until the first move */
    FILE *manifest;
    char rel[128];
};

/* mkdir -p of rel's parent directories beneath dirfd. */
static int make_parents(int dirfd, const char *rel)
{
    char buf[4096];
    if (strlen(rel) >= sizeof(buf))
        return -ENAMETOOLONG;
    strcpy(buf, rel);
    for (char *p = strchr(buf, '/'); p; p = strchr(p + 1, '/')) {
        *p = 0;
        if (mkdirat(dirfd, buf, 0700) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return 0;
}

static int quarantine_open(struct quarantine *q, const struct store_facts *f, const char *host, int64_t now_s)
{
    char stamp[32], when[40];
    time_t t = (time_t)now_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    int r = make_parents(q->rootfd, QUARANTINE_DIR "/x");
    if (r < 0)
        return r;
    for (int attempt = 1; attempt < 100; attempt++) {
        if (attempt == 1)
            snprintf(q->rel, sizeof(q->rel), QUARANTINE_DIR "/%s-%s", stamp, host[0] ? host : "localhost");
        else
            snprintf(q->rel, sizeof(q->rel), QUARANTINE_DIR "/%s-%s-%d", stamp, host[0] ? host : "localhost", attempt);
        if (mkdirat(q->rootfd, q->rel, 0700) == 0)
            break;
        if (errno != EEXIST)
            return -errno;
    }
    q->qfd = open_beneath(q->rootfd, q->rel, O_RDONLY | O_DIRECTORY);
    if (q->qfd < 0)
        return q->qfd;
    int mfd = openat(q->qfd, "MANIFEST", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (mfd < 0 || !(q->manifest = fdopen(mfd, "w"))) {
        int e = errno;
        if (mfd >= 0)
            close(mfd);
        close(q->qfd);
        q->qfd = -1;
        return -e;
    }
    _cleanup_free_ char *store = repair_escape(f->root);
    fprintf(q->manifest,
            "# ferry fsck quarantine: moved by %s at %s from %s\n"
            "# rule\tpath (relative to the store)\twhat fsck found\n"
            "# restore: mv <this directory>/<path> <store>/<path>\n",
            host[0] ? host : "localhost", when, store ? store : "?");
    fflush(q->manifest);
    return 0;
}

static int quarantine_move(struct quarantine *q, const struct store_facts *f, const char *host, int64_t now_s,
                           const struct finding *x)
{
    if (q->qfd < 0) {
        int r = quarantine_open(q, f, host, now_s);
        if (r < 0)
            return r;
    }
    int r = make_parents(q->qfd, x->fix_rel);
    if (r < 0)
        return r;
    /* Both parents are opened beneath their roots, so a directory swapped for a symlink
     * since the scan cannot redirect the move; rename moves the entry itself, never what a
     * symlink points to, and never replaces anything. */
    const char *slash = strrchr(x->fix_rel, '/');
    const char *base = slash ? slash + 1 : x->fix_rel;
    char dir[4096] = ".";
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - x->fix_rel), x->fix_rel);
    _cleanup_close_ int from = open_beneath(q->rootfd, dir, O_PATH | O_DIRECTORY);
    _cleanup_close_ int to = open_beneath(q->qfd, dir, O_PATH | O_DIRECTORY);
    if (from < 0 || to < 0)
        return from < 0 ? from : to;
    if (renameat2(from, base, to, base, RENAME_NOREPLACE) < 0) {
        /* NFS and FUSE file systems refuse the flag (EINVAL): check, then rename. The
         * target is in this run's own new directory, so nothing else creates it meanwhile. */
        struct stat st;
        if (errno != EINVAL)
            return -errno;
        if (fstatat(to, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
            return -EEXIST;
        if (errno != ENOENT)
            return -errno;
        if (renameat(from, base, to, base) < 0)
            return -errno;
    }
    _cleanup_free_ char *p = repair_escape(x->fix_rel);
    _cleanup_free_ char *m = repair_escape(x->message);
    fprintf(q->manifest, "%s\t%s\t%s\n", x->rule, p ? p : "?", m ? m : "?");
    fflush(q->manifest);
    fsync(fileno(q->manifest));
    return 0;
}

static void not_fixed(struct finding *x, const char *fmt, const char *arg)
{
    free(x->not_fixed);
    if (asprintf(&x->not_fixed, fmt, arg) < 0)
        x->not_fixed = NULL;
}

int repair_apply(const struct store_facts *f, struct finding_list *l, const char *host, int64_t now_s,
                 struct repair_summary *sum)
{
    struct quarantine q = { .rootfd = -1, .qfd = -1 };
    int result = 0;
    memset(sum, 0, sizeof(*sum));
    q.rootfd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (size_t i = 0; i < l->n; i++) {
        struct finding *x = &l->v[i];
        if (x->fix == FIX_NONE)
            continue;
        if (x->guarded[0]) {
            not_fixed(x, "%s", x->guarded);
            sum->skipped++;
            continue;
        }
        /* The same path may be condemned twice (two rules): the first move fixed both. */
        bool already = false;
        for (size_t k = 0; k < i && !already; k++)
            already = l->v[k].fixed && l->v[k].fix == x->fix && !strcmp(l->v[k].fix_rel, x->fix_rel);
        if (already) {
            x->fixed = true;
            sum->fixed++;
            continue;
        }
        const char *what = x->instance[0] ? x->instance : x->fix_rel;
        if (live_files_holds(f->roots, f->n_roots, what)) {
            not_fixed(x, "%s is held open by a process (a guest started?)", what);
            sum->skipped++;
            continue;
        }
        int r;
        char why[256] = "";
        if (q.rootfd < 0) {
            r = -errno;
            snprintf(why, sizeof(why), "cannot open the store: %s", strerror(-r));
        } else if (x->fix == FIX_QUARANTINE) {
            r = quarantine_move(&q, f, host, now_s, x);
            if (r < 0)
                snprintf(why, sizeof(why), "cannot move it to %s: %s", q.rel[0] ? q.rel : QUARANTINE_DIR,
                         strerror(-r));
            if (r < 0 && q.qfd < 0)
                result = r;
        } else {
            char *path;
            if (asprintf(&path, "%s/%s", f->root, x->fix_rel) < 0)
                abort();
            r = deep_repair(path, why, sizeof(why));
            free(path);
        }
        if (r == 0) {
            x->fixed = true;
            sum->fixed++;
        } else {
            not_fixed(x, "%s", why);
            sum->failed++;
        }
    }
    if (q.qfd >= 0)
        snprintf(sum->quarantine_rel, sizeof(sum->quarantine_rel), "%s", q.rel);
    if (q.manifest)
        fclose(q.manifest);
    if (q.qfd >= 0)
        close(q.qfd);
    if (q.rootfd >= 0)
        close(q.rootfd);
    return result;
}
