/*
 * The ferry binary as a user meets it: help and version, usage errors (exit 2, a one-line
 * error and the usage on stderr, nothing on stdout), the exit codes of commands that are
 * not implemented yet, `ferry config show|check`, what a bad configuration does to every
 * command, and the forms options may take.
 *
 * Every run gets FERRY_CONF (a file made here) and FERRY_NOVA_CONF (a missing path), so
 * the machine's /etc does not matter.
 */
#include "test_support.h"
#include "version.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT_EMPTY(s) ASSERT_STR((s), "")

#define ASSERT_STATUS(res, expected)                                                                  \
    do {                                                                                              \
        if ((res).status != (expected))                                                               \
            fprintf(stderr, "\n    %s:%d: exit %d, expected %d; stdout <<%s>> stderr <<%s>>\n",        \
                    __FILE__, __LINE__, (res).status, (expected), (res).out ? (res).out : "",         \
                    (res).err ? (res).err : "");                                                      \
        CU_ASSERT_EQUAL((res).status, (expected));                                                    \
    } while (0)

static char *tmpdir;
static char *empty_conf; /* defaults */
static char *good_conf;
static char *bad_conf;
static char *missing_nova;

static const char good_text[] = "# for test_cli\n"          /* 1 */
                                "[storage]\n"               /* 2 */
                                "mount_point = /srv/cli\n"  /* 3 */
                                "\n"                        /* 4 */
                                "[fsck]\n"                  /* 5 */
                                "jobs = 3\n"                /* 6 */
                                "[migrate]\n"               /* 7 */
                                "disk_overcommit = on\n";   /* 8 */

static const char bad_text[] = "[storage]\n"   /* 1 */
                               "\n"            /* 2 */
                               "driver = nfs\n"; /* 3 */

/* Runs ferry with the NULL-terminated arguments. */
static struct command_result run(const char *arg, ...)
{
    const char *argv[64];
    int n = 0;
    va_list ap;
    argv[n++] = test_ferry_bin();
    va_start(ap, arg);
    for (const char *a = arg; a && n < 63; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    struct command_result res;
    int r = command_run(&res, argv, NULL);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    return res;
}

/* Runs ferry with FERRY_CONF set to path for this one run. */
static struct command_result run_conf(const char *path, const char *const *args)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = test_ferry_bin();
    for (; *args && n < 63; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    setenv("FERRY_CONF", path, 1);
    struct command_result res;
    int r = command_run(&res, argv, NULL);
    setenv("FERRY_CONF", empty_conf, 1);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    return res;
}

#define RUN_CONF(path, ...) run_conf((path), (const char *const[]){ __VA_ARGS__, NULL })

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* A usage error: exit 2, nothing on stdout, "error:" once on stderr, then the usage. */
static void assert_usage_error(const struct command_result *res, const char *usage_of)
{
    ASSERT_STATUS(*res, 2);
    ASSERT_EMPTY(res->out);
    CU_ASSERT_EQUAL(count(res->err, "error:"), 1);
    char *usage = test_strf("\nusage: ferry%s%s", *usage_of ? " " : "", usage_of);
    ASSERT_CONTAINS(res->err, usage);
    free(usage);
    char *try = test_strf("Try 'ferry%s%s --help' for more.\n", *usage_of ? " " : "", usage_of);
    ASSERT_CONTAINS(res->err, try);
    free(try);
}

/* --- help and version ---------------------------------------------------------------- */

static void test_top_help(void)
{
    struct command_result res = run("--help", NULL);
    ASSERT_STATUS(res, 0);
    ASSERT_EMPTY(res.err);
    ASSERT_CONTAINS(res.out, "NAME\n    ferry - ");
    ASSERT_CONTAINS(res.out, "\nSYNOPSIS\n    ferry [--config FILE]");
    ASSERT_CONTAINS(res.out, "\nCOMMANDS\n");
    static const char *const commands[] = { "storage", "migrate", "copy", "fsck", "config" };
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        char *line = test_strf("\n    %-10s ", commands[i]);
        ASSERT_CONTAINS(res.out, line);
        free(line);
    }
    ASSERT_CONTAINS(res.out, "\nOPTIONS\n");
    ASSERT_CONTAINS(res.out, "-c, --config FILE");
    ASSERT_CONTAINS(res.out, "--version");
    ASSERT_CONTAINS(res.out, "-h, --help");
    ASSERT_CONTAINS(res.out, "\nEXIT STATUS\n    0  success\n");
    ASSERT_CONTAINS(res.out, "2  bad command line or bad configuration");

    /* "ferry help" and "ferry -h" say the same. */
    struct command_result help = run("help", NULL);
    ASSERT_STATUS(help, 0);
    ASSERT_STR(help.out, res.out);
    command_result_free(&help);
    struct command_result h = run("-h", NULL);
    ASSERT_STATUS(h, 0);
    ASSERT_STR(h.out, res.out);
    command_result_free(&h);
    command_result_free(&res);
}

static void test_version(void)
{
    struct command_result res = run("--version", NULL);
    ASSERT_STATUS(res, 0);
    ASSERT_STR(res.out, "ferry " FERRY_VERSION "\n");
    ASSERT_EMPTY(res.err);
    CU_ASSERT(strlen(FERRY_VERSION) > 0);
    command_result_free(&res);
}

static void test_help_command(void)
{
    static const char *const cases[][3] = {
        { "storage", NULL, "storage" },
        { "storage", "validate", "storage validate" },
        { "migrate", NULL, "migrate" },
        { "migrate", "check", "migrate check" },
        { "fsck", NULL, "fsck" },
        { "config", "show", "config show" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *a = cases[i][0], *b = cases[i][1];
        struct command_result help = b ? run("help", a, b, NULL) : run("help", a, NULL);
        struct command_result opt = b ? run(a, b, "--help", NULL) : run(a, "--help", NULL);
        ASSERT_STATUS(help, 0);
        ASSERT_STATUS(opt, 0);
        ASSERT_STR(help.out, opt.out);
        ASSERT_EMPTY(help.err);
        char *name = test_strf("NAME\n    ferry %s - ", cases[i][2]);
        ASSERT_CONTAINS(help.out, name);
        free(name);
        command_result_free(&help);
        command_result_free(&opt);
    }
    /* help for something that does not exist is a usage error */
    struct command_result res = run("help", "bogus", NULL);
    assert_usage_error(&res, "");
    ASSERT_CONTAINS(res.err, "unknown command 'bogus'");
    command_result_free(&res);
}

static void test_subcommand_help(void)
{
    static const char *const cases[][2] = {
        { "storage", "mount" },   { "storage", "umount" }, { "storage", "init" },   { "storage", "validate" },
        { "storage", "watch" },   { "storage", "status" }, { "storage", "fence" },  { "storage", "unfence" },
        { "migrate", NULL },      { "migrate", "check" },  { "copy", NULL },        { "fsck", NULL },
        { "config", "show" },     { "config", "check" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *a = cases[i][0], *b = cases[i][1];
        char *name = b ? test_strf("%s %s", a, b) : test_strf("%s", a);
        /* Help works even when the configuration is bad: nothing is loaded for it. */
        struct command_result res =
            b ? RUN_CONF(bad_conf, a, b, "--help") : RUN_CONF(bad_conf, a, "--help");
        ASSERT_STATUS(res, 0);
        ASSERT_EMPTY(res.err);
        char *s = test_strf("NAME\n    ferry %s - ", name);
        ASSERT_CONTAINS(res.out, s);
        free(s);
        s = test_strf("\nSYNOPSIS\n    ferry %s", name);
        ASSERT_CONTAINS(res.out, s);
        free(s);
        ASSERT_CONTAINS(res.out, "\nOPTIONS\n");
        ASSERT_CONTAINS(res.out, "    -h, --help\n");
        ASSERT_CONTAINS(res.out, "\nEXIT STATUS\n");
        command_result_free(&res);

        /* -h is the same */
        struct command_result h = b ? run(a, b, "-h", NULL) : run(a, "-h", NULL);
        ASSERT_STATUS(h, 0);
        s = test_strf("NAME\n    ferry %s - ", name);
        ASSERT_CONTAINS(h.out, s);
        free(s);
        command_result_free(&h);
        free(name);
    }
}

/* --- usage errors -------------------------------------------------------------------- */

static void test_no_command(void)
{
    struct command_result res = run(NULL);
    assert_usage_error(&res, "");
    ASSERT_CONTAINS(res.err, "ferry: error: which command?");
    ASSERT_CONTAINS(res.err, "usage: ");
    command_result_free(&res);

    res = run("-v", NULL);
    assert_usage_error(&res, "");
    command_result_free(&res);
}

static void test_unknown_command(void)
{
    struct command_result res = run("frobnicate", "--now", NULL);
    assert_usage_error(&res, "");
    /* The first line is the one error, naming the command; the usage follows. */
    CU_ASSERT_NSTRING_EQUAL(res.err, "ferry: error: unknown command 'frobnicate'\nusage: ferry ",
                            strlen("ferry: error: unknown command 'frobnicate'\nusage: ferry "));
    command_result_free(&res);

    res = run("storage", "frobnicate", NULL);
    assert_usage_error(&res, "storage");
    ASSERT_CONTAINS(res.err, "error: unknown command 'storage frobnicate'\n");
    command_result_free(&res);

    res = run("config", "edit", NULL);
    assert_usage_error(&res, "config");
    ASSERT_CONTAINS(res.err, "unknown command 'config edit'");
    command_result_free(&res);
}

static void test_unknown_option(void)
{
    struct command_result res = run("--bogus", "storage", NULL);
    assert_usage_error(&res, "");
    ASSERT_CONTAINS(res.err, "ferry: error: unknown option '--bogus'\n");
    command_result_free(&res);

    res = run("storage", "validate", "--bogus", NULL);
    assert_usage_error(&res, "storage validate");
    ASSERT_CONTAINS(res.err, "ferry storage validate: error: unknown option '--bogus'\n");
    command_result_free(&res);

    res = run("storage", "--bogus", NULL);
    assert_usage_error(&res, "storage");
    ASSERT_CONTAINS(res.err, "'--bogus'");
    command_result_free(&res);

    res = run("fsck", "-z", NULL);
    assert_usage_error(&res, "fsck");
    ASSERT_CONTAINS(res.err, "unknown option '-z'");
    command_result_free(&res);

    /* An option of another command is unknown here. */
    res = run("copy", "a", "b", "--at", "/x", NULL);
    assert_usage_error(&res, "copy");
    ASSERT_CONTAINS(res.err, "unknown option '--at'");
    command_result_free(&res);
}

static void test_missing_value(void)
{
    struct command_result res = run("storage", "mount", "--at", NULL);
    assert_usage_error(&res, "storage mount");
    ASSERT_CONTAINS(res.err, "option '--at' needs a value (DIR)");
    command_result_free(&res);

    res = run("--config", NULL);
    assert_usage_error(&res, "");
    ASSERT_CONTAINS(res.err, "'--config' needs a value");
    command_result_free(&res);

    res = run("storage", "mount", "-o", NULL);
    assert_usage_error(&res, "storage mount");
    ASSERT_CONTAINS(res.err, "option '-o' needs a value");
    command_result_free(&res);
}

static void test_bad_number(void)
{
    static const char *const bad[][2] = {
        { "--jobs", "x" }, { "--jobs", "-1" }, { "--jobs", "" }, { "--jobs", "4x" }, { "--jobs", "99999999999" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct command_result res = run("fsck", bad[i][0], bad[i][1], NULL);
        assert_usage_error(&res, "fsck");
        char *msg = test_strf("option '--jobs' wants a non-negative whole number, not '%s'", bad[i][1]);
        ASSERT_CONTAINS(res.err, msg);
        free(msg);
        command_result_free(&res);
    }
    struct command_result res = run("fsck", "--jobs=x", NULL);
    assert_usage_error(&res, "fsck");
    ASSERT_CONTAINS(res.err, "'--jobs'");
    command_result_free(&res);

    res = run("fsck", "-jx", NULL);
    assert_usage_error(&res, "fsck");
    ASSERT_CONTAINS(res.err, "option '-j' wants a non-negative whole number, not 'x'");
    command_result_free(&res);
}

static void test_group_without_command(void)
{
    static const char *const groups[] = { "storage", "config" };
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        struct command_result res = run(groups[i], NULL);
        assert_usage_error(&res, groups[i]);
        char *msg = test_strf("error: which command? ('ferry %s --help' lists them)", groups[i]);
        ASSERT_CONTAINS(res.err, msg);
        free(msg);
        command_result_free(&res);
    }
    /* migrate, copy: their arguments are required */
    struct command_result res = run("migrate", NULL);
    assert_usage_error(&res, "migrate");
    ASSERT_CONTAINS(res.err, "which guest? (DOMAIN)");
    command_result_free(&res);
    res = run("migrate", "g", NULL);
    assert_usage_error(&res, "migrate");
    ASSERT_CONTAINS(res.err, "where to? (--to HOST)");
    command_result_free(&res);
    res = run("copy", "a", NULL);
    assert_usage_error(&res, "copy");
    ASSERT_CONTAINS(res.err, "missing argument");
    command_result_free(&res);
    res = run("copy", "a", "b", "c", NULL);
    assert_usage_error(&res, "copy");
    ASSERT_CONTAINS(res.err, "unexpected argument 'c'");
    command_result_free(&res);
    res = run("config", "show", "extra", NULL);
    assert_usage_error(&res, "config show");
    ASSERT_CONTAINS(res.err, "unexpected argument 'extra'");
    command_result_free(&res);
}


/* --- config -------------------------------------------------------------------------- */

static void test_config_show(void)
{
    struct command_result res = RUN_CONF(good_conf, "config", "show");
    ASSERT_STATUS(res, 0);
    ASSERT_EMPTY(res.err);
    char *s = test_strf("# read: %s\n", good_conf);
    ASSERT_CONTAINS(res.out, s);
    free(s);
    ASSERT_CONTAINS(res.out, "# read: (no nova.conf)\n");
    ASSERT_CONTAINS(res.out, "\n[storage]\n");
    ASSERT_CONTAINS(res.out, "\nmount_point = /srv/cli ");
    s = test_strf("; %s:3\n", good_conf);
    ASSERT_CONTAINS(res.out, s);
    free(s);
    ASSERT_CONTAINS(res.out, "\njobs = 3 ");
    s = test_strf("; %s:6\n", good_conf);
    ASSERT_CONTAINS(res.out, s);
    free(s);
    ASSERT_CONTAINS(res.out, "\ndisk_overcommit = true ");
    ASSERT_CONTAINS(res.out, "\ndriver = auto ");
    ASSERT_CONTAINS(res.out, "; default\n");
    command_result_free(&res);

    /* --config FILE, -c FILE and --config=FILE beat $FERRY_CONF (here: the empty file). */
    static const char *const forms[] = { "--config", "-c", "--config=" };
    for (size_t i = 0; i < 3; i++) {
        char *joined = test_strf("--config=%s", good_conf);
        res = i == 2 ? run(joined, "config", "show", NULL) : run(forms[i], good_conf, "config", "show", NULL);
        free(joined);
        ASSERT_STATUS(res, 0);
        ASSERT_CONTAINS(res.out, "\nmount_point = /srv/cli ");
        s = test_strf("; %s:3\n", good_conf);
        ASSERT_CONTAINS(res.out, s);
        free(s);
        command_result_free(&res);
    }

    /* Defaults only: every source is "default". */
    res = run("config", "show", NULL);
    ASSERT_STATUS(res, 0);
    ASSERT_CONTAINS(res.out, "\nmount_point = /opt/stack/data/nova/instances ");
    ASSERT_CONTAINS(res.out, "\nuri_template = qemu+tcp://%s/system ");
    s = test_strf("%s:", empty_conf);
    ASSERT_NOT_CONTAINS(res.out, s);
    free(s);
    command_result_free(&res);
}

static struct json_object *jget(struct json_object *obj, const char *a, const char *b, const char *c)
{
    struct json_object *v = obj;
    const char *path[] = { a, b, c };
    for (int i = 0; i < 3 && path[i] && v; i++)
        if (!json_object_object_get_ex(v, path[i], &v))
            return NULL;
    return v;
}

static void test_config_show_json(void)
{
    struct command_result res = RUN_CONF(good_conf, "config", "show", "--json");
    ASSERT_STATUS(res, 0);
    ASSERT_EMPTY(res.err);
    struct json_object *root = json_tokener_parse(res.out);
    CU_ASSERT_PTR_NOT_NULL(root);
    if (root) {
        struct json_object *v = jget(root, "storage", "mount_point", "value");
        CU_ASSERT(json_object_is_type(v, json_type_string));
        ASSERT_STR(json_object_get_string(v), "/srv/cli");
        char *src = test_strf("%s:3", good_conf);
        ASSERT_STR(json_object_get_string(jget(root, "storage", "mount_point", "source")), src);
        free(src);
        v = jget(root, "fsck", "jobs", "value");
        CU_ASSERT(json_object_is_type(v, json_type_int));
        CU_ASSERT_EQUAL(json_object_get_int64(v), 3);
        v = jget(root, "migrate", "disk_overcommit", "value");
        CU_ASSERT(json_object_is_type(v, json_type_boolean));
        CU_ASSERT_TRUE(json_object_get_boolean(v));
        ASSERT_STR(json_object_get_string(jget(root, "storage", "driver", "source")), "default");
        CU_ASSERT_EQUAL(json_object_get_int64(jget(root, "lease", "fence_after", "ms")), 20000);
        ASSERT_STR(json_object_get_string(jget(root, "files", "ferry_conf", NULL)), good_conf);
        struct json_object *files = jget(root, "files", NULL, NULL);
        CU_ASSERT_TRUE(json_object_object_get_ex(files, "nova_conf", &v));
        CU_ASSERT_PTR_NULL(v);
        json_object_put(root);
    }
    command_result_free(&res);
}

static void test_bad_config(void)
{
    char *where = test_strf("%s:3", bad_conf);

    struct command_result res = RUN_CONF(bad_conf, "config", "show");
    ASSERT_STATUS(res, 2);
    ASSERT_EMPTY(res.out);
    ASSERT_CONTAINS(res.err, "ferry config show: error: ");
    ASSERT_CONTAINS(res.err, where);
    ASSERT_CONTAINS(res.err, "driver");
    ASSERT_CONTAINS(res.err, "auto|kernel|fuse");
    CU_ASSERT_EQUAL(count(res.err, "\n"), 1);
    command_result_free(&res);

    res = RUN_CONF(bad_conf, "config", "show", "--json");
    ASSERT_STATUS(res, 2);
    ASSERT_EMPTY(res.out);
    ASSERT_CONTAINS(res.err, where);
    command_result_free(&res);

    res = RUN_CONF(bad_conf, "config", "check");
    ASSERT_STATUS(res, 1);
    ASSERT_EMPTY(res.out);
    ASSERT_CONTAINS(res.err, where);
    command_result_free(&res);

    res = RUN_CONF(good_conf, "config", "check");
    ASSERT_STATUS(res, 0);
    ASSERT_EMPTY(res.err);
    ASSERT_CONTAINS(res.out, "configuration is good");
    ASSERT_CONTAINS(res.out, good_conf);
    command_result_free(&res);

    /* Nothing runs on a bad configuration, and no command claims to be unimplemented. */
    static const struct {
        const char *args[5];
        int status;
    } cases[] = {
        { { "storage", "validate", NULL }, 3 },
        { { "fsck", "-n", NULL }, 8 },
        { { "copy", "a", "b", NULL }, 2 },
        { { "migrate", "d", "--to", "h", NULL }, 2 },
        { { "storage", "mount", NULL }, 2 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *argv[8];
        int n = 0;
        argv[n++] = test_ferry_bin();
        for (const char *const *a = cases[i].args; *a; a++)
            argv[n++] = *a;
        argv[n] = NULL;
        setenv("FERRY_CONF", bad_conf, 1);
        struct command_result r;
        int rr = command_run(&r, argv, NULL);
        setenv("FERRY_CONF", empty_conf, 1);
        CU_ASSERT_EQUAL_FATAL(rr, 0);
        ASSERT_STATUS(r, cases[i].status);
        ASSERT_EMPTY(r.out);
        ASSERT_CONTAINS(r.err, where);
        ASSERT_NOT_CONTAINS(r.err, "not implemented");
        command_result_free(&r);
    }

    /* The same through --config. */
    res = run("--config", bad_conf, "storage", "validate", NULL);
    ASSERT_STATUS(res, 3);
    ASSERT_CONTAINS(res.err, where);
    ASSERT_NOT_CONTAINS(res.err, "not implemented");
    command_result_free(&res);

    /* --help never loads the configuration. */
    res = RUN_CONF(bad_conf, "storage", "validate", "--help");
    ASSERT_STATUS(res, 0);
    ASSERT_EMPTY(res.err);
    ASSERT_CONTAINS(res.out, "NAME\n    ferry storage validate - ");
    command_result_free(&res);
    res = RUN_CONF(bad_conf, "--help");
    ASSERT_STATUS(res, 0);
    command_result_free(&res);

    free(where);
}

static void test_missing_config(void)
{
    const char *path = "/nonexistent/ferry-test/ferry.conf";
    struct command_result res = run("--config", path, "config", "show", NULL);
    ASSERT_STATUS(res, 2);
    ASSERT_EMPTY(res.out);
    ASSERT_CONTAINS(res.err, "error: cannot read configuration /nonexistent/ferry-test/ferry.conf: ");
    ASSERT_CONTAINS(res.err, "No such file or directory");
    command_result_free(&res);

    res = RUN_CONF(path, "config", "check");
    ASSERT_STATUS(res, 1);
    ASSERT_CONTAINS(res.err, path);
    command_result_free(&res);

    res = RUN_CONF(path, "storage", "validate");
    ASSERT_STATUS(res, 3);
    ASSERT_CONTAINS(res.err, path);
    ASSERT_NOT_CONTAINS(res.err, "not implemented");
    command_result_free(&res);
}

/* --- option forms -------------------------------------------------------------------- */

/* Exit code of ferry with these arguments (the default configuration). */
static int status_of(const char *const *args, char **err)
{
    const char *argv[16];
    int n = 0;
    argv[n++] = test_ferry_bin();
    for (; *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    struct command_result res;
    if (command_run(&res, argv, NULL) != 0)
        return -1;
    int status = res.status;
    if (err)
        *err = strdup(res.err);
    command_result_free(&res);
    return status;
}

#define STATUS(...) status_of((const char *const[]){ __VA_ARGS__, NULL }, NULL)

#define ASSERT_EXIT(expected, ...)                                                                    \
    do {                                                                                              \
        char *err_ = NULL;                                                                            \
        int st_ = status_of((const char *const[]){ __VA_ARGS__, NULL }, &err_);                       \
        if (st_ != (expected))                                                                        \
            fprintf(stderr, "\n    %s:%d: exit %d, expected %d: <<%s>>\n", __FILE__, __LINE__, st_,    \
                    (expected), err_ ? err_ : "");                                                    \
        CU_ASSERT_EQUAL(st_, (expected));                                                             \
        free(err_);                                                                                   \
    } while (0)

static void test_option_forms(void)
{
    /* --at=DIR and --at DIR: both get past parsing, to "no such directory" (validate's
     * "could not run", 3; mount's and umount's failure, 1). The directory never exists:
     * these commands must not be pointed at anything real. */
    ASSERT_EXIT(3, "storage", "validate", "--at=/nonexistent/ferry-test");
    ASSERT_EXIT(3, "storage", "validate", "--at", "/nonexistent/ferry-test");
    ASSERT_EXIT(3, "storage", "validate", "--at", "/nonexistent/ferry-test", "--json");
    ASSERT_EXIT(1, "storage", "umount", "--at=/nonexistent/ferry-test");
    ASSERT_EXIT(1, "storage", "mount", "--export", "s:/x", "--at", "/nonexistent/ferry-test", "-o", "noatime",
                "--force");
    /* no export given, none configured: a usage/configuration error */
    ASSERT_EXIT(2, "storage", "mount", "-onoatime");
    /* the value of --at is not also a positional argument */
    ASSERT_EXIT(2, "storage", "validate", "--at", "/nonexistent/ferry-test", "extra");

    /* A flag takes no value. */
    {
        char *err = NULL;
        CU_ASSERT_EQUAL(status_of((const char *const[]){ "config", "show", "--json=x", NULL }, &err), 2);
        ASSERT_CONTAINS(err, "option '--json' takes no value");
        free(err);
    }
    ASSERT_EXIT(2, "storage", "validate", "--json=yes");

    /* Short flags cluster. */
    /* -n and -y parse as a cluster, and then contradict each other (a usage error). */
    ASSERT_EXIT(2, "fsck", "-ny");
    ASSERT_EXIT(2, "fsck", "-n", "-y");
    ASSERT_EXIT(2, "fsck", "-nyj4");
    ASSERT_EXIT(8, "fsck", "-nj4");
    ASSERT_EXIT(8, "fsck", "-j", "4");
    ASSERT_EXIT(8, "fsck", "--jobs=4", "--deep", "--no", "--json");
    ASSERT_EXIT(2, "fsck", "-nz");
    ASSERT_EXIT(2, "fsck", "-nyx");

    /* -- ends the options: what follows is positional. */
    ASSERT_EXIT(1, "copy", "--", "--verify", "b");
    ASSERT_EXIT(2, "copy", "--verify", "b");
    {
        char *err = NULL;
        CU_ASSERT_EQUAL(status_of((const char *const[]){ "fsck", "--", "-n", NULL }, &err), 2);
        ASSERT_CONTAINS(err, "unexpected argument '-n'");
        free(err);
    }
    ASSERT_EXIT(8, "fsck", "-n", "--");
    ASSERT_EXIT(3, "--", "storage", "validate");
    ASSERT_EXIT(3, "storage", "--", "validate");
    ASSERT_EXIT(1, "migrate", "--to", "h", "--", "-dom");

    /* Options may follow positional arguments. */
    ASSERT_EXIT(1, "migrate", "d", "--to", "h", "--mode", "shared", "--dry-run");
    ASSERT_EXIT(1, "copy", "a", "--verify", "b", "--bwlimit=10M");

    /* Global options go before the command. */
    ASSERT_EXIT(3, "-v", "storage", "validate");
    ASSERT_EXIT(3, "--debug", "storage", "validate");
    ASSERT_EXIT(2, "storage", "validate", "-v");
    CU_ASSERT_EQUAL(STATUS("--version", "storage"), 0);
}

int main(void)
{
    tmpdir = test_tmpdir_create("cli");
    if (!tmpdir) {
        perror("mkdtemp");
        return 2;
    }
    empty_conf = test_strf("%s/empty.conf", tmpdir);
    good_conf = test_strf("%s/good.conf", tmpdir);
    bad_conf = test_strf("%s/bad.conf", tmpdir);
    missing_nova = test_strf("%s/no-nova.conf", tmpdir);
    if (test_write_file(empty_conf, "") || test_write_file(good_conf, good_text) ||
        test_write_file(bad_conf, bad_text)) {
        perror("writing test configuration");
        return 2;
    }
    setenv("FERRY_CONF", empty_conf, 1);
    setenv("FERRY_NOVA_CONF", missing_nova, 1);

    static const struct test_case cases[] = {
        { "ferry --help", test_top_help },
        { "ferry --version", test_version },
        { "ferry help COMMAND", test_help_command },
        { "COMMAND --help", test_subcommand_help },
        { "no command", test_no_command },
        { "unknown command", test_unknown_command },
        { "unknown option", test_unknown_option },
        { "missing option value", test_missing_value },
        { "bad number", test_bad_number },
        { "group without command", test_group_without_command },
        { "config show", test_config_show },
        { "config show --json", test_config_show_json },
        { "bad configuration", test_bad_config },
        { "missing configuration", test_missing_config },
        { "option forms", test_option_forms },
        { NULL, NULL },
    };
    int r = test_run_suite("cli", cases);

    free(empty_conf);
    free(good_conf);
    free(bad_conf);
    free(missing_nova);
    test_tmpdir_remove(tmpdir);
    return r;
}
