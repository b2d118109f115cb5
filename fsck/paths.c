/*
 * Lexical path arithmetic for the store. Components are pushed onto a buffer and ".."
 * pops one; popping past the root is the escape every caller wants to know about.
 */
#include "paths.h"

#include <errno.h>
#include <string.h>

/* Appends the components of name (relative) to out, which holds a store-relative path. */
static int push_components(char *out, size_t size, const char *name)
{
    size_t len = strlen(out);
    const char *p = name;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.')) {
            /* empty or "." */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (len == 0)
                return -EXDEV;
            char *cut = strrchr(out, '/');
            len = cut ? (size_t)(cut - out) : 0;
            out[len] = 0;
        } else {
            if (len + (len ? 1 : 0) + n + 1 > size)
                return -ENAMETOOLONG;
            if (len)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
            out[len] = 0;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    return 0;
}

int path_join_rel(const char *dir, const char *name, char *out, size_t size)
{
    if (size == 0)
        return -ENAMETOOLONG;
    out[0] = 0;
    if (name[0] != '/') {
        int r = push_components(out, size, dir);
        if (r < 0)
            return r;
    }
    return push_components(out, size, name);
}

/* Length of root without trailing slashes ("/" -> 0). */
static size_t root_len(const char *root)
{
    size_t n = strlen(root);
    while (n > 0 && root[n - 1] == '/')
        n--;
    return n;
}

int path_under_roots(const char *path, const char *const *roots, size_t n_roots, char *out, size_t size)
{
    if (path[0] != '/')
        return -EXDEV;
    for (size_t i = 0; i < n_roots; i++) {
        if (!roots[i] || roots[i][0] != '/')
            continue;
        size_t n = root_len(roots[i]);
        if (strncmp(path, roots[i], n) || (path[n] != '/' && path[n] != 0))
            continue;
        /* Lexically under the root: ".." may still climb out of it. */
        if (size == 0)
            return -ENAMETOOLONG;
        out[0] = 0;
        int r = push_components(out, size, path + n);
        if (r == 0)
            return 0;
        if (r != -EXDEV)
            return r;
    }
    return -EXDEV;
}

bool path_has_protocol(const char *name)
{
    const char *p = name + strcspn(name, ":/\\");
    return *p == ':';
}

void path_dirname_rel(const char *rel, char *out, size_t size)
{
    const char *slash = strrchr(rel, '/');
    size_t n = slash ? (size_t)(slash - rel) : 0;
    if (size == 0)
        return;
    if (n >= size)
        n = size - 1;
    memcpy(out, rel, n);
    out[n] = 0;
}

enum backing_class backing_classify(const char *name, const char *image_rel, const char *const *roots,
                                    size_t n_roots, char *rel, size_t size)
{
    char dir[4096];
    if (size)
        rel[0] = 0;
    if (!name || !name[0])
        return BACKING_NONE;
    if (!strncmp(name, "json:", 5))
        return BACKING_JSON;
    if (path_has_protocol(name))
        return BACKING_PROTOCOL;
    if (name[0] == '/')
        return path_under_roots(name, roots, n_roots, rel, size) == 0 ? BACKING_IN_STORE : BACKING_OUTSIDE;
    path_dirname_rel(image_rel, dir, sizeof(dir));
    return path_join_rel(dir, name, rel, size) == 0 ? BACKING_IN_STORE : BACKING_OUTSIDE;
}

bool symlink_escapes(const char *link_rel, const char *target, const char *const *roots, size_t n_roots)
{
    char dir[4096], out[4096];
    if (!target[0])
        return false; /* an empty target resolves to nothing */
    if (target[0] == '/')
        return path_under_roots(target, roots, n_roots, out, sizeof(out)) != 0;
    path_dirname_rel(link_rel, dir, sizeof(dir));
    return path_join_rel(dir, target, out, sizeof(out)) != 0;
}

int path_map_instance_file(const char *path, const char *uuid, const char *const *roots, size_t n_roots, char *out,
                           size_t size)
{
    if (path[0] != '/')
        return -EXDEV; /* libvirt and Nova write absolute paths; anything else is not a local file */
    if (path_under_roots(path, roots, n_roots, out, size) == 0)
        return 0;
    char needle[FSCK_UUID_LEN + 3];
    size_t un = strlen(uuid);
    if (un == 0 || un > FSCK_UUID_LEN)
        return -EXDEV;
    needle[0] = '/';
    memcpy(needle + 1, uuid, un);
    needle[un + 1] = '/';
    needle[un + 2] = 0;
    const char *at = strstr(path, needle);
    if (!at)
        return -EXDEV;
    if (size == 0)
        return -ENAMETOOLONG;
    out[0] = 0;
    int r = push_components(out, size, uuid);
    if (r == 0)
        r = push_components(out, size, at + un + 2);
    /* ".." must not climb out of the instance directory it was mapped into. */
    if (r == 0 && (strncmp(out, uuid, un) || (out[un] != '/' && out[un] != 0)))
        r = -EXDEV;
    return r;
}

bool path_is_uuid(const char *name)
{
    return lease_uuid_valid(name);
}

bool path_is_partial(const char *name)
{
    static const char suffix[] = ".ferry-partial";
    const char *at = strstr(name, suffix);
    if (!at || at == name)
        return false;
    const char *after = at + sizeof(suffix) - 1;
    return *after == 0 || *after == '.';
}
