/*
 * The three forms of a run's result. The human form prints paths in full (a cron mail must
 * be actionable as it stands); the JSON and Prometheus forms carry the same counts.
 */
#include "report.h"

#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void fsck_count(const struct fsck_report *r, struct fsck_counts *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < r->findings->n; i++) {
        const struct finding *x = &r->findings->v[i];
        c->by_severity[x->severity]++;
        if (x->fixed)
            c->fixed++;
        else if (x->severity != SEVERITY_INFO) {
            c->left++;
            if (x->fix != FIX_NONE && !x->guarded[0])
                c->fixable++;
        }
    }
    for (size_t i = 0; i < r->facts->n_images; i++)
        c->base_images += r->facts->images[i].role == IMAGE_BASE;
}

int fsck_exit_code(const struct fsck_report *r)
{
    struct fsck_counts c;
    fsck_count(r, &c);
    return (c.fixed ? FSCK_EXIT_FIXED : 0) | (c.left ? FSCK_EXIT_LEFT : 0) |
           (r->operational_error ? FSCK_EXIT_OPERATIONAL : 0);
}

static void full_path(const struct store_facts *f, const char *rel, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s", f->root, rel[0] ? "/" : "", rel);
}

static void upper(const char *s, char *buf, size_t size)
{
    size_t i = 0;
    for (; s[i] && i + 1 < size; i++)
        buf[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    buf[i] = 0;
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

void report_human(FILE *out, const struct fsck_report *r)
{
    const struct store_facts *f = r->facts;
    char path[4400], sev[16];
    for (size_t i = 0; i < r->findings->n; i++) {
        const struct finding *x = &r->findings->v[i];
        full_path(f, x->rel, path, sizeof(path));
        upper(severity_name(x->severity), sev, sizeof(sev));
        fprintf(out, "%s %s %s: %s", sev, x->rule, path, x->message);
        if (x->fixed)
            fprintf(out, " [fixed]");
        else if (x->not_fixed)
            fprintf(out, " [not fixed: %s]", x->not_fixed);
        else if (x->fix != FIX_NONE && x->guarded[0])
            fprintf(out, " [not touched: %s]", x->guarded);
        else if (x->fix != FIX_NONE && !r->repair)
            fprintf(out, " [fixable with -y]");
        fputc('\n', out);
    }
    for (size_t i = 0; i < f->n_notes; i++)
        fprintf(out, "note: %s\n", f->notes[i]);
    if (r->repair && r->repair->quarantine_rel[0]) {
        full_path(f, r->repair->quarantine_rel, path, sizeof(path));
        fprintf(out, "quarantine: %s (see its MANIFEST to restore)\n", path);
    }

    struct fsck_counts c;
    fsck_count(r, &c);
    fprintf(out, "%s: ", f->root);
    size_t problems = c.by_severity[SEVERITY_ERROR] + c.by_severity[SEVERITY_WARNING];
    if (problems == 0)
        fprintf(out, "clean");
    else
        fprintf(out, "%zu %s (%zu %s, %zu %s), %zu fixed, %zu left", problems, plural(problems, "problem", "problems"),
                c.by_severity[SEVERITY_ERROR], plural(c.by_severity[SEVERITY_ERROR], "error", "errors"),
                c.by_severity[SEVERITY_WARNING], plural(c.by_severity[SEVERITY_WARNING], "warning", "warnings"),
                c.fixed, c.left);
    if (c.by_severity[SEVERITY_INFO])
        fprintf(out, ", %zu info", c.by_severity[SEVERITY_INFO]);
    fprintf(out, "; %zu %s, %zu %s (%zu base), ", f->n_instances, plural(f->n_instances, "instance", "instances"),
            f->n_images, plural(f->n_images, "image", "images"), c.base_images);
    if (r->deep)
        fprintf(out, "%zu checked with qemu-img, ", r->deep_checked);
    fprintf(out, "%.2f s\n", r->duration_s);
    if (c.fixable && !r->repair)
        fprintf(out, "%s: %zu can be repaired with -y\n", f->root, c.fixable);
}

struct json_object *report_json(const struct fsck_report *r)
{
    const struct store_facts *f = r->facts;
    struct json_object *o = json_object_new_object();
    struct fsck_counts c;
    char path[4400], when[40];
    fsck_count(r, &c);
    json_object_object_add(o, "store", json_object_new_string(f->root));
    json_object_object_add(o, "mode", json_object_new_string(r->repair ? "repair" : "check"));
    json_object_object_add(o, "deep", json_object_new_boolean(r->deep));
    time_t t = (time_t)r->started_at;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_object_add(o, "started_at", json_object_new_string(when));
    char secs[32];
    snprintf(secs, sizeof(secs), "%.3f", r->duration_s);
    json_object_object_add(o, "duration_s", json_object_new_double_s(r->duration_s, secs));

    struct json_object *scanned = json_object_new_object();
    json_object_object_add(scanned, "instances", json_object_new_int64((int64_t)f->n_instances));
    json_object_object_add(scanned, "images", json_object_new_int64((int64_t)f->n_images));
    json_object_object_add(scanned, "base_images", json_object_new_int64((int64_t)c.base_images));
    json_object_object_add(scanned, "deep_checked", json_object_new_int64((int64_t)r->deep_checked));
    json_object_object_add(o, "scanned", scanned);

    struct json_object *list = json_object_new_array(), *by_rule = json_object_new_object();
    for (size_t i = 0; i < fsck_n_rules; i++)
        json_object_object_add(by_rule, fsck_rules[i].name, json_object_new_int(0));
    for (size_t i = 0; i < r->findings->n; i++) {
        const struct finding *x = &r->findings->v[i];
        struct json_object *e = json_object_new_object(), *n;
        full_path(f, x->rel, path, sizeof(path));
        json_object_object_add(e, "rule", json_object_new_string(x->rule));
        json_object_object_add(e, "severity", json_object_new_string(severity_name(x->severity)));
        json_object_object_add(e, "path", json_object_new_string(path));
        json_object_object_add(e, "message", json_object_new_string(x->message));
        json_object_object_add(e, "fixable", json_object_new_boolean(x->fix != FIX_NONE && !x->guarded[0]));
        json_object_object_add(e, "fixed", json_object_new_boolean(x->fixed));
        json_object_object_add(e, "instance", x->instance[0] ? json_object_new_string(x->instance) : NULL);
        json_object_object_add(e, "guarded", x->guarded[0] ? json_object_new_string(x->guarded) : NULL);
        json_object_object_add(e, "not_fixed", x->not_fixed ? json_object_new_string(x->not_fixed) : NULL);
        json_object_array_add(list, e);
        if (json_object_object_get_ex(by_rule, x->rule, &n))
            json_object_set_int(n, json_object_get_int(n) + 1);
    }
    json_object_object_add(o, "findings", list);

    struct json_object *counts = json_object_new_object();
    for (int s = SEVERITY_ERROR; s >= SEVERITY_INFO; s--)
        json_object_object_add(counts, severity_name((enum severity)s),
                               json_object_new_int64((int64_t)c.by_severity[s]));
    json_object_object_add(counts, "fixed", json_object_new_int64((int64_t)c.fixed));
    json_object_object_add(counts, "left", json_object_new_int64((int64_t)c.left));
    json_object_object_add(counts, "by_rule", by_rule);
    json_object_object_add(o, "counts", counts);

    if (r->repair && r->repair->quarantine_rel[0]) {
        full_path(f, r->repair->quarantine_rel, path, sizeof(path));
        json_object_object_add(o, "quarantine", json_object_new_string(path));
    } else {
        json_object_object_add(o, "quarantine", NULL);
    }
    struct json_object *notes = json_object_new_array();
    for (size_t i = 0; i < f->n_notes; i++)
        json_object_array_add(notes, json_object_new_string(f->notes[i]));
    json_object_object_add(o, "notes", notes);
    json_object_object_add(o, "exit_code", json_object_new_int(fsck_exit_code(r)));
    return o;
}

/* ---- Prometheus ------------------------------------------------------------------------------ */

struct text {
    char *buf;
    size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) text_printf(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            abort();
        if (t->buf && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *b = realloc(t->buf, cap);
        if (!b)
            abort();
        t->buf = b;
        t->cap = cap;
    }
}

/* A label value: backslash, double quote and newline escaped. */
static char *label(const char *s)
{
    char *out = malloc(strlen(s) * 2 + 1), *p = out;
    if (!out)
        abort();
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            *p++ = '\\';
            *p++ = *s;
        } else if (*s == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else {
            *p++ = *s;
        }
    }
    *p = 0;
    return out;
}

char *report_prometheus_text(const struct fsck_report *r)
{
    struct text t = { 0 };
    struct fsck_counts c;
    fsck_count(r, &c);
    _cleanup_free_ char *store = label(r->facts->root);

    text_printf(&t, "# HELP ferry_fsck_findings Findings of the last ferry fsck run, by rule and severity "
                    "(repaired ones included).\n# TYPE ferry_fsck_findings gauge\n");
    for (size_t i = 0; i < fsck_n_rules; i++) {
        for (int s = SEVERITY_INFO; s <= SEVERITY_ERROR; s++) {
            size_t n = 0;
            for (size_t k = 0; k < r->findings->n; k++)
                n += !strcmp(r->findings->v[k].rule, fsck_rules[i].name) &&
                     r->findings->v[k].severity == (enum severity)s;
            if (n || fsck_rules[i].severity == (enum severity)s)
                text_printf(&t, "ferry_fsck_findings{store=\"%s\",rule=\"%s\",severity=\"%s\"} %zu\n", store,
                            fsck_rules[i].name, severity_name((enum severity)s), n);
        }
    }
    text_printf(&t, "# HELP ferry_fsck_findings_fixed Findings the last run repaired (-y), by rule.\n"
                    "# TYPE ferry_fsck_findings_fixed gauge\n");
    for (size_t i = 0; i < fsck_n_rules; i++) {
        if (fsck_rules[i].fix == FIX_NONE)
            continue;
        size_t n = 0;
        for (size_t k = 0; k < r->findings->n; k++)
            n += r->findings->v[k].fixed && !strcmp(r->findings->v[k].rule, fsck_rules[i].name);
        text_printf(&t, "ferry_fsck_findings_fixed{store=\"%s\",rule=\"%s\"} %zu\n", store, fsck_rules[i].name, n);
    }
    text_printf(&t,
                "# HELP ferry_fsck_problems_left Errors and warnings the last run left in place.\n"
                "# TYPE ferry_fsck_problems_left gauge\n"
                "ferry_fsck_problems_left{store=\"%s\"} %zu\n"
                "# HELP ferry_fsck_instances_scanned Instance directories the last run checked.\n"
                "# TYPE ferry_fsck_instances_scanned gauge\n"
                "ferry_fsck_instances_scanned{store=\"%s\"} %zu\n"
                "# HELP ferry_fsck_images_scanned Disk images the last run checked (base images included).\n"
                "# TYPE ferry_fsck_images_scanned gauge\n"
                "ferry_fsck_images_scanned{store=\"%s\"} %zu\n"
                "# HELP ferry_fsck_duration_seconds How long the last run took.\n"
                "# TYPE ferry_fsck_duration_seconds gauge\n"
                "ferry_fsck_duration_seconds{store=\"%s\"} %.3f\n"
                "# HELP ferry_fsck_last_run_timestamp_seconds When the last run started (Unix time).\n"
                "# TYPE ferry_fsck_last_run_timestamp_seconds gauge\n"
                "ferry_fsck_last_run_timestamp_seconds{store=\"%s\"} %lld\n"
                "# HELP ferry_fsck_exit_code The last run's exit code (fsck(8): 0 clean, 1 fixed, 4 left, 8 error).\n"
                "# TYPE ferry_fsck_exit_code gauge\n"
                "ferry_fsck_exit_code{store=\"%s\"} %d\n",
                store, c.left, store, r->facts->n_instances, store, r->facts->n_images, store, r->duration_s, store,
                (long long)r->started_at, store, fsck_exit_code(r));
    return t.buf;
}

int report_prometheus_write(const char *path, const struct fsck_report *r, char **error)
{
    _cleanup_free_ char *text = report_prometheus_text(r);
    _cleanup_free_ char *tmp = NULL;
    *error = NULL;
    if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
        return -ENOMEM;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        int e = errno;
        if (asprintf(error, "cannot write %s: %s", tmp, strerror(e)) < 0)
            *error = NULL;
        return -e;
    }
    size_t len = strlen(text), done = 0;
    int r_ = 0;
    while (done < len && r_ == 0) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno != EINTR)
            r_ = -errno;
        else if (n > 0)
            done += (size_t)n;
    }
    if (r_ == 0 && fsync(fd) < 0)
        r_ = -errno;
    if (close(fd) < 0 && r_ == 0)
        r_ = -errno;
    if (r_ == 0 && rename(tmp, path) < 0)
        r_ = -errno;
    if (r_ < 0) {
        unlink(tmp);
        if (asprintf(error, "cannot write %s: %s", path, strerror(-r_)) < 0)
            *error = NULL;
    }
    return r_;
}
