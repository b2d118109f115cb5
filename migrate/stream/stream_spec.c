/*
 * The three ways to name either end of a copy: a local path, nfs://server/export/path (the
 * export spec parser's URL form, which refuses ".." and normalises the path), and
 * libvirt://HOST/absolute/path. Pure: no lookups, no I/O.
 */
#include "stream_internal.h"

#include "cleanup.h"
#include "export_spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int spec_error(char **error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int spec_error(char **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(error, fmt, ap) < 0)
        *error = NULL;
    va_end(ap);
    return -EINVAL;
}

/* Normalises an absolute path lexically. With allow_dotdot, ".." removes the component
 * before it (and stays at "/" at the root, as the kernel does); without, any ".." fails.
 * False also when out is too small. */
static bool normalise_absolute(const char *in, char *out, size_t size, bool allow_dotdot)
{
    size_t o = 0;
    const char *p = in;
    if (size < 2)
        return false;
    out[o++] = '/';
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *e = strchrnul(p, '/');
        size_t n = (size_t)(e - p);
        if (n == 1 && p[0] == '.') {
            /* nothing */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (!allow_dotdot)
                return false;
            while (o > 1 && out[o - 1] != '/')
                o--;
            if (o > 1)
                o--; /* the slash before the removed component */
        } else {
            if (o + (o > 1) + n + 1 > size)
                return false;
            if (o > 1)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p = e;
    }
    out[o] = 0;
    return true;
}

int path_normalise(const char *path, char *out, size_t size)
{
    char joined[8192];
    if (path[0] == '/') {
        if (!copy_string(joined, sizeof(joined), path))
            return -ENAMETOOLONG;
    } else {
        char cwd[4096];
        if (!getcwd(cwd, sizeof(cwd)))
            return -errno;
        if (snprintf(joined, sizeof(joined), "%s/%s", cwd, path) >= (int)sizeof(joined))
            return -ENAMETOOLONG;
    }
    return normalise_absolute(joined, out, size, true) ? 0 : -ENAMETOOLONG;
}

bool path_is_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (!strcmp(dir, "/"))
        return path[0] == '/';
    return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == 0);
}

static bool has_final_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return *base && strcmp(base, ".") && strcmp(base, "..");
}

static int parse_nfs(const char *text, const char *role, struct endpoint_spec *spec, char **error)
{
    struct export_spec es;
    _cleanup_free_ char *why = NULL;
    if (export_spec_parse(text, &es, &why) < 0)
        return spec_error(error, "%s %s is not a usable nfs:// URL: %s", role, text, why ? why : "malformed");
    if (es.version == 4)
        return spec_error(error, "%s %s asks for NFSv4; ferry streams over NFSv3 (libnfs 4.0 cannot write over v4): "
                                 "drop ?version=4 or write ?version=3", role, text);
    if (!strcmp(es.path, "/"))
        return spec_error(error, "%s %s names no file: write nfs://server/export/dir/file", role, text);
    spec->kind = ENDPOINT_NFS;
    copy_string(spec->host, sizeof(spec->host), es.server);
    copy_string(spec->path, sizeof(spec->path), es.path);
    return 0;
}

static int parse_libvirt(const char *text, const char *role, struct endpoint_spec *spec, char **error)
{
    const char *host = text + strlen("libvirt://");
    const char *slash = strchr(host, '/');
    if (!slash || slash == host)
        return spec_error(error, "%s %s names no host: write libvirt://HOST/absolute/path/of/file", role, text);
    if ((size_t)(slash - host) >= sizeof(spec->host))
        return spec_error(error, "%s %s: the host name is too long", role, text);
    for (const char *c = host; c < slash; c++)
        if (*c == '@' || *c == ':' || *c == '?' || *c <= ' ')
            return spec_error(error, "%s %s: \"%.*s\" is not a host name; the libvirt URI comes from "
                                     "[migrate] uri_template, so write only the host", role, text, (int)(slash - host), host);
    if (strchr(slash, '?') || strchr(slash, '#'))
        return spec_error(error, "%s %s: libvirt:// takes no query or fragment", role, text);
    if (!normalise_absolute(slash, spec->path, sizeof(spec->path), false))
        return spec_error(error, "%s %s has a '..' component in its path (or is too long); write the path "
                                 "without it", role, text);
    if (!strcmp(spec->path, "/") || !has_final_name(slash))
        return spec_error(error, "%s %s names no file: write libvirt://HOST/dir/file", role, text);
    spec->kind = ENDPOINT_LIBVIRT;
    memcpy(spec->host, host, (size_t)(slash - host));
    spec->host[slash - host] = 0;
    return 0;
}

int endpoint_spec_parse(const char *text, const char *role, struct endpoint_spec *spec, char **error)
{
    *error = NULL;
    memset(spec, 0, sizeof(*spec));
    if (!text || !*text)
        return spec_error(error, "the %s is empty: give a path, nfs://server/export/path or libvirt://HOST/path", role);
    if (!strncmp(text, "nfs://", 6))
        return parse_nfs(text, role, spec, error);
    if (!strncmp(text, "libvirt://", 10))
        return parse_libvirt(text, role, spec, error);
    const char *colon = strstr(text, "://");
    if (colon && colon < strchrnul(text, '/'))
        return spec_error(error, "%s %s: ferry copies paths, nfs:// and libvirt:// (not %.*s://)", role, text,
                          (int)(colon - text), text);
    if (!has_final_name(text) || text[strlen(text) - 1] == '/')
        return spec_error(error, "%s %s names a directory, not a file: give the file's full path", role, text);
    if (strlen(text) >= sizeof(spec->path))
        return spec_error(error, "%s %s: the path is too long", role, text);
    spec->kind = ENDPOINT_FILE;
    copy_string(spec->path, sizeof(spec->path), text);
    return 0;
}

int stream_check_spec(const char *text, const char *role, char **error)
{
    struct endpoint_spec spec;
    return endpoint_spec_parse(text, role, &spec, error);
}
