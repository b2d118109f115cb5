/*
 * Export specs: both spellings (server:/path and nfs://server/path?version=N) with host
 * names, IPv4 and IPv6; path normalisation; odd but legal characters; every rejection, each
 * with a one-line message naming the spec and showing a good one; the limits exactly at and
 * one past the boundary; printing back in kernel and libnfs form; and comparing exports.
 */
#include "export_spec.h"
#include "test_support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers ------------------------------------------------------------------------- */

/* Parses text, expecting success; returns the spec (zeroed on failure, after reporting). */
static struct export_spec parse_ok_at(const char *text, int line)
{
    struct export_spec spec;
    memset(&spec, 0, sizeof(spec));
    char *error = (char *)"not cleared";
    int r = export_spec_parse(text, &spec, &error);
    if (r != 0 || error)
        fprintf(stderr, "\n    line %d: parse of \"%s\" returned %d: %s\n", line, text, r, error ? error : "(null)");
    CU_ASSERT_EQUAL(r, 0);
    CU_ASSERT_PTR_NULL(error);
    if (r != 0)
        free(error);
    return spec;
}

#define EXPECT_OK(text, server_, path_, version_)                                                     \
    do {                                                                                              \
        struct export_spec s_ = parse_ok_at((text), __LINE__);                                        \
        ASSERT_STR(s_.server, (server_));                                                             \
        ASSERT_STR(s_.path, (path_));                                                                 \
        CU_ASSERT_EQUAL(s_.version, (version_));                                                      \
    } while (0)

/* Expects -EINVAL, *spec untouched, and a one-line message holding every needle. */
static void expect_reject_v(const char *text, const char *const *needles, int line)
{
    struct export_spec spec, before;
    memset(&spec, 0x5a, sizeof(spec));
    before = spec;
    char *error = NULL;
    int r = export_spec_parse(text, &spec, &error);
    if (r != -EINVAL)
        fprintf(stderr, "\n    line %d: parse of \"%s\" returned %d, expected -EINVAL\n", line, text ? text : "(null)",
                r);
    CU_ASSERT_EQUAL(r, -EINVAL);
    CU_ASSERT(memcmp(&spec, &before, sizeof(spec)) == 0);
    CU_ASSERT_PTR_NOT_NULL(error);
    if (!error)
        return;
    CU_ASSERT_PTR_NULL(strchr(error, '\n'));
    CU_ASSERT_PTR_NULL(strchr(error, '\t'));
    ASSERT_CONTAINS(error, "export spec \"");
    ASSERT_CONTAINS(error, "a good spec looks like 10.0.0.5:/srv/nova");
    for (const char *const *n = needles; *n; n++)
        ASSERT_CONTAINS(error, *n);
    free(error);
}

#define EXPECT_REJECT(text, ...)                                                                      \
    do {                                                                                              \
        const char *const needles_[] = { __VA_ARGS__, NULL };                                         \
        expect_reject_v((text), needles_, __LINE__);                                                  \
    } while (0)

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* --- accepted specs ------------------------------------------------------------------ */

static void test_kernel_form(void)
{
    EXPECT_OK("10.0.0.5:/srv/nova", "10.0.0.5", "/srv/nova", 0);
    EXPECT_OK("nfs.example.com:/srv/nova", "nfs.example.com", "/srv/nova", 0);
    EXPECT_OK("NFS-1.Example.COM:/x", "NFS-1.Example.COM", "/x", 0);
    EXPECT_OK("a:/x", "a", "/x", 0);
    EXPECT_OK("1a.example:/x", "1a.example", "/x", 0);
    EXPECT_OK("xn--nva-nna.example:/x", "xn--nva-nna.example", "/x", 0);
    EXPECT_OK("localhost:/", "localhost", "/", 0);
    EXPECT_OK("255.255.255.255:/x", "255.255.255.255", "/x", 0);
    EXPECT_OK("0.0.0.0:/x", "0.0.0.0", "/x", 0);
}

static void test_kernel_form_ipv6(void)
{
    EXPECT_OK("[fd00::5]:/srv/nova", "fd00::5", "/srv/nova", 0);
    /* Stored in canonical form, so format() and equal() see one spelling. */
    EXPECT_OK("[FD00:0:0::5]:/srv/nova", "fd00::5", "/srv/nova", 0);
    EXPECT_OK("[::1]:/", "::1", "/", 0);
    EXPECT_OK("[::ffff:10.0.0.5]:/x", "::ffff:10.0.0.5", "/x", 0);
    EXPECT_OK("[2001:db8:0:0:1:0:0:1]:/x", "2001:db8::1:0:0:1", "/x", 0);
}

static void test_url_form(void)
{
    EXPECT_OK("nfs://10.0.0.5/srv/nova", "10.0.0.5", "/srv/nova", 0);
    EXPECT_OK("nfs://10.0.0.5/srv/nova?version=3", "10.0.0.5", "/srv/nova", 3);
    EXPECT_OK("nfs://nfs.example.com/srv/nova?version=4", "nfs.example.com", "/srv/nova", 4);
    EXPECT_OK("nfs://[fd00::5]/srv/nova?version=4", "fd00::5", "/srv/nova", 4);
    EXPECT_OK("nfs://[fd00::5]/srv/nova", "fd00::5", "/srv/nova", 0);
    EXPECT_OK("NFS://server/x", "server", "/x", 0);
    EXPECT_OK("Nfs://server/x?version=3", "server", "/x", 3);
    EXPECT_OK("nfs://server/", "server", "/", 0);
    EXPECT_OK("nfs://server/?version=4", "server", "/", 4);
}

static void test_path_normalisation(void)
{
    EXPECT_OK("s:/srv//nova/", "s", "/srv/nova", 0);
    /* "word://" reads as a URL scheme (see test_reject_scheme); addresses cannot be schemes. */
    EXPECT_OK("10.0.0.5://", "10.0.0.5", "/", 0);
    EXPECT_OK("10.0.0.5:///srv", "10.0.0.5", "/srv", 0);
    EXPECT_OK("[fd00::5]://srv//", "fd00::5", "/srv", 0);
    EXPECT_OK("s:/./srv/./nova/.", "s", "/srv/nova", 0);
    EXPECT_OK("s:/.", "s", "/", 0);
    EXPECT_OK("nfs://s//srv//nova/?version=3", "s", "/srv/nova", 3);
    EXPECT_OK("nfs://s/./srv/.", "s", "/srv", 0);
    /* Names that merely start with dots are ordinary names. */
    EXPECT_OK("s:/srv/.hidden/..foo/.../x.", "s", "/srv/.hidden/..foo/.../x.", 0);
}

static void test_odd_path_characters(void)
{
    EXPECT_OK("s:/srv/a+b@c,d=e~f", "s", "/srv/a+b@c,d=e~f", 0);
    EXPECT_OK("s:/srv/n\xc3\xb6va/\xe6\x97\xa5\xff", "s", "/srv/n\xc3\xb6va/\xe6\x97\xa5\xff", 0);
    EXPECT_OK("s:/srv/a:b", "s", "/srv/a:b", 0);
    EXPECT_OK("s:/srv/[x]/{y}/(z)!$'*;", "s", "/srv/[x]/{y}/(z)!$'*;", 0);
    EXPECT_OK("s:/srv/a_b-c", "s", "/srv/a_b-c", 0);
    /* In a URL, '@' and ':' after the first '/' are path, not user or port. */
    EXPECT_OK("nfs://s/srv/a@b", "s", "/srv/a@b", 0);
    EXPECT_OK("nfs://s/srv/a:2049", "s", "/srv/a:2049", 0);
    EXPECT_OK("nfs://s/srv/a+b,c=d~e?version=3", "s", "/srv/a+b,c=d~e", 3);
    EXPECT_OK("[fd00::5]:/srv/a:b", "fd00::5", "/srv/a:b", 0);
}

static void test_limits(void)
{
    /* Server: 255 characters (four labels of 63) fits; 256 does not. */
    char *l63 = repeat('a', 63), *l62 = repeat('b', 62), *l64 = repeat('c', 64);
    char *server255 = test_strf("%s.%s.%s.%s", l63, l63, l63, l63);
    char *server256 = test_strf("%s.%s.%s.%s.x", l63, l63, l63, l62);
    CU_ASSERT_EQUAL(strlen(server255), 255);
    CU_ASSERT_EQUAL(strlen(server256), 256);
    char *text = test_strf("%s:/x", server255);
    EXPECT_OK(text, server255, "/x", 0);
    free(text);
    text = test_strf("nfs://%s/x?version=3", server255);
    EXPECT_OK(text, server255, "/x", 3);
    free(text);
    text = test_strf("%s:/x", server256);
    EXPECT_REJECT(text, "256 characters", "limit is 255");
    free(text);
    text = test_strf("nfs://%s/x", server256);
    EXPECT_REJECT(text, "256 characters", "limit is 255");
    free(text);
    char *huge = repeat('h', 4000);
    text = test_strf("%s:/x", huge);
    EXPECT_REJECT(text, "4000 characters", "limit is 255");
    free(text);

    /* A label of 63 fits; 64 does not. */
    char *server63 = test_strf("%s.example", l63);
    text = test_strf("%s:/x", server63);
    EXPECT_OK(text, server63, "/x", 0);
    free(text);
    free(server63);
    text = test_strf("%s.example:/x", l64);
    EXPECT_REJECT(text, "label of 64 characters", "at most 63");
    free(text);
    text = test_strf("www.%s:/x", l64);
    EXPECT_REJECT(text, "label of 64 characters");
    free(text);

    /* Path: 1024 characters fits, 1025 does not; the limit applies after normalising. */
    char *name1023 = repeat('p', 1023), *name1024 = repeat('q', 1024);
    char *path1024 = test_strf("/%s", name1023);
    text = test_strf("s:%s", path1024);
    EXPECT_OK(text, "s", path1024, 0);
    free(text);
    text = test_strf("10.0.0.5://%s/", name1023);
    EXPECT_OK(text, "10.0.0.5", path1024, 0);
    free(text);
    text = test_strf("nfs://s/%s?version=4", name1023);
    EXPECT_OK(text, "s", path1024, 4);
    free(text);
    text = test_strf("s:/%s", name1024);
    EXPECT_REJECT(text, "path of 1025 characters", "limit is 1024");
    free(text);
    text = test_strf("nfs://s/%s", name1024);
    EXPECT_REJECT(text, "path of 1025 characters", "limit is 1024");
    free(text);
    char *long_path = repeat('/', 5000);
    for (size_t i = 1; i < 5000; i += 2)
        long_path[i] = 'z';
    text = test_strf("s:%s", long_path);
    EXPECT_REJECT(text, "path of 5000 characters");
    /* The message quotes only the start of a long spec. */
    char *error = NULL;
    struct export_spec spec;
    CU_ASSERT_EQUAL(export_spec_parse(text, &spec, &error), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(error);
    if (error) {
        CU_ASSERT(strlen(error) < 600);
        ASSERT_CONTAINS(error, "...");
    }
    free(error);
    free(text);

    /* The largest spec fits the advertised buffer sizes exactly. */
    struct export_spec biggest;
    memset(&biggest, 0, sizeof(biggest));
    memcpy(biggest.server, server255, 256);
    memcpy(biggest.path, path1024, 1025);
    char *format_buf = malloc(EXPORT_SPEC_FORMAT_SIZE), *url_buf = malloc(EXPORT_SPEC_URL_SIZE);
    CU_ASSERT_EQUAL(export_spec_format(&biggest, format_buf, EXPORT_SPEC_FORMAT_SIZE - 2), 0);
    CU_ASSERT_EQUAL(export_spec_url(&biggest, 4, url_buf, EXPORT_SPEC_URL_SIZE - 2), 0);
    biggest.server[0] = ':'; /* now an "IPv6" server, printed in brackets */
    CU_ASSERT_EQUAL(export_spec_format(&biggest, format_buf, EXPORT_SPEC_FORMAT_SIZE), 0);
    CU_ASSERT_EQUAL(strlen(format_buf) + 1, (size_t)EXPORT_SPEC_FORMAT_SIZE);
    CU_ASSERT_EQUAL(export_spec_url(&biggest, 4, url_buf, EXPORT_SPEC_URL_SIZE), 0);
    CU_ASSERT_EQUAL(strlen(url_buf) + 1, (size_t)EXPORT_SPEC_URL_SIZE);
    free(format_buf);
    free(url_buf);

    free(l63), free(l62), free(l64), free(server255), free(server256), free(huge);
    free(name1023), free(name1024), free(path1024), free(long_path);
}

/* --- rejected specs ------------------------------------------------------------------ */

static void test_reject_empty_and_missing(void)
{
    EXPECT_REJECT(NULL, "is empty");
    EXPECT_REJECT("", "is empty");
    EXPECT_REJECT("server", "no ':' and no path", "server:/path");
    EXPECT_REJECT("server:", "no path");
    EXPECT_REJECT("[fd00::5]:", "no path");
    EXPECT_REJECT("nfs://server", "no path", "nfs://server/path");
    EXPECT_REJECT("nfs://server?version=3", "no path");
    EXPECT_REJECT("nfs://[fd00::5]", "no path");
    EXPECT_REJECT("nfs://[fd00::5]?version=4", "no path");
    EXPECT_REJECT(":/srv", "names no server");
    EXPECT_REJECT("/srv/nova", "names no server", "server:/srv/nova");
    EXPECT_REJECT("nfs:///srv", "names no server", "nfs://server/path");
    EXPECT_REJECT("nfs://", "names no server");
    EXPECT_REJECT("nfs://?version=3", "names no server");
}

static void test_reject_relative_and_dotdot(void)
{
    EXPECT_REJECT("s:srv/nova", "relative path \"srv/nova\"", "leading '/'");
    EXPECT_REJECT("s:./srv", "relative path");
    EXPECT_REJECT("s:..", "relative path");
    EXPECT_REJECT("[fd00::5]:srv", "relative path");
    EXPECT_REJECT("s:/srv/../etc", "'..' component");
    EXPECT_REJECT("s:/..", "'..' component");
    EXPECT_REJECT("s:/srv/..", "'..' component");
    EXPECT_REJECT("s:/srv/nova/../", "'..' component");
    EXPECT_REJECT("nfs://s/srv/..?version=3", "'..' component");
    EXPECT_REJECT("nfs://s/../srv", "'..' component");
}

static void test_reject_whitespace_and_control(void)
{
    EXPECT_REJECT("s:/srv/no va", "space at position 10", "whitespace");
    EXPECT_REJECT("s:/srv/nova ", "space at position 12");
    EXPECT_REJECT(" s:/srv/nova", "space at position 1");
    EXPECT_REJECT("nfs://s/srv nova", "space");
    EXPECT_REJECT("s:/srv\tx", "control character \\x09 at position 7", "s:/srv\\x09x");
    EXPECT_REJECT("s:/srv/nova\n", "control character \\x0a", "s:/srv/nova\\x0a");
    EXPECT_REJECT("s:/srv\r", "\\x0d");
    EXPECT_REJECT("s:/srv\x7f", "\\x7f");
    EXPECT_REJECT("\x01s:/srv", "\\x01 at position 1");
    EXPECT_REJECT("nfs://s/x?version=3\x1b", "\\x1b");
}

static void test_reject_server_names(void)
{
    EXPECT_REJECT("nfs_1:/srv", "server \"nfs_1\"", "contains '_'", "letters, digits, '.' and '-'");
    EXPECT_REJECT("s!:/x", "contains '!'");
    EXPECT_REJECT("nfs\xc3\xa9.example:/x", "contains '\\xc3'");
    EXPECT_REJECT("a..b:/x", "empty label");
    EXPECT_REJECT(".a:/x", "empty label");
    EXPECT_REJECT("a.:/x", "empty label");
    EXPECT_REJECT("-a:/x", "\"-a\" starts or ends with '-'");
    EXPECT_REJECT("a.b-:/x", "\"b-\" starts or ends with '-'");
    EXPECT_REJECT("nfs://nfs_1/srv", "contains '_'");
    EXPECT_REJECT("nfs://a%41/srv", "contains '%'");
    EXPECT_REJECT("nfs://a..b/x", "empty label");
}

static void test_reject_ipv4(void)
{
    EXPECT_REJECT("10.0.0.256:/x", "\"10.0.0.256\"", "not a valid IPv4 address");
    EXPECT_REJECT("10.0.0:/x", "not a valid IPv4 address");
    EXPECT_REJECT("1.2.3.4.5:/x", "not a valid IPv4 address");
    EXPECT_REJECT("010.0.0.5:/x", "not a valid IPv4 address");
    EXPECT_REJECT("123:/x", "not a valid IPv4 address");
    EXPECT_REJECT("10..0.5:/x", "not a valid IPv4 address");
    EXPECT_REJECT("nfs://999.1.1.1/x", "not a valid IPv4 address");
}

static void test_reject_ipv6(void)
{
    EXPECT_REJECT("[fd00::zz]:/x", "\"[fd00::zz]\"", "not a valid IPv6 address");
    EXPECT_REJECT("[]:/x", "\"[]\"", "not a valid IPv6 address");
    EXPECT_REJECT("[fd00::1::2]:/x", "not a valid IPv6 address");
    EXPECT_REJECT("[fe80::1%eth0]:/x", "not a valid IPv6 address", "zone ids");
    EXPECT_REJECT("[10.0.0.5]:/x", "brackets", "write IPv4 addresses without brackets");
    EXPECT_REJECT("[fd00::5:/x", "without a closing ']'", "[address]:/path");
    EXPECT_REJECT("[fd00::5]/x", "needs ':' after ']'");
    EXPECT_REJECT("fd00::5:/srv", "IPv6 address without brackets", "[address]:/path");
    EXPECT_REJECT("fe80:1:2:3:4:5:6:7:/srv", "IPv6 address without brackets");
    EXPECT_REJECT("nfs://fd00::5/srv", "IPv6 address without brackets", "nfs://[address]/path");
    EXPECT_REJECT("nfs://[fd00::5/srv", "without a closing ']'");
    EXPECT_REJECT("nfs://[zz]/x", "not a valid IPv6 address");
    EXPECT_REJECT("nfs://[fd00::5]x/srv", "no path");
}

static void test_reject_scheme(void)
{
    EXPECT_REJECT("nfs4://s/x", "scheme \"nfs4://\"", "only nfs:// URLs (nfs://server/path?version=4)");
    EXPECT_REJECT("NFS4://s/x", "scheme \"NFS4://\"");
    EXPECT_REJECT("http://s/x", "scheme \"http://\"");
    EXPECT_REJECT("https://s/x", "scheme \"https://\"");
    EXPECT_REJECT("file:///srv", "scheme \"file://\"");
    EXPECT_REJECT("svn+ssh://s/x", "scheme \"svn+ssh://\"");
    /* Looks like a server name, but "://" makes it a scheme: the message shows server:/path. */
    EXPECT_REJECT("server://srv", "scheme \"server://\"", "server:/path (one '/' after the ':')");
    EXPECT_REJECT("s://", "scheme \"s://\"");
    EXPECT_REJECT("s:///srv", "scheme \"s://\"");
}

static void test_reject_user_and_port(void)
{
    EXPECT_REJECT("nfs://user@s/x", "names a user (\"user@\")", "remove \"user@\"");
    EXPECT_REJECT("nfs://@s/x", "names a user");
    EXPECT_REJECT("nfs://user:pw@s/x", "names a user");
    EXPECT_REJECT("nfs://s:2049/x", "port (\":2049\")", "not supported", "rpcbind finds them");
    EXPECT_REJECT("nfs://s:/x", "port", "rpcbind");
    EXPECT_REJECT("nfs://s:2049", "port");
    EXPECT_REJECT("nfs://[fd00::5]:2049/x", "port (\":2049/x\")", "rpcbind finds them");
}

static void test_reject_query(void)
{
    EXPECT_REJECT("nfs://s/x?foo=1", "query parameter \"foo\"", "version=3 or version=4");
    EXPECT_REJECT("nfs://s/x?version=3&foo=1", "query parameter \"foo\"");
    EXPECT_REJECT("nfs://s/x?Version=3", "query parameter \"Version\"");
    EXPECT_REJECT("nfs://s/x?uid=0", "query parameter \"uid\"");
    EXPECT_REJECT("nfs://s/x?nfsport=2049", "query parameter \"nfsport\"");
    EXPECT_REJECT("nfs://s/x?=3", "query parameter \"\"");
    EXPECT_REJECT("nfs://s/x?version=2", "version=2", "only version=3 or version=4");
    EXPECT_REJECT("nfs://s/x?version=5", "version=5");
    EXPECT_REJECT("nfs://s/x?version=4.1", "version=4.1");
    EXPECT_REJECT("nfs://s/x?version=03", "version=03");
    EXPECT_REJECT("nfs://s/x?version=3x", "version=3x");
    EXPECT_REJECT("nfs://s/x?version=-3", "version=-3");
    EXPECT_REJECT("nfs://s/x?version=", "empty value for version");
    EXPECT_REJECT("nfs://s/x?version=&", "empty value for version");
    EXPECT_REJECT("nfs://s/x?version", "version without a value");
    EXPECT_REJECT("nfs://s/x?", "empty query '?'");
    EXPECT_REJECT("nfs://s/x?version=3&", "empty query parameter");
    EXPECT_REJECT("nfs://s/x?&version=3", "empty query parameter");
    EXPECT_REJECT("nfs://s/x?version=3&&", "empty query parameter");
    EXPECT_REJECT("nfs://s/x?version=3&version=4", "version twice");
    EXPECT_REJECT("nfs://s/x?version=3&version=3", "version twice");
    EXPECT_REJECT("nfs://s/x?version=3?version=4", "version=3?version=4");
}

static void test_reject_fragment_and_escapes(void)
{
    EXPECT_REJECT("nfs://s/x#frag", "fragment (\"#frag\")", "remove it");
    EXPECT_REJECT("nfs://s/x?version=3#f", "fragment (\"#f\")");
    EXPECT_REJECT("nfs://s#/x", "fragment");
    EXPECT_REJECT("nfs://s/srv/a%20b", "'%' in its path (\"%20\")", "write the path plainly");
    EXPECT_REJECT("nfs://s/%2Fsrv", "\"%2F\"", "plainly");
    EXPECT_REJECT("s:/srv/a%20b", "'%' in its path", "plainly");
    EXPECT_REJECT("s:/srv/100%", "'%' in its path");
    /* '?' and '#' could not travel in an nfs:// URL, so no kernel-form path may hold them. */
    EXPECT_REJECT("s:/srv/a?b", "'?' in its path", "rename the directory");
    EXPECT_REJECT("s:/srv/a#b", "'#' in its path");
}

static void test_error_may_be_null(void)
{
    struct export_spec spec;
    memset(&spec, 0, sizeof(spec));
    CU_ASSERT_EQUAL(export_spec_parse("nfs4://s/x", &spec, NULL), -EINVAL);
    CU_ASSERT_EQUAL(export_spec_parse("", &spec, NULL), -EINVAL);
    CU_ASSERT_EQUAL(export_spec_parse("s:/x", &spec, NULL), 0);
    ASSERT_STR(spec.server, "s");
    /* A spec with a version, re-parsed without one, loses it: nothing carries over. */
    CU_ASSERT_EQUAL(export_spec_parse("nfs://s/x?version=4", &spec, NULL), 0);
    CU_ASSERT_EQUAL(spec.version, 4);
    CU_ASSERT_EQUAL(export_spec_parse("t:/y", &spec, NULL), 0);
    CU_ASSERT_EQUAL(spec.version, 0);
    ASSERT_STR(spec.server, "t");
}

/* --- printing ------------------------------------------------------------------------ */

static void expect_format(const char *text, const char *expected)
{
    struct export_spec spec = parse_ok_at(text, __LINE__);
    char buf[2048];
    CU_ASSERT_EQUAL(export_spec_format(&spec, buf, sizeof(buf)), 0);
    ASSERT_STR(buf, expected);
}

static void test_format(void)
{
    expect_format("10.0.0.5:/srv/nova", "10.0.0.5:/srv/nova");
    expect_format("nfs://10.0.0.5/srv/nova?version=4", "10.0.0.5:/srv/nova");
    expect_format("nfs://Nfs.Example.com//srv/nova/", "Nfs.Example.com:/srv/nova");
    expect_format("[FD00:0::5]:/srv/nova", "[fd00::5]:/srv/nova");
    expect_format("nfs://[fd00::5]/", "[fd00::5]:/");
    expect_format("s:/./", "s:/");

    struct export_spec spec = parse_ok_at("10.0.0.5:/srv/nova", __LINE__);
    char buf[32];
    size_t need = strlen("10.0.0.5:/srv/nova") + 1;
    CU_ASSERT_EQUAL(export_spec_format(&spec, buf, need), 0);
    ASSERT_STR(buf, "10.0.0.5:/srv/nova");
    CU_ASSERT_EQUAL(export_spec_format(&spec, buf, need - 1), -ENOSPC);
    CU_ASSERT_EQUAL(export_spec_format(&spec, buf, 0), -ENOSPC);
    CU_ASSERT_EQUAL(export_spec_format(NULL, buf, sizeof(buf)), -EINVAL);
    CU_ASSERT_EQUAL(export_spec_format(&spec, NULL, 10), -EINVAL);
    struct export_spec empty;
    memset(&empty, 0, sizeof(empty));
    CU_ASSERT_EQUAL(export_spec_format(&empty, buf, sizeof(buf)), -EINVAL);
    strcpy(empty.server, "s");
    CU_ASSERT_EQUAL(export_spec_format(&empty, buf, sizeof(buf)), -EINVAL);
    strcpy(empty.path, "relative");
    CU_ASSERT_EQUAL(export_spec_format(&empty, buf, sizeof(buf)), -EINVAL);
}

static void test_url(void)
{
    char buf[2048];
    struct export_spec spec = parse_ok_at("10.0.0.5:/srv/nova", __LINE__);
    CU_ASSERT_EQUAL(export_spec_url(&spec, 3, buf, sizeof(buf)), 0);
    ASSERT_STR(buf, "nfs://10.0.0.5/srv/nova?version=3");
    CU_ASSERT_EQUAL(export_spec_url(&spec, 4, buf, sizeof(buf)), 0);
    ASSERT_STR(buf, "nfs://10.0.0.5/srv/nova?version=4");
    CU_ASSERT_EQUAL(export_spec_url(&spec, 0, buf, sizeof(buf)), -EINVAL);
    CU_ASSERT_EQUAL(export_spec_url(&spec, 2, buf, sizeof(buf)), -EINVAL);

    /* The spec's own version beats the default; a bad default does not matter then. */
    spec = parse_ok_at("nfs://s/x?version=4", __LINE__);
    CU_ASSERT_EQUAL(export_spec_url(&spec, 3, buf, sizeof(buf)), 0);
    ASSERT_STR(buf, "nfs://s/x?version=4");
    CU_ASSERT_EQUAL(export_spec_url(&spec, 0, buf, sizeof(buf)), 0);
    ASSERT_STR(buf, "nfs://s/x?version=4");

    spec = parse_ok_at("[fd00::5]:/srv/nova", __LINE__);
    CU_ASSERT_EQUAL(export_spec_url(&spec, 4, buf, sizeof(buf)), 0);
    ASSERT_STR(buf, "nfs://[fd00::5]/srv/nova?version=4");

    spec = parse_ok_at("s:/", __LINE__);
    CU_ASSERT_EQUAL(export_spec_url(&spec, 3, buf, sizeof(buf)), 0);
    ASSERT_STR(buf, "nfs://s/?version=3");

    size_t need = strlen("nfs://s/?version=3") + 1;
    CU_ASSERT_EQUAL(export_spec_url(&spec, 3, buf, need), 0);
    CU_ASSERT_EQUAL(export_spec_url(&spec, 3, buf, need - 1), -ENOSPC);
    CU_ASSERT_EQUAL(export_spec_url(NULL, 3, buf, sizeof(buf)), -EINVAL);
    CU_ASSERT_EQUAL(export_spec_url(&spec, 3, NULL, 10), -EINVAL);
}

/* Every accepted spec prints back, in both forms, to something that parses to the same export. */
static void test_round_trip(void)
{
    static const char *const specs[] = {
        "10.0.0.5:/srv/nova",       "nfs://nfs.example.com/srv/nova?version=4", "[fd00::5]:/srv/nova",
        "nfs://[::1]/?version=3",   "s:/srv/a+b@c,d=e~f",                      "s:/srv/a:b",
        "s:/srv/n\xc3\xb6va",       "nfs://s/srv/a@b",
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct export_spec spec = parse_ok_at(specs[i], __LINE__), again;
        char buf[2048];
        CU_ASSERT_EQUAL(export_spec_format(&spec, buf, sizeof(buf)), 0);
        CU_ASSERT_EQUAL(export_spec_parse(buf, &again, NULL), 0);
        CU_ASSERT_TRUE(export_spec_equal(&spec, &again));
        ASSERT_STR(again.path, spec.path);
        CU_ASSERT_EQUAL(export_spec_url(&spec, 3, buf, sizeof(buf)), 0);
        CU_ASSERT_EQUAL(export_spec_parse(buf, &again, NULL), 0);
        CU_ASSERT_TRUE(export_spec_equal(&spec, &again));
        CU_ASSERT_EQUAL(again.version, spec.version ? spec.version : 3);
    }
}

/* --- comparing ----------------------------------------------------------------------- */

static bool equal_texts(const char *a, const char *b)
{
    struct export_spec x = parse_ok_at(a, __LINE__), y = parse_ok_at(b, __LINE__);
    bool forward = export_spec_equal(&x, &y), backward = export_spec_equal(&y, &x);
    CU_ASSERT_EQUAL(forward, backward);
    return forward;
}

static void test_equal(void)
{
    CU_ASSERT_TRUE(equal_texts("10.0.0.5:/srv/nova", "nfs://10.0.0.5/srv/nova?version=4"));
    CU_ASSERT_TRUE(equal_texts("10.0.0.5:/srv/nova", "10.0.0.5:/srv//nova/"));
    CU_ASSERT_TRUE(equal_texts("nfs://s/x?version=3", "nfs://s/x?version=4"));
    CU_ASSERT_TRUE(equal_texts("NFS.example.com:/x", "nfs.EXAMPLE.com:/x"));
    CU_ASSERT_TRUE(equal_texts("[fd00::5]:/x", "nfs://[FD00:0:0:0:0:0:0:5]/x"));
    CU_ASSERT_FALSE(equal_texts("10.0.0.5:/srv/nova", "10.0.0.6:/srv/nova"));
    CU_ASSERT_FALSE(equal_texts("10.0.0.5:/srv/nova", "10.0.0.5:/srv/Nova"));
    CU_ASSERT_FALSE(equal_texts("10.0.0.5:/srv/nova", "10.0.0.5:/srv/nova/x"));
    CU_ASSERT_FALSE(equal_texts("10.0.0.5:/srv/nova", "10.0.0.5:/srv"));
    CU_ASSERT_FALSE(equal_texts("[::ffff:10.0.0.5]:/x", "10.0.0.5:/x"));
    CU_ASSERT_FALSE(equal_texts("[fd00::5]:/x", "[fd00::6]:/x"));
    CU_ASSERT_FALSE(equal_texts("nfs.example.com:/x", "nfs.example.org:/x"));

    /* Built by hand (not through parse): IPv6 still compares by address. */
    struct export_spec a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    strcpy(a.server, "FD00:0::5");
    strcpy(b.server, "fd00::5");
    strcpy(a.path, "/x");
    strcpy(b.path, "/x");
    CU_ASSERT_TRUE(export_spec_equal(&a, &b));
    strcpy(b.server, "fd00::6");
    CU_ASSERT_FALSE(export_spec_equal(&a, &b));
    CU_ASSERT_FALSE(export_spec_equal(&a, NULL));
    CU_ASSERT_FALSE(export_spec_equal(NULL, &a));
    CU_ASSERT_FALSE(export_spec_equal(NULL, NULL));
    CU_ASSERT_TRUE(export_spec_equal(&a, &a));
}

int main(void)
{
    static const struct test_case cases[] = {
        { "server:/path", test_kernel_form },
        { "[v6]:/path", test_kernel_form_ipv6 },
        { "nfs:// URLs", test_url_form },
        { "path normalisation", test_path_normalisation },
        { "odd but legal path characters", test_odd_path_characters },
        { "limits at and past the boundary", test_limits },
        { "empty, no server, no path", test_reject_empty_and_missing },
        { "relative paths and ..", test_reject_relative_and_dotdot },
        { "whitespace and control characters", test_reject_whitespace_and_control },
        { "bad host names", test_reject_server_names },
        { "bad IPv4 addresses", test_reject_ipv4 },
        { "bad IPv6 addresses", test_reject_ipv6 },
        { "unknown schemes", test_reject_scheme },
        { "user@ and :port", test_reject_user_and_port },
        { "query parameters", test_reject_query },
        { "fragments and percent-escapes", test_reject_fragment_and_escapes },
        { "error pointer may be NULL", test_error_may_be_null },
        { "export_spec_format", test_format },
        { "export_spec_url", test_url },
        { "round trips", test_round_trip },
        { "export_spec_equal", test_equal },
        { NULL, NULL },
    };
    return test_run_suite("export_spec", cases);
}
