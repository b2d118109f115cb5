/*
 * Merges ferry's default kernel NFS options with the operator's, as lists of key[=value].
 */
#include "mount_options.h"

#include "cleanup.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTIONS 64

struct option_list {
    char *key[MAX_OPTIONS];
    char *value[MAX_OPTIONS]; /* NULL for flags */
    size_t n;
};

static void list_clear(struct option_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->key[i]);
        free(l->value[i]);
    }
    l->n = 0;
}

/* "soft" and "hard" are one setting; so are "ro" and "rw". */
static const char *setting_of(const char *key)
{
    if (!strcmp(key, "soft") || !strcmp(key, "hard") || !strcmp(key, "softerr"))
        return "hard";
    if (!strcmp(key, "ro") || !strcmp(key, "rw"))
        return "rw";
    if (!strcmp(key, "nfsvers") || !strcmp(key, "vers"))
        return "vers";
    return key;
}

static int list_set(struct option_list *l, const char *key, size_t klen, const char *value, size_t vlen)
{
    char *k = strndup(key, klen);
    char *v = value ? strndup(value, vlen) : NULL;
    if (!k || (value && !v)) {
        free(k);
        free(v);
        return -ENOMEM;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (!strcmp(setting_of(l->key[i]), setting_of(k))) {
            free(l->key[i]);
            free(l->value[i]);
            l->key[i] = k;
            l->value[i] = v;
            return 0;
        }
    }
    if (l->n == MAX_OPTIONS) {
        free(k);
        free(v);
        return -E2BIG;
    }
    l->key[l->n] = k;
    l->value[l->n] = v;
    l->n++;
    return 0;
}

static bool valid_token(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-=:/@[]", s[i]))
            return false;
    return true;
}

static int list_parse(struct option_list *l, const char *text, char **error)
{
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (!valid_token(p, len) || *p == '=') {
            if (asprintf(error, "mount option '%.*s' is not a valid key or key=value", (int)len, p) < 0)
                *error = NULL;
            return -EINVAL;
        }
        const char *eq = memchr(p, '=', len);
        int r = eq ? list_set(l, p, (size_t)(eq - p), eq + 1, len - (size_t)(eq - p) - 1) : list_set(l, p, len, NULL, 0);
        if (r < 0) {
            if (asprintf(error, "too many mount options (at most %d)", MAX_OPTIONS) < 0)
                *error = NULL;
            return r;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int refuse_unsafe(const struct option_list *l, bool force, char **error)
{
    static const struct {
        const char *key, *why;
    } unsafe[] = {
        { "soft", "a soft mount returns I/O errors to QEMU when the server is slow, corrupting guest disks" },
        { "softerr", "a soft mount returns I/O errors to QEMU when the server is slow, corrupting guest disks" },
        { "ro", "the instance directory must be writable" },
    };
    for (size_t i = 0; i < l->n && !force; i++)
        for (size_t j = 0; j < ARRAY_SIZE(unsafe); j++)
            if (!strcmp(l->key[i], unsafe[j].key)) {
                if (asprintf(error, "refusing mount option '%s': %s; use hard, or --force if you really mean it",
                             unsafe[j].key, unsafe[j].why) < 0)
                    *error = NULL;
                return -EINVAL;
            }
    return 0;
}

int mount_options_build(const char *nfs_version, const char *extra, bool force, char *out, size_t size,
                        char **error)
{
    struct option_list l = { 0 };
    char vers[32];
    int r;

    *error = NULL;
    snprintf(vers, sizeof(vers), "vers=%s", nfs_version && *nfs_version ? nfs_version : "3");
    r = list_parse(&l, MOUNT_OPTIONS_DEFAULTS, error);
    if (r == 0)
        r = list_parse(&l, vers, error);
    if (r == 0 && extra)
        r = list_parse(&l, extra, error);
    if (r == 0)
        r = refuse_unsafe(&l, force, error);
    size_t used = 0;
    for (size_t i = 0; r == 0 && i < l.n; i++) {
        int n = snprintf(out + used, size - used, "%s%s%s%s", i ? "," : "", l.key[i], l.value[i] ? "=" : "",
                         l.value[i] ? l.value[i] : "");
        if (n < 0 || (size_t)n >= size - used)
            r = -ENOSPC;
        else
            used += (size_t)n;
    }
    list_clear(&l);
    return r;
}
