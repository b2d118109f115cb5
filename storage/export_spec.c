/*
 * Parsing NFS export specs. The two spellings ("server:/path" for the kernel, "nfs://..." for
 * libnfs) become one struct export_spec, and that struct must print back as both. So the
 * parser is strict on purpose: anything the kernel and libnfs would read differently — a
 * percent-escape, '?' or '#' in a path, a port, a user name, an unbracketed IPv6 address —
 * is refused with a message saying how to write the spec, never guessed at.
 *
 * Every error message has the shape
 *   export spec "TEXT" <what is wrong>; a good spec looks like <examples>
 * with control characters in TEXT shown as \xNN so the message stays one line.
 */
#include "export_spec.h"

#include "cleanup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GOOD_SPECS "10.0.0.5:/srv/nova, [fd00::5]:/srv/nova or nfs://nfs.example.com/srv/nova?version=4"

/* Messages quote at most this much of a spec, so a 2000-byte path cannot flood a log. */
enum { QUOTE_MAX_INPUT = 120 };

struct parse_state {
    const char *text; /* the whole spec, quoted in messages */
    char **error;
};

/* --- messages ------------------------------------------------------------------------- */

static bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* Copies up to max bytes of s (n bytes long) into out, control bytes as \xNN. */
static void quote_bytes(const char *s, size_t n, size_t max, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < max && o + 5 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_control(c))
            o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    if (n > max && o + 4 < size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

enum { QUOTE_BUF = QUOTE_MAX_INPUT * 4 + 8 };

static int fail(const struct parse_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const struct parse_state *st, const char *fmt, ...)
{
    if (!st->error)
        return -EINVAL;
    char quoted[QUOTE_BUF];
    quote_bytes(st->text, strlen(st->text), QUOTE_MAX_INPUT, quoted, sizeof(quoted));
    _cleanup_free_ char *what = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&what, fmt, ap);
    va_end(ap);
    if (r < 0) {
        what = NULL;
        *st->error = NULL;
        return -EINVAL;
    }
    if (asprintf(st->error, "export spec \"%s\" %s; a good spec looks like %s", quoted, what, GOOD_SPECS) < 0)
        *st->error = NULL;
    return -EINVAL;
}

/* --- servers -------------------------------------------------------------------------- */

static bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static bool only_digits_and_dots(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

static int check_label(const struct parse_state *st, const char *server, const char *label, size_t n)
{
    if (n == 0)
        return fail(st, "names server \"%s\", which has an empty label (\"..\", or a leading or trailing '.')",
                    server);
    if (n > 63)
        return fail(st, "names server \"%s\", which has a label of %zu characters (\"%.10s...\"); DNS labels are "
                        "at most 63",
                    server, n, label);
    if (label[0] == '-' || label[n - 1] == '-')
        return fail(st, "names server \"%s\", whose label \"%.*s\" starts or ends with '-'; host name labels "
                        "may not",
                    server, (int)n, label);
    return 0;
}

static int check_host_name(const struct parse_state *st, const char *server)
{
    size_t n = strlen(server);
    for (size_t i = 0; i < n; i++) {
        if (is_host_char(server[i]))
            continue;
        char quoted[QUOTE_BUF], c[8];
        quote_bytes(server, n, 64, quoted, sizeof(quoted));
        if ((unsigned char)server[i] >= 0x80)
            snprintf(c, sizeof(c), "\\x%02x", (unsigned char)server[i]);
        else
            snprintf(c, sizeof(c), "%c", server[i]);
        return fail(st, "names server \"%s\", which contains '%s'; host names use only letters, digits, '.' and "
                        "'-' (IPv6 addresses go in brackets)",
                    quoted, c);
    }
    const char *label = server;
    for (;;) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t)(dot - label) : strlen(label);
        int r = check_label(st, server, label, len);
        if (r < 0)
            return r;
        if (!dot)
            return 0;
        label = dot + 1;
    }
}

/* A name or IPv4 address, unbracketed. */
static int set_server_name(const struct parse_state *st, const char *s, size_t n, struct export_spec *out)
{
    if (n == 0)
        return fail(st, "names no server; write the server before the path");
    if (n > EXPORT_SPEC_SERVER_MAX)
        return fail(st, "names a server of %zu characters; the limit is %d", n, EXPORT_SPEC_SERVER_MAX);
    memcpy(out->server, s, n);
    out->server[n] = '\0';
    if (only_digits_and_dots(s, n)) {
        struct in_addr a;
        if (inet_pton(AF_INET, out->server, &a) != 1)
            return fail(st, "names server \"%s\", which is not a valid IPv4 address (four numbers 0-255, no "
                            "leading zeros)",
                        out->server);
        return 0;
    }
    return check_host_name(st, out->server);
}

/* The inside of "[...]". */
static int set_server_ipv6(const struct parse_state *st, const char *s, size_t n, struct export_spec *out)
{
    char addr[INET6_ADDRSTRLEN + 1];
    char quoted[QUOTE_BUF];
    quote_bytes(s, n, 64, quoted, sizeof(quoted));
    struct in6_addr a;
    if (n >= sizeof(addr))
        return fail(st, "has \"[%s]\", which is not a valid IPv6 address", quoted);
    memcpy(addr, s, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET6, addr, &a) != 1) {
        if (n > 0 && only_digits_and_dots(s, n))
            return fail(st, "puts \"%s\" in brackets, which are only for IPv6 addresses; write IPv4 addresses "
                            "without brackets",
                        quoted);
        return fail(st, "has \"[%s]\", which is not a valid IPv6 address (zone ids like %%eth0 are not "
                        "supported)",
                    quoted);
    }
    if (!inet_ntop(AF_INET6, &a, out->server, sizeof(out->server)))
        return fail(st, "has \"[%s]\", which is not a valid IPv6 address", quoted);
    return 0;
}

/* --- paths ---------------------------------------------------------------------------- */

/* Characters that mean something else in an nfs:// URL, so no path may hold them. */
static int check_path_chars(const struct parse_state *st, const char *raw, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (raw[i] == '%')
            return fail(st, "has '%%' in its path (\"%.3s\"); percent-escapes are not supported and a literal "
                            "'%%' would be misread as one: write the path plainly",
                        raw + i);
        if (raw[i] == '?' || raw[i] == '#')
            return fail(st, "has '%c' in its path; an nfs:// URL could not carry it, so ferry cannot use such an "
                            "export: rename the directory",
                        raw[i]);
    }
    return 0;
}

/* Writes raw's components into out (EXPORT_SPEC_PATH_MAX + 1 bytes), dropping empty and "."
 * ones; *length is the normalised length even when it does not fit. */
static int normalise_path(const struct parse_state *st, const char *raw, size_t n, char *out, size_t *length)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && raw[i] == '/')
            i++;
        size_t start = i;
        while (i < n && raw[i] != '/')
            i++;
        size_t len = i - start;
        if (len == 0 || (len == 1 && raw[start] == '.'))
            continue;
        if (len == 2 && raw[start] == '.' && raw[start + 1] == '.')
            return fail(st, "has a '..' component in its path; write the path without it");
        if (o + 1 + len <= EXPORT_SPEC_PATH_MAX) {
            out[o] = '/';
            memcpy(out + o + 1, raw + start, len);
        }
        o += 1 + len;
    }
    if (o == 0)
        out[o++] = '/';
    if (o <= EXPORT_SPEC_PATH_MAX)
        out[o] = '\0';
    *length = o;
    return 0;
}

static int set_path(const struct parse_state *st, const char *raw, size_t n, struct export_spec *out)
{
    if (n == 0)
        return fail(st, "has no path after the server; write server:/path or nfs://server/path");
    if (raw[0] != '/') {
        char quoted[QUOTE_BUF];
        quote_bytes(raw, n, 60, quoted, sizeof(quoted));
        return fail(st, "has the relative path \"%s\"; export paths are absolute: write it with a leading '/'",
                    quoted);
    }
    int r = check_path_chars(st, raw, n);
    if (r < 0)
        return r;
    size_t length = 0;
    r = normalise_path(st, raw, n, out->path, &length);
    if (r < 0)
        return r;
    if (length > EXPORT_SPEC_PATH_MAX)
        return fail(st, "has a path of %zu characters; the limit is %d", length, EXPORT_SPEC_PATH_MAX);
    return 0;
}

/* --- server:/path --------------------------------------------------------------------- */

/* "fd00::5:/srv" — the kernel would need brackets to tell address from path. */
static bool looks_like_bare_ipv6(const char *text)
{
    const char *sep = strstr(text, ":/");
    size_t n = sep ? (size_t)(sep - text) : strlen(text);
    const char *first = memchr(text, ':', n);
    if (!first)
        return false;
    return memchr(first + 1, ':', n - (size_t)(first + 1 - text)) != NULL;
}

static int parse_bracketed_kernel_form(const struct parse_state *st, struct export_spec *out)
{
    const char *close = strchr(st->text, ']');
    if (!close)
        return fail(st, "opens '[' without a closing ']'; write an IPv6 server as [address]:/path");
    if (close[1] != ':')
        return fail(st, "needs ':' after ']'; write an IPv6 server as [address]:/path");
    int r = set_server_ipv6(st, st->text + 1, (size_t)(close - st->text - 1), out);
    if (r < 0)
        return r;
    return set_path(st, close + 2, strlen(close + 2), out);
}

static int parse_kernel_form(const struct parse_state *st, struct export_spec *out)
{
    const char *text = st->text;
    if (text[0] == '[')
        return parse_bracketed_kernel_form(st, out);
    if (text[0] == '/')
        return fail(st, "names no server; write server:%s", text);
    if (looks_like_bare_ipv6(text))
        return fail(st, "looks like an IPv6 address without brackets; write [address]:/path");
    const char *colon = strchr(text, ':');
    if (!colon)
        return fail(st, "has no ':' and no path; write server:/path");
    int r = set_server_name(st, text, (size_t)(colon - text), out);
    if (r < 0)
        return r;
    return set_path(st, colon + 1, strlen(colon + 1), out);
}

/* --- nfs://server/path?version=N ------------------------------------------------------ */

static int parse_version_value(const struct parse_state *st, const char *v, size_t n, struct export_spec *out)
{
    if (n == 0)
        return fail(st, "has an empty value for version; write version=3 or version=4");
    if (n == 1 && (v[0] == '3' || v[0] == '4')) {
        out->version = v[0] - '0';
        return 0;
    }
    char quoted[QUOTE_BUF];
    quote_bytes(v, n, 20, quoted, sizeof(quoted));
    return fail(st, "asks for version=%s; only version=3 or version=4 is supported (the NFSv4 minor version is "
                    "chosen at mount time)",
                quoted);
}

static int parse_query_parameter(const struct parse_state *st, const char *p, size_t n, bool *seen,
                                 struct export_spec *out)
{
    const char *eq = memchr(p, '=', n);
    size_t name_len = eq ? (size_t)(eq - p) : n;
    if (n == 0)
        return fail(st, "has an empty query parameter (a stray '&' or '?'); write ?version=3 or ?version=4");
    if (name_len != strlen("version") || memcmp(p, "version", name_len) != 0) {
        char quoted[QUOTE_BUF];
        quote_bytes(p, name_len, 40, quoted, sizeof(quoted));
        return fail(st, "has the query parameter \"%s\"; the only one ferry takes is version=3 or version=4", quoted);
    }
    if (*seen)
        return fail(st, "gives version twice; give it once");
    *seen = true;
    if (!eq)
        return fail(st, "has version without a value; write version=3 or version=4");
    return parse_version_value(st, eq + 1, n - name_len - 1, out);
}

static int parse_query(const struct parse_state *st, const char *q, struct export_spec *out)
{
    bool seen = false;
    if (*q == '\0')
        return fail(st, "ends with an empty query '?'; remove it, or write ?version=3 or ?version=4");
    for (;;) {
        size_t n = strcspn(q, "&");
        int r = parse_query_parameter(st, q, n, &seen, out);
        if (r < 0)
            return r;
        if (q[n] == '\0')
            return 0;
        q += n + 1;
    }
}

/* The authority of an unbracketed URL: a name or IPv4 address, no user@, no :port. */
static int set_url_server(const struct parse_state *st, const char *auth, size_t n, struct export_spec *out)
{
    const char *at = memchr(auth, '@', n);
    if (at)
        return fail(st, "names a user (\"%.*s@\"); nfs:// URLs in ferry take no user: remove \"%.*s@\"",
                    (int)(at - auth), auth, (int)(at - auth), auth);
    const char *colon = memchr(auth, ':', n);
    if (colon && memchr(colon + 1, ':', n - (size_t)(colon + 1 - auth)))
        return fail(st, "has an IPv6 address without brackets; write nfs://[address]/path");
    if (colon)
        return fail(st, "gives a port (\"%.*s\"); ports are not supported, rpcbind finds them: remove \"%.*s\"",
                    (int)(n - (size_t)(colon - auth)), colon, (int)(n - (size_t)(colon - auth)), colon);
    if (n == 0)
        return fail(st, "names no server; write nfs://server/path");
    return set_server_name(st, auth, n, out);
}

/* Parses the server part of rest ("server/path..." or "[v6]/path..."); *after is where it ends. */
static int parse_url_authority(const struct parse_state *st, const char *rest, const char **after,
                               struct export_spec *out)
{
    if (rest[0] != '[') {
        size_t n = strcspn(rest, "/?");
        *after = rest + n;
        return set_url_server(st, rest, n, out);
    }
    const char *close = strchr(rest, ']');
    if (!close)
        return fail(st, "opens '[' without a closing ']'; write an IPv6 server as nfs://[address]/path");
    int r = set_server_ipv6(st, rest + 1, (size_t)(close - rest - 1), out);
    if (r < 0)
        return r;
    if (close[1] == ':')
        return fail(st, "gives a port (\"%s\"); ports are not supported, rpcbind finds them: remove it",
                    close + 1);
    *after = close + 1;
    return 0;
}

static int parse_url_form(const struct parse_state *st, const char *rest, struct export_spec *out)
{
    const char *hash = strchr(st->text, '#');
    if (hash)
        return fail(st, "has a fragment (\"%.40s\"); fragments mean nothing to NFS: remove it", hash);
    const char *after = NULL;
    int r = parse_url_authority(st, rest, &after, out);
    if (r < 0)
        return r;
    if (*after != '/')
        return fail(st, "has no path after the server; write nfs://server/path");
    size_t n = strcspn(after, "?");
    r = set_path(st, after, n, out);
    if (r < 0)
        return r;
    return after[n] == '?' ? parse_query(st, after + n + 1, out) : 0;
}

/* --- the whole spec ------------------------------------------------------------------- */

static int check_characters(const struct parse_state *st)
{
    for (size_t i = 0; st->text[i]; i++) {
        unsigned char c = (unsigned char)st->text[i];
        if (c == ' ')
            return fail(st, "has a space at position %zu; export specs cannot contain whitespace: remove it", i + 1);
        if (is_control(c))
            return fail(st, "has the control character \\x%02x at position %zu; remove it", c, i + 1);
    }
    return 0;
}

/* Length of a URL scheme ending at "://" ("nfs" in "nfs://..."), or 0 if text has none. */
static size_t scheme_length(const char *text)
{
    const char *sep = strstr(text, "://");
    if (!sep || sep == text)
        return 0;
    if (!((text[0] >= 'a' && text[0] <= 'z') || (text[0] >= 'A' && text[0] <= 'Z')))
        return 0;
    for (const char *p = text; p < sep; p++)
        if (!is_host_char(*p) && *p != '+')
            return 0;
    return (size_t)(sep - text);
}

static int parse_spec(const struct parse_state *st, struct export_spec *out)
{
    if (st->text[0] == '\0')
        return fail(st, "is empty; give the NFS export holding the instance directory");
    int r = check_characters(st);
    if (r < 0)
        return r;
    size_t scheme = scheme_length(st->text);
    if (scheme == 0)
        return parse_kernel_form(st, out);
    if (scheme == 3 && strncasecmp(st->text, "nfs", 3) == 0)
        return parse_url_form(st, st->text + 6, out);
    return fail(st, "uses the scheme \"%.*s://\"; ferry takes only nfs:// URLs (nfs://server/path?version=4) and "
                    "server:/path (one '/' after the ':')",
                (int)scheme, st->text);
}

int export_spec_parse(const char *text, struct export_spec *spec, char **error)
{
    if (error)
        *error = NULL;
    struct parse_state st = { .text = text ? text : "", .error = error };
    struct export_spec parsed = { .version = 0 };
    int r = parse_spec(&st, &parsed);
    if (r < 0)
        return r;
    *spec = parsed;
    return 0;
}

/* --- printing and comparing ----------------------------------------------------------- */

static bool is_ipv6(const char *server)
{
    return strchr(server, ':') != NULL;
}

static bool printable(const struct export_spec *spec)
{
    return spec && spec->server[0] && spec->path[0] == '/';
}

/* What snprintf's return n means for a buffer of size bytes. */
static int printed(size_t size, int n)
{
    if (n < 0)
        return -EINVAL;
    return (size_t)n < size ? 0 : -ENOSPC;
}

int export_spec_format(const struct export_spec *spec, char *buf, size_t size)
{
    if (!printable(spec) || !buf)
        return -EINVAL;
    const char *fmt = is_ipv6(spec->server) ? "[%s]:%s" : "%s:%s";
    return printed(size, snprintf(buf, size, fmt, spec->server, spec->path));
}

int export_spec_url(const struct export_spec *spec, int default_version, char *buf, size_t size)
{
    if (!printable(spec) || !buf)
        return -EINVAL;
    int version = spec->version ? spec->version : default_version;
    if (version != 3 && version != 4)
        return -EINVAL;
    const char *fmt = is_ipv6(spec->server) ? "nfs://[%s]%s?version=%d" : "nfs://%s%s?version=%d";
    return printed(size, snprintf(buf, size, fmt, spec->server, spec->path, version));
}

static bool same_server(const char *a, const char *b)
{
    if (is_ipv6(a) != is_ipv6(b))
        return false;
    if (!is_ipv6(a))
        return strcasecmp(a, b) == 0;
    struct in6_addr x, y;
    if (inet_pton(AF_INET6, a, &x) != 1 || inet_pton(AF_INET6, b, &y) != 1)
        return strcasecmp(a, b) == 0;
    return memcmp(&x, &y, sizeof(x)) == 0;
}

bool export_spec_equal(const struct export_spec *a, const struct export_spec *b)
{
    if (!a || !b)
        return false;
    return same_server(a->server, b->server) && strcmp(a->path, b->path) == 0;
}
