/*
 * scripts/prepare-host against temporary roots: each case builds a fresh --root holding
 * copies of this machine's Debian 12 /etc/libvirt/libvirtd.conf and /etc/default/libvirtd
 * (a faithful excerpt is used where they are not installed), a nova.conf with other
 * sections and comments, and an /etc/hosts with localhost lines; it runs the script and
 * compares whole files with what they must contain, line for line.
 */
#include "test_support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- every allocation of a case is kept here and freed at its end (LeakSanitizer) ---- */

static void *kept[4096];
static size_t n_kept;

static void *keep(void *p)
{
    if (p && n_kept < sizeof(kept) / sizeof(kept[0]))
        kept[n_kept++] = p;
    else if (p)
        fprintf(stderr, "test_prepare_host: too many allocations kept\n");
    return p;
}

static void free_kept(void)
{
    while (n_kept > 0)
        free(kept[--n_kept]);
}

#define S(...) ((char *)keep(test_strf(__VA_ARGS__)))

/* ---- fixtures ---------------------------------------------------------------------- */

/* Used only where libvirt-daemon-system is not installed: the lines of Debian 12's files
 * that the script and these tests care about, in the same order and spelling. */
static const char LIBVIRTD_CONF_EXCERPT[] =
    "# Master libvirt daemon configuration file\n"
    "#\n"
    "#################################################################\n"
    "#\n"
    "# Network connectivity controls\n"
    "#\n"
    "\n"
    "# Flag listening for secure TLS connections on the public TCP/IP port.\n"
    "#\n"
    "# To enable it be sure to check the libvirtd service's own configuration file\n"
    "#listen_tls = 0\n"
    "\n"
    "# Listen for unencrypted TCP connections on the public TCP/IP port.\n"
    "#listen_tcp = 1\n"
    "\n"
    "# Override the default configuration which binds to all network\n"
    "# interfaces.\n"
    "#listen_addr = \"192.168.0.1\"\n"
    "\n"
    "# Set an authentication scheme for UNIX read-only sockets\n"
    "#auth_unix_ro = \"polkit\"\n"
    "\n"
    "# Set an authentication scheme for UNIX read-write sockets\n"
    "#auth_unix_rw = \"polkit\"\n"
    "\n"
    "# Change the authentication scheme for TCP sockets.\n"
    "#auth_tcp = \"sasl\"\n"
    "\n"
    "# Provide the UUID of the host here in case the command\n"
    "#host_uuid = \"00000000-0000-0000-0000-000000000000\"\n"
    "#host_uuid_source = \"smbios\"\n";

static const char DEFAULT_LIBVIRTD_EXCERPT[] =
    "# Customizations for the libvirtd.service systemd unit\n"
    "\n"
    "#LIBVIRTD_ARGS=\"--timeout 120\"\n"
    "\n"
    "# If systemd socket activation is disabled, then the following\n"
    "# can be used to listen on TCP/TLS sockets\n"
    "#LIBVIRTD_ARGS=\"--listen\"\n"
    "\n"
    "#start_libvirtd=no\n";

static const char NOVA_CONF[] =
    "[DEFAULT]\n"
    "# Managed by hand on every compute node; see the migration runbook.\n"
    "my_ip = 10.0.0.11\n"
    "transport_url = rabbit://openstack:RABBIT_PASS@controller\n"
    "instances_path = /var/lib/nova/instances\n"
    "\n"
    "[api]\n"
    "auth_strategy = keystone\n"
    "\n"
    "[libvirt]\n"
    "# emulation only until the nested-virt hosts arrive\n"
    "virt_type = qemu\n"
    "images_type = default\n"
    "\n"
    "# Image service\n"
    "[glance]\n"
    "api_servers = http://controller:9292\n"
    "; cpu_mode = host-passthrough (not in this section, must stay as is)\n";

/* NOVA_CONF after a run with the defaults. */
static const char NOVA_CONF_APPLIED[] =
    "[DEFAULT]\n"
    "# Managed by hand on every compute node; see the migration runbook.\n"
    "my_ip = 10.0.0.11\n"
    "transport_url = rabbit://openstack:RABBIT_PASS@controller\n"
    "instances_path = /var/lib/nova/instances\n"
    "config_drive_format = vfat\n"
    "\n"
    "[api]\n"
    "auth_strategy = keystone\n"
    "\n"
    "[libvirt]\n"
    "# emulation only until the nested-virt hosts arrive\n"
    "virt_type = kvm\n"
    "images_type = default\n"
    "live_migration_uri = qemu+tcp://%s/system\n"
    "cpu_mode = host-model\n"
    "\n"
    "# Image service\n"
    "[glance]\n"
    "api_servers = http://controller:9292\n"
    "; cpu_mode = host-passthrough (not in this section, must stay as is)\n";

static const char HOSTS[] =
    "127.0.0.1\tlocalhost\n"
    "127.0.1.1\tcompute1.example.com\tcompute1\n"
    "\n"
    "# The following lines are desirable for IPv6 capable hosts\n"
    "::1     localhost ip6-localhost ip6-loopback\n"
    "ff02::1 ip6-allnodes\n"
    "ff02::2 ip6-allrouters\n";

static const char *orig_libvirtd_conf;
static const char *orig_default_libvirtd;

static const char *real_or_excerpt(const char *path, const char *excerpt)
{
    char *s = test_read_file(path); /* kept for the whole program */
    if (s)
        return s;
    fprintf(stderr, "test_prepare_host: %s not installed, using the Debian 12 excerpt\n", path);
    return excerpt;
}

static char *rpath(const char *root, const char *rel)
{
    return S("%s%s", root, rel);
}

static char *read_rel(const char *root, const char *rel)
{
    return keep(test_read_file(rpath(root, rel)));
}

static int write_rel(const char *root, const char *rel, const char *content)
{
    return test_write_file(rpath(root, rel), content);
}

static int shell_ok(const char *cmd)
{
    struct command_result r;
    if (command_run_shell(&r, "%s", cmd) != 0)
        return 0;
    int ok = r.status == 0;
    if (!ok)
        fprintf(stderr, "`%s` failed (%d): %s%s\n", cmd, r.status, r.out, r.err);
    command_result_free(&r);
    return ok;
}

/* A fresh root with the four files. NULL (and a CUnit failure) if it cannot be made. */
static char *make_root(const char *tag)
{
    char *root = test_tmpdir_create(tag);
    if (!root) {
        CU_FAIL("cannot create a temporary root");
        return NULL;
    }
    if (!orig_libvirtd_conf)
        orig_libvirtd_conf = real_or_excerpt("/etc/libvirt/libvirtd.conf", LIBVIRTD_CONF_EXCERPT);
    if (!orig_default_libvirtd)
        orig_default_libvirtd = real_or_excerpt("/etc/default/libvirtd", DEFAULT_LIBVIRTD_EXCERPT);
    int ok = shell_ok(S("mkdir -p '%s/etc/libvirt' '%s/etc/default' '%s/etc/nova'", root, root, root)) &&
             write_rel(root, "/etc/libvirt/libvirtd.conf", orig_libvirtd_conf) == 0 &&
             write_rel(root, "/etc/default/libvirtd", orig_default_libvirtd) == 0 &&
             write_rel(root, "/etc/nova/nova.conf", NOVA_CONF) == 0 && write_rel(root, "/etc/hosts", HOSTS) == 0;
    if (!ok) {
        CU_FAIL("cannot populate the temporary root");
        test_tmpdir_remove(root);
        return NULL;
    }
    return root;
}

/* ---- running the script ------------------------------------------------------------ */

struct run {
    int status;
    const char *out, *err;
};

/* prepare-host --root ROOT ARGS... (NULL-terminated); ROOT NULL: no --root. */
static struct run run_argv(const char *root, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = S("%s/scripts/prepare-host", test_source_dir());
    if (root) {
        argv[n++] = "--root";
        argv[n++] = root;
    }
    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;

    struct run r = { -1, "", "" };
    struct command_result cr;
    if (command_run(&cr, argv, NULL) != 0) {
        CU_FAIL("cannot run scripts/prepare-host");
        return r;
    }
    r.status = cr.status;
    r.out = keep(cr.out);
    r.err = keep(cr.err);
    return r;
}

/* prepare-host --root ROOT ARG... */
static struct run run_v(const char *root, ...)
{
    const char *args[24];
    size_t n = 0;
    va_list ap;
    va_start(ap, root);
    for (const char *a; n < 23 && (a = va_arg(ap, const char *)) != NULL;)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return run_argv(root, args);
}

#define RUN(...) run_v(__VA_ARGS__, (const char *)NULL)

static void show_run(const char *what, struct run r)
{
    fprintf(stderr, "\n--- %s: exit %d\n--- stdout:\n%s--- stderr:\n%s---\n", what, r.status, r.out, r.err);
}

/* ---- text helpers, each printing what it saw when it is about to fail -------------- */

static int count_lines(const char *text, const char *line)
{
    int n = 0;
    size_t len = strlen(line);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == len && memcmp(p, line, len) == 0)
            n++;
        p = nl ? nl + 1 : p + l;
    }
    return n;
}

/* 1-based number of the first line equal to LINE, 0 if none. */
static int line_no(const char *text, const char *line)
{
    int no = 0;
    size_t len = strlen(line);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        no++;
        if (l == len && memcmp(p, line, len) == 0)
            return no;
        p = nl ? nl + 1 : p + l;
    }
    return 0;
}

static int n_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; p && *p; p++)
        if (*p == '\n')
            n++;
    return n;
}

/* TEXT with NEW inserted as a line after the first line equal to MARKER; NULL if none. */
static char *insert_after(const char *text, const char *marker, const char *new_line)
{
    if (!text)
        return NULL;
    size_t len = strlen(marker);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == len && memcmp(p, marker, len) == 0 && nl)
            return S("%.*s%s\n%s", (int)(nl + 1 - text), text, new_line, nl + 1);
        p = nl ? nl + 1 : p + l;
    }
    fprintf(stderr, "fixture has no line '%s'\n", marker);
    return NULL;
}

/* TEXT with the first line equal to OLD replaced by NEW; NULL if none. */
static char *replace_line(const char *text, const char *old, const char *new_line)
{
    if (!text)
        return NULL;
    size_t len = strlen(old);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == len && memcmp(p, old, len) == 0)
            return S("%.*s%s%s", (int)(p - text), text, new_line, nl ? nl : "");
        p = nl ? nl + 1 : p + l;
    }
    fprintf(stderr, "fixture has no line '%s'\n", old);
    return NULL;
}

static int same_text(const char *what, const char *actual, const char *expected)
{
    if (actual && expected && strcmp(actual, expected) == 0)
        return 1;
    fprintf(stderr, "\n%s differs from what is expected", what);
    if (!actual || !expected) {
        fprintf(stderr, " (%s missing)\n", actual ? "expected text" : "file");
        return 0;
    }
    int no = 1;
    const char *a = actual, *e = expected;
    while (*a && *e) {
        const char *an = strchr(a, '\n'), *en = strchr(e, '\n');
        size_t al = an ? (size_t)(an - a) : strlen(a), el = en ? (size_t)(en - e) : strlen(e);
        if (al != el || memcmp(a, e, al) != 0 || !an != !en)
            break;
        a = an + 1;
        e = en + 1;
        no++;
    }
    fprintf(stderr, ", first at line %d:\n  got:      '%.*s'\n  expected: '%.*s'\n", no, (int)strcspn(a, "\n"), a,
            (int)strcspn(e, "\n"), e);
    return 0;
}

static int has(const char *what, const char *text, const char *needle)
{
    if (text && strstr(text, needle))
        return 1;
    fprintf(stderr, "\n%s lacks '%s'; it is:\n%s\n", what, needle, text ? text : "(null)");
    return 0;
}

static int lacks(const char *what, const char *text, const char *needle)
{
    if (!text || !strstr(text, needle))
        return 1;
    fprintf(stderr, "\n%s has '%s' but must not; it is:\n%s\n", what, needle, text);
    return 0;
}

/* Every path under ROOT with its type, mode, link target and contents' checksum. */
static char *snapshot(const char *root)
{
    struct command_result r;
    if (command_run_shell(&r,
                          "cd '%s' && find . -printf '%%y %%m %%p -> %%l\\n' | LC_ALL=C sort && "
                          "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r cksum",
                          root) != 0)
        return NULL;
    keep(r.err);
    return keep(r.out);
}

/* Names of ROOT/DIR entries that are backups of BASE, one a line, sorted. */
static char *backups(const char *root, const char *dir, const char *base)
{
    struct command_result r;
    if (command_run_shell(&r, "cd '%s%s' && ls -A | LC_ALL=C sort | grep -E '^%s\\.ferry-backup\\.[0-9]{8}T[0-9]{6}(\\.[0-9]+)?$' || true",
                          root, dir, base) != 0)
        return NULL;
    keep(r.err);
    return keep(r.out);
}

/* The expected libvirtd.conf after a default run: each active line right after its
 * commented-out default, everything else as it was. */
static char *libvirtd_conf_applied(const char *orig)
{
    char *s = insert_after(orig, "#listen_tls = 0", "listen_tls = 0");
    s = insert_after(s, "#listen_tcp = 1", "listen_tcp = 1");
    s = insert_after(s, "#auth_unix_ro = \"polkit\"", "auth_unix_ro = \"none\"");
    s = insert_after(s, "#auth_unix_rw = \"polkit\"", "auth_unix_rw = \"none\"");
    return insert_after(s, "#auth_tcp = \"sasl\"", "auth_tcp = \"none\"");
}

static void check_backup(const char *root, const char *dir, const char *base, const char *orig)
{
    char *b = backups(root, dir, base);
    CU_ASSERT(b && n_lines(b) == 1);
    if (b && n_lines(b) == 1) {
        b[strcspn(b, "\n")] = 0;
        CU_ASSERT(same_text(S("backup %s/%s", dir, b), read_rel(root, S("%s/%s", dir, b)), orig));
    } else {
        fprintf(stderr, "\nexpected one backup of %s/%s, found:\n%s\n", dir, base, b ? b : "(null)");
    }
}

/* ---- cases ------------------------------------------------------------------------- */

static void test_fresh_root_applies(void)
{
    char *root = make_root("ph-fresh");
    if (!root)
        return;
    struct run r = RUN(root);
    if (r.status != 0)
        show_run("first run", r);
    CU_ASSERT_EQUAL(r.status, 0);

    CU_ASSERT(same_text("libvirtd.conf", read_rel(root, "/etc/libvirt/libvirtd.conf"),
                        libvirtd_conf_applied(orig_libvirtd_conf)));
    const char *conf = read_rel(root, "/etc/libvirt/libvirtd.conf");
    CU_ASSERT_EQUAL(count_lines(conf, "listen_tcp = 1"), 1);
    CU_ASSERT_EQUAL(count_lines(conf, "#listen_tcp = 1"), 1); /* the commented default stays */
    CU_ASSERT_EQUAL(count_lines(conf, "listen_tls = 0"), 1);
    CU_ASSERT_EQUAL(count_lines(conf, "auth_tcp = \"none\""), 1);
    CU_ASSERT_EQUAL(count_lines(conf, "listen_addr = \"192.168.0.1\""), 0);

    CU_ASSERT(same_text("/etc/default/libvirtd", read_rel(root, "/etc/default/libvirtd"),
                        insert_after(orig_default_libvirtd, "#LIBVIRTD_ARGS=\"--listen\"", "LIBVIRTD_ARGS=\"--listen\"")));
    CU_ASSERT(same_text("nova.conf", read_rel(root, "/etc/nova/nova.conf"), NOVA_CONF_APPLIED));
    CU_ASSERT(same_text("/etc/hosts (no --peer)", read_rel(root, "/etc/hosts"), HOSTS));

    CU_ASSERT(has("stdout", r.out, "changed /etc/libvirt/libvirtd.conf: listen_tcp = 1 (was unset)\n"));
    CU_ASSERT(has("stdout", r.out, "changed /etc/default/libvirtd: LIBVIRTD_ARGS=\"--listen\" (was unset)\n"));
    CU_ASSERT(has("stdout", r.out, "changed /etc/nova/nova.conf: [libvirt] virt_type = kvm (was qemu)\n"));
    CU_ASSERT(has("stdout", r.out, "restart needed: libvirtd"));
    CU_ASSERT(has("stdout", r.out, "restart needed: nova-compute"));
    CU_ASSERT(lacks("stdout", r.out, "nothing to change"));
    CU_ASSERT(has("stderr", r.err, "prepare-host: warning: auth_tcp = \"none\""));

    check_backup(root, "/etc/libvirt", "libvirtd.conf", orig_libvirtd_conf);
    check_backup(root, "/etc/default", "libvirtd", orig_default_libvirtd);
    check_backup(root, "/etc/nova", "nova.conf", NOVA_CONF);
    char *hb = backups(root, "/etc", "hosts");
    CU_ASSERT(hb && *hb == 0); /* unchanged file: no backup */

    test_tmpdir_remove(root);
    free_kept();
}

static void test_second_run_changes_nothing(void)
{
    char *root = make_root("ph-again");
    if (!root)
        return;
    struct run r1 = RUN(root, "--peer", "compute2=10.0.0.12");
    CU_ASSERT_EQUAL(r1.status, 0);
    char *before = snapshot(root);
    struct run r2 = RUN(root, "--peer", "compute2=10.0.0.12");
    if (r2.status != 0 || strcmp(r2.out, "nothing to change\n") != 0)
        show_run("second run", r2);
    CU_ASSERT_EQUAL(r2.status, 0);
    CU_ASSERT_STRING_EQUAL(r2.out, "nothing to change\n");
    char *after = snapshot(root); /* same bytes, and no new backup file */
    CU_ASSERT(same_text("tree after the second run", after, before));
    char *b = backups(root, "/etc/libvirt", "libvirtd.conf");
    CU_ASSERT(b && n_lines(b) == 1);
    test_tmpdir_remove(root);
    free_kept();
}

static void test_check_changes_nothing(void)
{
    char *root = make_root("ph-check");
    if (!root)
        return;
    char *before = snapshot(root);
    struct run c1 = RUN(root, "--check", "--peer", "compute2=10.0.0.12");
    if (c1.status != 1)
        show_run("--check on a fresh root", c1);
    CU_ASSERT_EQUAL(c1.status, 1);
    CU_ASSERT(has("stdout", c1.out, "missing: /etc/libvirt/libvirtd.conf: listen_tcp = 1 (currently unset)\n"));
    CU_ASSERT(has("stdout", c1.out, "missing: /etc/libvirt/libvirtd.conf: auth_unix_rw = \"none\" (currently unset)\n"));
    CU_ASSERT(has("stdout", c1.out, "missing: /etc/default/libvirtd: LIBVIRTD_ARGS=\"--listen\" (currently unset)\n"));
    CU_ASSERT(has("stdout", c1.out, "missing: /etc/nova/nova.conf: [libvirt] virt_type = kvm (currently qemu)\n"));
    CU_ASSERT(has("stdout", c1.out, "missing: /etc/nova/nova.conf: [DEFAULT] config_drive_format = vfat (currently unset)\n"));
    CU_ASSERT(has("stdout", c1.out, "missing: /etc/hosts: 10.0.0.12 compute2 (currently unset)\n"));
    /* every line of the report is a "missing:" line, and there is no restart advice */
    CU_ASSERT_EQUAL(n_lines(c1.out), 11);
    for (const char *p = c1.out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        CU_ASSERT(strncmp(p, "missing: /etc/", 14) == 0);
    CU_ASSERT(same_text("tree after --check", snapshot(root), before));

    struct run a = RUN(root, "--peer", "compute2=10.0.0.12");
    CU_ASSERT_EQUAL(a.status, 0);
    char *applied = snapshot(root);
    struct run c2 = RUN(root, "--check", "--peer", "compute2=10.0.0.12");
    if (c2.status != 0)
        show_run("--check after apply", c2);
    CU_ASSERT_EQUAL(c2.status, 0);
    CU_ASSERT_STRING_EQUAL(c2.out, "nothing to change\n");
    CU_ASSERT(same_text("tree after the second --check", snapshot(root), applied));

    /* a peer that is not in place yet is enough to fail the check */
    struct run c3 = RUN(root, "--check", "--peer", "compute2=10.0.0.22");
    CU_ASSERT_EQUAL(c3.status, 1);
    CU_ASSERT_STRING_EQUAL(c3.out, "missing: /etc/hosts: 10.0.0.22 compute2 (currently 10.0.0.12 compute2)\n");
    test_tmpdir_remove(root);
    free_kept();
}

static void test_systemd_host_enables_socket(void)
{
    char *root = make_root("ph-systemd");
    if (!root)
        return;
    CU_ASSERT(shell_ok(S("mkdir -p '%s/run/systemd/system'", root)));
    struct run r = RUN(root);
    if (r.status != 0)
        show_run("systemd host", r);
    CU_ASSERT_EQUAL(r.status, 0);

    char *link = rpath(root, "/etc/systemd/system/sockets.target.wants/libvirtd-tcp.socket");
    struct stat st;
    CU_ASSERT(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    char target[256] = "";
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = 0;
    CU_ASSERT_STRING_EQUAL(target, "/lib/systemd/system/libvirtd-tcp.socket");
    CU_ASSERT(has("stdout", r.out, "changed /etc/systemd/system/sockets.target.wants/libvirtd-tcp.socket: "));

    /* no --listen under socket activation: /etc/default/libvirtd untouched, no backup */
    CU_ASSERT(same_text("/etc/default/libvirtd", read_rel(root, "/etc/default/libvirtd"), orig_default_libvirtd));
    char *b = backups(root, "/etc/default", "libvirtd");
    CU_ASSERT(b && *b == 0);
    /* libvirtd.conf is still set up (used for auth) */
    CU_ASSERT_EQUAL(count_lines(read_rel(root, "/etc/libvirt/libvirtd.conf"), "listen_tcp = 1"), 1);

    struct run again = RUN(root);
    CU_ASSERT_EQUAL(again.status, 0);
    CU_ASSERT_STRING_EQUAL(again.out, "nothing to change\n");
    test_tmpdir_remove(root);
    free_kept();
}

static void test_systemd_host_drops_listen(void)
{
    char *root = make_root("ph-systemd-listen");
    if (!root)
        return;
    CU_ASSERT(shell_ok(S("mkdir -p '%s/run/systemd/system'", root)));
    char *def = replace_line(orig_default_libvirtd, "#LIBVIRTD_ARGS=\"--timeout 120\"",
                             "LIBVIRTD_ARGS=\"--timeout 120 --listen\"");
    CU_ASSERT(def && write_rel(root, "/etc/default/libvirtd", def) == 0);
    struct run r = RUN(root);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(same_text("/etc/default/libvirtd", read_rel(root, "/etc/default/libvirtd"),
                        replace_line(orig_default_libvirtd, "#LIBVIRTD_ARGS=\"--timeout 120\"",
                                     "LIBVIRTD_ARGS=\"--timeout 120\"")));
    check_backup(root, "/etc/default", "libvirtd", def);
    test_tmpdir_remove(root);
    free_kept();
}

static void test_existing_args_keep_flags(void)
{
    char *root = make_root("ph-args");
    if (!root)
        return;
    char *def = replace_line(orig_default_libvirtd, "#LIBVIRTD_ARGS=\"--timeout 120\"", "LIBVIRTD_ARGS=\"--timeout 120\"");
    CU_ASSERT(def && write_rel(root, "/etc/default/libvirtd", def) == 0);
    char *expected = replace_line(def, "LIBVIRTD_ARGS=\"--timeout 120\"", "LIBVIRTD_ARGS=\"--timeout 120 --listen\"");

    struct run r = RUN(root);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(has("stdout", r.out,
                  "changed /etc/default/libvirtd: LIBVIRTD_ARGS=\"--timeout 120 --listen\" (was \"--timeout 120\")\n"));
    const char *got = read_rel(root, "/etc/default/libvirtd");
    CU_ASSERT(same_text("/etc/default/libvirtd", got, expected));
    CU_ASSERT_EQUAL(count_lines(got, "LIBVIRTD_ARGS=\"--listen\""), 0); /* not added a second time */

    struct run again = RUN(root);
    CU_ASSERT_EQUAL(again.status, 0);
    CU_ASSERT_STRING_EQUAL(again.out, "nothing to change\n");
    CU_ASSERT(same_text("/etc/default/libvirtd after a second run", read_rel(root, "/etc/default/libvirtd"), expected));
    test_tmpdir_remove(root);
    free_kept();
}

static void test_peers(void)
{
    char *root = make_root("ph-peers");
    if (!root)
        return;
    struct run r = RUN(root, "--peer", "compute1=10.0.0.11", "--peer=compute2=10.0.0.12");
    if (r.status != 0)
        show_run("peers", r);
    CU_ASSERT_EQUAL(r.status, 0);
    const char *expected = "127.0.0.1\tlocalhost\n"
                           "127.0.1.1\tcompute1.example.com\n" /* compute1 no longer loopback */
                           "\n"
                           "# The following lines are desirable for IPv6 capable hosts\n"
                           "::1     localhost ip6-localhost ip6-loopback\n"
                           "ff02::1 ip6-allnodes\n"
                           "ff02::2 ip6-allrouters\n"
                           "10.0.0.11\tcompute1\n"
                           "10.0.0.12\tcompute2\n";
    CU_ASSERT(same_text("/etc/hosts", read_rel(root, "/etc/hosts"), expected));
    CU_ASSERT(has("stdout", r.out, "changed /etc/hosts: 10.0.0.12 compute2 (was unset)\n"));
    CU_ASSERT(has("stdout", r.out,
                  "changed /etc/hosts: 127.0.1.1 compute1.example.com (was 127.0.1.1 compute1.example.com compute1)\n"));
    check_backup(root, "/etc", "hosts", HOSTS);

    struct run again = RUN(root, "--peer", "compute1=10.0.0.11", "--peer", "compute2=10.0.0.12");
    CU_ASSERT_EQUAL(again.status, 0);
    CU_ASSERT_STRING_EQUAL(again.out, "nothing to change\n");
    CU_ASSERT(same_text("/etc/hosts after a second run", read_rel(root, "/etc/hosts"), expected));

    /* compute2 moved: its line is updated in place, not duplicated */
    struct run moved = RUN(root, "--peer", "compute1=10.0.0.11", "--peer", "compute2=10.0.0.22");
    CU_ASSERT_EQUAL(moved.status, 0);
    CU_ASSERT(has("stdout", moved.out, "changed /etc/hosts: 10.0.0.22 compute2 (was 10.0.0.12 compute2)\n"));
    const char *hosts = read_rel(root, "/etc/hosts");
    CU_ASSERT(same_text("/etc/hosts after the move", hosts,
                        replace_line(expected, "10.0.0.12\tcompute2", "10.0.0.22\tcompute2")));
    CU_ASSERT_EQUAL(count_lines(hosts, "10.0.0.12\tcompute2"), 0);
    test_tmpdir_remove(root);
    free_kept();
}

static void test_bad_inputs_change_nothing(void)
{
    char *root = make_root("ph-bad");
    if (!root)
        return;
    struct {
        const char *args[4];
        const char *named; /* the bad value the message must name */
    } bad[] = {
        { { "--uri", "qemu+tcp://compute2/system" }, "qemu+tcp://compute2/system" },
        { { "--uri", "qemu+tcp://%s/%s" }, "qemu+tcp://%s/%s" },
        { { "--virt-type", "xen" }, "xen" },
        { { "--peer", "compute2" }, "compute2" },
        { { "--peer", "compute2=10.0.0.300" }, "10.0.0.300" },
        { { "--peer", "=10.0.0.12" }, "=10.0.0.12" },
        { { "--frobnicate" }, "--frobnicate" },
        { { "--auth-tcp", "tls" }, "tls" },
        { { "--check", "--virt-type" }, "--virt-type" },
    };
    char *before = snapshot(root);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* a valid peer comes first: nothing of it may be applied either */
        const char *args[8] = { "--peer", "compute3=10.0.0.13" };
        for (size_t j = 0; bad[i].args[j]; j++)
            args[2 + j] = bad[i].args[j];
        struct run r = run_argv(root, args);
        int ok = r.status == 2 && strncmp(r.err, "prepare-host: error: ", 21) == 0 && strstr(r.err, bad[i].named) &&
                 n_lines(r.err) == 1 && *r.out == 0;
        if (!ok)
            show_run(S("bad input %s %s", bad[i].args[0], bad[i].args[1] ? bad[i].args[1] : ""), r);
        CU_ASSERT(ok);
    }
    CU_ASSERT(same_text("tree after bad inputs", snapshot(root), before));

    char *nowhere = S("%s/nonexistent", root);
    struct run r = RUN(nowhere);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(has("stderr", r.err, S("prepare-host: error: --root '%s'", nowhere)));
    CU_ASSERT(same_text("tree after a bad --root", snapshot(root), before));
    test_tmpdir_remove(root);
    free_kept();
}

static void test_active_line_replaced_in_place(void)
{
    char *root = make_root("ph-inplace");
    if (!root)
        return;
    char *conf = S("%slisten_tcp = 0\n", orig_libvirtd_conf);
    CU_ASSERT(write_rel(root, "/etc/libvirt/libvirtd.conf", conf) == 0);
    struct run r = RUN(root);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(has("stdout", r.out, "changed /etc/libvirt/libvirtd.conf: listen_tcp = 1 (was 0)\n"));

    /* the same as a fresh run, except that listen_tcp is set on its own (last) line */
    char *expected = insert_after(conf, "#listen_tls = 0", "listen_tls = 0");
    expected = insert_after(expected, "#auth_unix_ro = \"polkit\"", "auth_unix_ro = \"none\"");
    expected = insert_after(expected, "#auth_unix_rw = \"polkit\"", "auth_unix_rw = \"none\"");
    expected = insert_after(expected, "#auth_tcp = \"sasl\"", "auth_tcp = \"none\"");
    expected = replace_line(expected, "listen_tcp = 0", "listen_tcp = 1");
    const char *got = read_rel(root, "/etc/libvirt/libvirtd.conf");
    CU_ASSERT(same_text("libvirtd.conf", got, expected));
    CU_ASSERT_EQUAL(count_lines(got, "listen_tcp = 1"), 1);
    CU_ASSERT_EQUAL(count_lines(got, "listen_tcp = 0"), 0);
    CU_ASSERT_EQUAL(count_lines(got, "#listen_tcp = 1"), 1);
    CU_ASSERT_EQUAL(line_no(got, "listen_tcp = 1"), n_lines(got));
    check_backup(root, "/etc/libvirt", "libvirtd.conf", conf);
    test_tmpdir_remove(root);
    free_kept();
}

static void test_options_and_quiet(void)
{
    char *root = make_root("ph-options");
    if (!root)
        return;
    struct run r = RUN(root, "--quiet", "--auth-tcp", "sasl", "--listen-addr", "10.0.0.11", "--host-uuid",
                       "3f0a8c2e-5b1d-4e1a-9c0b-2a7d6e4f8a11", "--cpu-mode=host-passthrough", "--virt-type", "qemu",
                       "--config-drive-format", "iso9660", "--uri", "qemu+ssh://nova@%s/system");
    if (r.status != 0)
        show_run("options", r);
    CU_ASSERT_EQUAL(r.status, 0);
    /* --quiet: no "changed" lines, only what must be restarted */
    CU_ASSERT(lacks("stdout", r.out, "changed "));
    CU_ASSERT(has("stdout", r.out, "restart needed: libvirtd"));
    CU_ASSERT(lacks("stderr", r.err, "unauthenticated"));

    char *expected = insert_after(orig_libvirtd_conf, "#listen_tls = 0", "listen_tls = 0");
    expected = insert_after(expected, "#listen_tcp = 1", "listen_tcp = 1");
    expected = insert_after(expected, "#listen_addr = \"192.168.0.1\"", "listen_addr = \"10.0.0.11\"");
    expected = insert_after(expected, "#auth_unix_ro = \"polkit\"", "auth_unix_ro = \"none\"");
    expected = insert_after(expected, "#auth_unix_rw = \"polkit\"", "auth_unix_rw = \"none\"");
    expected = insert_after(expected, "#auth_tcp = \"sasl\"", "auth_tcp = \"sasl\"");
    expected = insert_after(expected, "#host_uuid = \"00000000-0000-0000-0000-000000000000\"",
                            "host_uuid = \"3f0a8c2e-5b1d-4e1a-9c0b-2a7d6e4f8a11\"");
    CU_ASSERT(same_text("libvirtd.conf", read_rel(root, "/etc/libvirt/libvirtd.conf"), expected));

    const char *nova = read_rel(root, "/etc/nova/nova.conf");
    CU_ASSERT_EQUAL(count_lines(nova, "config_drive_format = iso9660"), 1);
    CU_ASSERT_EQUAL(count_lines(nova, "live_migration_uri = qemu+ssh://nova@%s/system"), 1);
    CU_ASSERT_EQUAL(count_lines(nova, "cpu_mode = host-passthrough"), 1);
    CU_ASSERT_EQUAL(count_lines(nova, "virt_type = qemu"), 1);
    CU_ASSERT_EQUAL(count_lines(nova, "; cpu_mode = host-passthrough (not in this section, must stay as is)"), 1);

    /* back to the defaults: the same lines change value in place */
    struct run d = RUN(root);
    CU_ASSERT_EQUAL(d.status, 0);
    CU_ASSERT(has("stdout", d.out, "changed /etc/libvirt/libvirtd.conf: auth_tcp = \"none\" (was \"sasl\")\n"));
    CU_ASSERT(has("stdout", d.out, "changed /etc/nova/nova.conf: [libvirt] cpu_mode = host-model (was host-passthrough)\n"));
    CU_ASSERT(same_text("nova.conf back to defaults", read_rel(root, "/etc/nova/nova.conf"), NOVA_CONF_APPLIED));
    test_tmpdir_remove(root);
    free_kept();
}

/* --tls: libvirtd listens for TLS too, qemu+tls:// becomes the default URI, and each missing
 * certificate is named; once they are all there, no warning. */
static void test_tls(void)
{
    char *root = make_root("ph-tls");
    if (!root)
        return;
    struct run r = RUN(root, "--quiet", "--tls");
    if (r.status != 0)
        show_run("--tls", r);
    CU_ASSERT_EQUAL(r.status, 0);
    const char *conf = read_rel(root, "/etc/libvirt/libvirtd.conf");
    CU_ASSERT_EQUAL(count_lines(conf, "listen_tls = 1"), 1);
    CU_ASSERT_EQUAL(count_lines(conf, "listen_tls = 0"), 0);
    CU_ASSERT_EQUAL(count_lines(read_rel(root, "/etc/nova/nova.conf"), "live_migration_uri = qemu+tls://%s/system"), 1);
    CU_ASSERT(has("stderr", r.err, "/etc/pki/CA/cacert.pem is missing: libvirtd will not start"));
    CU_ASSERT(has("stderr", r.err, "/etc/pki/libvirt/private/serverkey.pem is missing"));
    CU_ASSERT(has("stderr", r.err, "/etc/pki/libvirt/clientcert.pem is missing: this host cannot connect"));

    const char *pki[] = { "/etc/pki/CA/cacert.pem", "/etc/pki/libvirt/servercert.pem",
                          "/etc/pki/libvirt/private/serverkey.pem", "/etc/pki/libvirt/clientcert.pem",
                          "/etc/pki/libvirt/private/clientkey.pem" };
    struct command_result m;
    CU_ASSERT_EQUAL(command_run_shell(&m, "mkdir -p '%s/etc/pki/CA' '%s/etc/pki/libvirt/private'", root, root), 0);
    command_result_free(&m);
    for (size_t i = 0; i < sizeof(pki) / sizeof(pki[0]); i++)
        CU_ASSERT_EQUAL(test_write_file(S("%s%s", root, pki[i]), "-----BEGIN CERTIFICATE-----\n"), 0);
    struct run again = RUN(root, "--tls");
    CU_ASSERT_EQUAL(again.status, 0);
    CU_ASSERT(has("stdout", again.out, "nothing to change"));
    CU_ASSERT(lacks("stderr", again.err, "is missing"));

    /* without --tls the defaults come back: TLS off, qemu+tcp:// */
    struct run off = RUN(root);
    CU_ASSERT_EQUAL(off.status, 0);
    CU_ASSERT(has("stdout", off.out, "changed /etc/libvirt/libvirtd.conf: listen_tls = 0 (was 1)\n"));
    CU_ASSERT_EQUAL(count_lines(read_rel(root, "/etc/nova/nova.conf"), "live_migration_uri = qemu+tcp://%s/system"), 1);
    test_tmpdir_remove(root);
    free_kept();
}

static void test_missing_files_created(void)
{
    char *root = test_tmpdir_create("ph-empty");
    if (!root) {
        CU_FAIL("cannot create a temporary root");
        return;
    }
    struct run r = RUN(root);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(has("stderr", r.err, "prepare-host: note: /etc/libvirt/libvirtd.conf does not exist"));
    CU_ASSERT(has("stdout", r.out, "changed /etc/libvirt/libvirtd.conf: file created (was absent)\n"));
    CU_ASSERT(same_text("created libvirtd.conf", read_rel(root, "/etc/libvirt/libvirtd.conf"),
                        "listen_tls = 0\nlisten_tcp = 1\nauth_tcp = \"none\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n"));
    CU_ASSERT(same_text("created /etc/default/libvirtd", read_rel(root, "/etc/default/libvirtd"),
                        "LIBVIRTD_ARGS=\"--listen\"\n"));
    CU_ASSERT(same_text("created nova.conf", read_rel(root, "/etc/nova/nova.conf"),
                        "[DEFAULT]\nconfig_drive_format = vfat\n\n[libvirt]\n"
                        "live_migration_uri = qemu+tcp://%s/system\ncpu_mode = host-model\nvirt_type = kvm\n"));
    char *b = backups(root, "/etc/nova", "nova.conf");
    CU_ASSERT(b && *b == 0);
    struct run again = RUN(root);
    CU_ASSERT_STRING_EQUAL(again.out, "nothing to change\n");
    test_tmpdir_remove(root);
    free_kept();
}

static void test_misspelled_key_noted(void)
{
    char *root = make_root("ph-misspelled");
    if (!root)
        return;
    char *nova = replace_line(NOVA_CONF, "instances_path = /var/lib/nova/instances",
                              "instances_path = /var/lib/nova/instances\nconfig_driver_format = vfat");
    CU_ASSERT(nova && write_rel(root, "/etc/nova/nova.conf", nova) == 0);
    struct run r = RUN(root);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(has("stderr", r.err, "prepare-host: note: /etc/nova/nova.conf sets 'config_driver_format'"));
    CU_ASSERT(same_text("nova.conf", read_rel(root, "/etc/nova/nova.conf"),
                        replace_line(NOVA_CONF_APPLIED, "instances_path = /var/lib/nova/instances",
                                     "instances_path = /var/lib/nova/instances\nconfig_driver_format = vfat")));
    test_tmpdir_remove(root);
    free_kept();
}

static void test_cannot_apply_changes_nothing(void)
{
    char *root = make_root("ph-cannot");
    if (!root)
        return;
    /* nova.conf is a directory: nothing can be applied, and nothing else is written */
    CU_ASSERT(shell_ok(S("rm '%s/etc/nova/nova.conf' && mkdir '%s/etc/nova/nova.conf'", root, root)));
    char *before = snapshot(root);
    struct run r = RUN(root);
    CU_ASSERT_EQUAL(r.status, 3);
    CU_ASSERT(has("stderr", r.err, "prepare-host: error: cannot apply: /etc/nova/nova.conf is not a regular file"));
    CU_ASSERT(same_text("tree after a failed run", snapshot(root), before));
    test_tmpdir_remove(root);
    free_kept();
}

int main(void)
{
    static const struct test_case cases[] = {
        { "fresh root: applied, backed up, the rest preserved", test_fresh_root_applies },
        { "second run: nothing to change, same bytes, no backup", test_second_run_changes_nothing },
        { "--check reports and changes nothing", test_check_changes_nothing },
        { "systemd host: libvirtd-tcp.socket, no --listen", test_systemd_host_enables_socket },
        { "systemd host: an active --listen is taken out", test_systemd_host_drops_listen },
        { "existing LIBVIRTD_ARGS keeps its flags", test_existing_args_keep_flags },
        { "peers in /etc/hosts: added, not duplicated, moved", test_peers },
        { "bad inputs: exit 2, nothing changed", test_bad_inputs_change_nothing },
        { "active listen_tcp = 0 replaced in place", test_active_line_replaced_in_place },
        { "option values and --quiet", test_options_and_quiet },
        { "--tls: listen_tls, qemu+tls://, missing certificates named", test_tls },
        { "missing files are created", test_missing_files_created },
        { "misspelled config_driver_format noted and kept", test_misspelled_key_noted },
        { "cannot apply: exit 3, nothing changed", test_cannot_apply_changes_nothing },
        { NULL, NULL },
    };
    return test_run_suite("prepare_host", cases);
}
