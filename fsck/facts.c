/*
 * The facts' lifetime and lookups. Built once by the scan (or by hand in tests), indexed
 * once, then only read: lookups are binary searches over arrays sorted by path.
 */
#include "facts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void decls_free(struct disk_decl *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(d[i].path);
        free(d[i].rel);
    }
    free(d);
}

void store_facts_free(struct store_facts *f)
{
    for (size_t i = 0; i < f->n_instances; i++) {
        decls_free(f->instances[i].disk_info, f->instances[i].n_disk_info);
        decls_free(f->instances[i].xml_disks, f->instances[i].n_xml_disks);
        free(f->instances[i].claims);
    }
    free(f->instances);
    for (size_t i = 0; i < f->n_images; i++) {
        free(f->images[i].rel);
        free(f->images[i].qcow2);
        free(f->images[i].backing_rel);
    }
    free(f->images);
    free(f->images_by_rel);
    for (size_t i = 0; i < f->n_leftovers; i++)
        free(f->leftovers[i].rel);
    free(f->leftovers);
    for (size_t i = 0; i < f->n_symlinks; i++) {
        free(f->symlinks[i].rel);
        free(f->symlinks[i].target);
    }
    free(f->symlinks);
    for (size_t i = 0; i < f->n_problems; i++) {
        free(f->problems[i].rel);
        free(f->problems[i].what);
    }
    free(f->problems);
    free(f->leases);
    free(f->domains);
    for (size_t i = 0; i < f->n_held; i++)
        free(f->held[i]);
    free(f->held);
    free(f->root);
    memset(f, 0, sizeof(*f));
}

static int by_rel(const void *a, const void *b, void *images)
{
    const struct image_facts *im = images;
    return strcmp(im[*(const size_t *)a].rel, im[*(const size_t *)b].rel);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_facts_index(struct store_facts *f)
{
    free(f->images_by_rel);
    f->images_by_rel = malloc((f->n_images ? f->n_images : 1) * sizeof(size_t));
    if (!f->images_by_rel)
        return -ENOMEM;
    for (size_t i = 0; i < f->n_images; i++)
        f->images_by_rel[i] = i;
    qsort_r(f->images_by_rel, f->n_images, sizeof(size_t), by_rel, f->images);
    if (f->n_held)
        qsort(f->held, f->n_held, sizeof(char *), str_cmp);
    return 0;
}

size_t store_find_image(const struct store_facts *f, const char *rel)
{
    if (!f->images_by_rel)
        return FSCK_NO_INDEX;
    for (size_t lo = 0, hi = f->n_images; lo < hi;) {
        size_t mid = lo + (hi - lo) / 2;
        size_t idx = f->images_by_rel[mid];
        int c = strcmp(f->images[idx].rel, rel);
        if (c == 0)
            return idx;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return FSCK_NO_INDEX;
}

const struct domain_facts *store_find_domain(const struct store_facts *f, const char *uuid)
{
    for (size_t i = 0; i < f->n_domains; i++)
        if (!strcmp(f->domains[i].uuid, uuid))
            return &f->domains[i];
    return NULL;
}

const struct host_lease *store_find_lease(const struct store_facts *f, const char *host)
{
    for (size_t i = 0; i < f->n_leases; i++)
        if (!strcmp(f->leases[i].host, host))
            return &f->leases[i];
    return NULL;
}

/* The first held path >= key. */
static size_t lower_bound(char *const *v, size_t n, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool store_is_held(const struct store_facts *f, const char *rel, bool prefix)
{
    if (!f->n_held)
        return false;
    size_t i = lower_bound(f->held, f->n_held, rel);
    if (i < f->n_held && !strcmp(f->held[i], rel))
        return true;
    if (!prefix)
        return false;
    size_t n = strlen(rel);
    char *key = malloc(n + 2);
    if (!key)
        return true; /* cannot tell: assume held, which only ever protects */
    memcpy(key, rel, n);
    key[n] = '/';
    key[n + 1] = 0;
    i = lower_bound(f->held, f->n_held, key);
    bool held = i < f->n_held && !strncmp(f->held[i], key, n + 1);
    free(key);
    return held;
}

void store_note(struct store_facts *f, const char *fmt, ...)
{
    if (f->n_notes == sizeof(f->notes) / sizeof(f->notes[0]))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->notes[f->n_notes++], sizeof(f->notes[0]), fmt, ap);
    va_end(ap);
}
