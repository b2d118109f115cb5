/*
 * `ferry fsck` end to end on real stores in a temporary directory: images made by
 * qemu-img, defects made for real (byte edits with pwrite, truncation, touch -d, chmod,
 * symlinks, records), then the command run as operators run it. A clean store exits 0;
 * each rule's defect is found with its name; -y then a second run exits 0 where everything
 * was fixable, with the quarantine and its manifest in place; -n (and no option) leave
 * every byte, mode, owner, mtime and ctime of the tree as they were; the textfile; libvirt
 * (its test driver) and /proc (a file this test holds open) guard running guests.
 */
#include "lease_record.h"
#include "owner_record.h"
#include "test_support.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define U1 "aaaaaaaa-1111-4111-8111-111111111111"
#define U2 "bbbbbbbb-2222-4222-8222-222222222222"
#define ALIAS "/opt/stack/data/nova/instances"

static char *tmp, *store, *conf;
static char host[LEASE_HOST_MAX + 1];

/* ---- helpers -------------------------------------------------------------------------------- */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    va_start(ap, fmt);
    CU_ASSERT_FATAL(vasprintf(&cmd, fmt, ap) >= 0);
    va_end(ap);
    struct command_result r;
    CU_ASSERT_EQUAL_FATAL(command_run_shell(&r, "set -e; cd '%s'; %s", store, cmd), 0);
    if (r.status != 0)
        fprintf(stderr, "\n    %s: exit %d: %s%s\n", cmd, r.status, r.out, r.err);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    command_result_free(&r);
    free(cmd);
}

static void write_at(const char *rel, off_t offset, const void *bytes, size_t n)
{
    char *path = test_strf("%s/%s", store, rel);
    int fd = open(path, O_WRONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(pwrite(fd, bytes, n, offset), (ssize_t)n);
    close(fd);
    free(path);
}

static void put_file(const char *rel, const char *text)
{
    char *path = test_strf("%s/%s", store, rel);
    CU_ASSERT_EQUAL_FATAL(test_write_file(path, text), 0);
    free(path);
}

static void write_claim(const char *uuid, const char *claimer, enum owner_state state, const char *peer)
{
    struct owner_record r = { .state = state, .written_at = 1764255600 };
    strcpy(r.instance, uuid);
    strcpy(r.host, claimer);
    strcpy(r.peer, peer ? peer : "");
    char buf[OWNER_RECORD_MAX + 1];
    CU_ASSERT_FATAL(owner_record_encode(&r, buf, sizeof(buf)) > 0);
    sh("mkdir -p .ferry/owners/%s", uuid);
    char *rel = test_strf(".ferry/owners/%s/%s", uuid, claimer);
    put_file(rel, buf);
    free(rel);
}

static void write_lease(const char *name, enum lease_state state)
{
    struct lease_record r = { .version = LEASE_RECORD_VERSION, .counter = 7, .state = state, .written_at = 1 };
    strcpy(r.host, name);
    strcpy(r.host_id, "6f1c2a9e-0d3b-4c55-9a7e-1f2e3d4c5b6a");
    char buf[LEASE_RECORD_MAX];
    CU_ASSERT_FATAL(lease_record_encode(&r, buf, sizeof(buf)) > 0);
    char *rel = test_strf(".ferry/leases/%s", name);
    put_file(rel, buf);
    free(rel);
}

static void make_instance(const char *uuid, const char *backing)
{
    sh("mkdir %s && qemu-img create -q -f qcow2 -u -b %s -F raw %s/disk 64M", uuid, backing, uuid);
    sh("chown libvirt-qemu:kvm %s/disk && chmod 0644 %s/disk", uuid, uuid);
    char *rel = test_strf("%s/disk.info", uuid);
    char *text = test_strf("{\"" ALIAS "/%s/disk\": \"qcow2\"}", uuid);
    put_file(rel, text);
    free(rel);
    free(text);
    rel = test_strf("%s/libvirt.xml", uuid);
    text = test_strf("<domain type='kvm'>\n  <name>instance-%.8s</name>\n  <uuid>%s</uuid>\n  <devices>\n"
                     "    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n"
                     "      <source file='" ALIAS "/%s/disk'/>\n      <target dev='vda' bus='virtio'/>\n"
                     "    </disk>\n    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n"
                     "      <source file='" ALIAS "/%s/disk.config'/>\n      <target dev='hdd' bus='ide'/>\n"
                     "    </disk>\n  </devices>\n</domain>\n",
                     uuid, uuid, uuid, uuid);
    put_file(rel, text);
    free(rel);
    free(text);
    /* A vfat config drive, as Nova makes it with [DEFAULT] config_drive_format = vfat. */
    sh("mkfs.vfat -C -n config-2 %s/disk.config 1024 >/dev/null", uuid);
    sh("echo booted > %s/console.log", uuid);
    write_claim(uuid, host, OWNER_OWNED, NULL);
}

/* A clean store: two instances on one raw base (one names it by the store's path, the
 * other by the hosts' mount point), records, this host's live lease. */
static void make_store(void)
{
    struct command_result r;
    CU_ASSERT_EQUAL_FATAL(command_run_shell(&r, "rm -rf '%s' && mkdir -p '%s'", store, store), 0);
    command_result_free(&r);
    sh("mkdir -p _base locks .ferry/owners .ferry/leases && qemu-img create -q -f raw _base/base1 16M");
    write_lease(host, LEASE_LIVE);
    char *b = test_strf("%s/_base/base1", store);
    make_instance(U1, b);
    free(b);
    make_instance(U2, ALIAS "/_base/base1");
}

static struct command_result fsck_run(const char *args)
{
    struct command_result r;
    CU_ASSERT_EQUAL_FATAL(command_run_shell(&r, "FERRY_CONF='%s' '%s' fsck --instances '%s' %s", conf,
                                            test_ferry_bin(), store, args),
                          0);
    return r;
}

/* Runs fsck --json ARGS; returns the document (NULL when not JSON) and the status. */
static struct json_object *fsck_json(const char *args, int *status)
{
    char *a = test_strf("--json %s", args);
    struct command_result r = fsck_run(a);
    free(a);
    *status = r.status;
    struct json_object *o = json_tokener_parse(r.out);
    if (!o)
        fprintf(stderr, "\n    fsck %s: exit %d, not JSON: %s%s\n", args, r.status, r.out, r.err);
    command_result_free(&r);
    return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

static bool jbool(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* The finding of rule on the path STORE/rel, or NULL. */
static struct json_object *finding(struct json_object *doc, const char *rule, const char *rel)
{
    struct json_object *list;
    char *path = test_strf("%s%s%s", store, rel[0] ? "/" : "", rel);
    struct json_object *hit = NULL;
    if (doc && json_object_object_get_ex(doc, "findings", &list))
        for (size_t i = 0; i < json_object_array_length(list) && !hit; i++) {
            struct json_object *e = json_object_array_get_idx(list, i);
            if (!strcmp(jstr(e, "rule"), rule) && !strcmp(jstr(e, "path"), path))
                hit = e;
        }
    free(path);
    return hit;
}

static size_t n_findings(struct json_object *doc)
{
    struct json_object *list;
    return doc && json_object_object_get_ex(doc, "findings", &list) ? json_object_array_length(list) : 0;
}

static void print_findings(struct json_object *doc)
{
    struct json_object *list;
    if (doc && json_object_object_get_ex(doc, "findings", &list))
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            struct json_object *e = json_object_array_get_idx(list, i);
            fprintf(stderr, "\n      %s %s %s: %s", jstr(e, "severity"), jstr(e, "rule"), jstr(e, "path"),
                    jstr(e, "message"));
        }
}

/* Runs fsck -n and expects exactly one finding: rule on rel, at severity, with status. */
static struct json_object *expect_one(const char *rule, const char *rel, const char *severity, int want_status)
{
    int status;
    struct json_object *doc = fsck_json("-n", &status);
    struct json_object *e = finding(doc, rule, rel);
    bool ok = e && n_findings(doc) == 1 && status == want_status && !strcmp(jstr(e, "severity"), severity);
    if (!ok) {
        fprintf(stderr, "\n    expected one %s %s on %s (exit %d), got exit %d:", severity, rule, rel, want_status,
                status);
        print_findings(doc);
    }
    CU_ASSERT(ok);
    return doc;
}

/* -y repairs it (exit 1), then the store is clean (exit 0). */
static void expect_repaired(const char *rule, const char *rel)
{
    int status;
    struct json_object *doc = fsck_json("-y", &status);
    struct json_object *e = finding(doc, rule, rel);
    CU_ASSERT_PTR_NOT_NULL(e);
    CU_ASSERT_TRUE(e && jbool(e, "fixed"));
    CU_ASSERT_EQUAL(status, 1);
    json_object_put(doc);
    doc = fsck_json("-n", &status);
    if (status != 0 || n_findings(doc)) {
        fprintf(stderr, "\n    after -y: exit %d:", status);
        print_findings(doc);
    }
    CU_ASSERT_EQUAL(status, 0);
    json_object_put(doc);
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void test_clean_store(void)
{
    make_store();
    struct command_result r = fsck_run("");
    if (r.status)
        fprintf(stderr, "\n    %s%s\n", r.out, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    char *summary = test_strf("%s: clean; 2 instances, 5 images (1 base), ", store);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, summary));
    free(summary);
    CU_ASSERT_PTR_NULL(strstr(r.out, "ERROR"));
    CU_ASSERT_PTR_NULL(strstr(r.out, "WARNING"));
    CU_ASSERT_STRING_EQUAL(r.err, "");
    command_result_free(&r);
    /* -y on a clean store changes nothing and makes no quarantine. */
    r = fsck_run("-y");
    CU_ASSERT_EQUAL(r.status, 0);
    command_result_free(&r);
    struct stat st;
    char *q = test_strf("%s/.ferry/quarantine", store);
    CU_ASSERT_EQUAL(stat(q, &st), -1);
    free(q);
    /* Several workers give the same result as one. */
    int status;
    struct json_object *one = fsck_json("-j 1", &status), *two = fsck_json("-j 4", &status), *a, *b;
    CU_ASSERT_TRUE(json_object_object_get_ex(one, "counts", &a) && json_object_object_get_ex(two, "counts", &b) &&
                   json_object_equal(a, b));
    json_object_put(one);
    json_object_put(two);
}

static void test_header_invalid(void)
{
    make_store();
    uint8_t version[4] = { 0, 0, 0, 9 };
    write_at(U1 "/disk", 4, version, 4);
    json_object_put(expect_one("qcow2-header-invalid", U1 "/disk", "error", 4));
}

static void test_header_absurd_backing_length(void)
{
    make_store();
    uint8_t len[4] = { 0xff, 0xff, 0xff, 0xf0 };
    write_at(U1 "/disk", 16, len, 4);
    struct json_object *doc = expect_one("qcow2-header-invalid", U1 "/disk", "error", 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(finding(doc, "qcow2-header-invalid", U1 "/disk"), "message"), "absurd"));
    json_object_put(doc);
}

static void test_corrupt_flag(void)
{
    make_store();
    uint8_t bits = 2;
    write_at(U2 "/disk", 79, &bits, 1);
    json_object_put(expect_one("qcow2-corrupt-flag", U2 "/disk", "error", 4));
}

static void test_dirty_flag(void)
{
    make_store();
    uint8_t bits = 1;
    write_at(U1 "/disk", 79, &bits, 1);
    struct json_object *doc = expect_one("qcow2-dirty-flag", U1 "/disk", "warning", 4);
    CU_ASSERT_TRUE(jbool(finding(doc, "qcow2-dirty-flag", U1 "/disk"), "fixable"));
    json_object_put(doc);
    expect_repaired("qcow2-dirty-flag", U1 "/disk");
}

static void test_truncated(void)
{
    make_store();
    sh("truncate -s 131072 %s/disk", U1); /* the L1 table is at 192 KiB */
    struct json_object *doc = expect_one("image-truncated", U1 "/disk", "error", 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(finding(doc, "image-truncated", U1 "/disk"), "message"), "L1 table"));
    json_object_put(doc);
    sh("truncate -s 50 %s/disk", U1);
    json_object_put(expect_one("image-truncated", U1 "/disk", "error", 4));
}

static void test_backing_missing(void)
{
    make_store();
    sh("rm %s/disk && qemu-img create -q -f qcow2 -u -b %s/_base/gone -F raw %s/disk 64M && "
       "chown libvirt-qemu:kvm %s/disk",
       U1, store, U1, U1);
    json_object_put(expect_one("backing-missing", U1 "/disk", "error", 4));
}

static void test_backing_outside(void)
{
    static const char *const names[] = { "/etc/hostname", "../../outside", "nbd://10.0.0.9/disk",
                                         "json:{\"driver\":\"raw\",\"file\":{\"driver\":\"file\",\"filename\":\"/x\"}}" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        make_store();
        sh("rm %s/disk && qemu-img create -q -f qcow2 -u -b '%s' -F raw %s/disk 64M && chown libvirt-qemu:kvm %s/disk",
           U1, names[i], U1, U1);
        json_object_put(expect_one("backing-outside-store", U1 "/disk", "error", 4));
    }
    /* A backing path inside the store that leads out through a symlink: never followed. */
    make_store();
    sh("ln -s /tmp _base/escape && rm %s/disk && qemu-img create -q -f qcow2 -u -b ../_base/escape/x -F raw %s/disk "
       "64M && chown libvirt-qemu:kvm %s/disk",
       U1, U1, U1);
    int status;
    struct json_object *doc = fsck_json("-n", &status);
    CU_ASSERT_PTR_NOT_NULL(finding(doc, "backing-outside-store", U1 "/disk"));
    CU_ASSERT_PTR_NOT_NULL(finding(doc, "symlink-escape", "_base/escape"));
    CU_ASSERT_EQUAL(n_findings(doc), 2);
    json_object_put(doc);
}

static void test_backing_loop(void)
{
    make_store();
    /* disk -> disk.local -> disk */
    sh("qemu-img create -q -f qcow2 -u -b ../%s/disk -F qcow2 %s/disk.local 64M && "
       "qemu-img rebase -q -u -b disk.local -F qcow2 %s/disk && chown libvirt-qemu:kvm %s/disk.local",
       U1, U1, U1, U1);
    int status;
    struct json_object *doc = fsck_json("-n", &status);
    CU_ASSERT_PTR_NOT_NULL(finding(doc, "backing-loop", U1 "/disk"));
    CU_ASSERT_PTR_NOT_NULL(finding(doc, "backing-loop", U1 "/disk.local"));
    CU_ASSERT_EQUAL(status, 4);
    json_object_put(doc);

    /* A chain deeper than max_chain_depth (4 in this test's configuration). */
    make_store();
    sh("for i in 1 2 3 4; do qemu-img create -q -f qcow2 -u -b %s/disk -F qcow2 _base/l$i 64M; done", U2);
    sh("qemu-img rebase -q -u -b l2 -F qcow2 _base/l1 && qemu-img rebase -q -u -b l3 -F qcow2 _base/l2 && "
       "qemu-img rebase -q -u -b l4 -F qcow2 _base/l3 && qemu-img rebase -q -u -b base1 -F raw _base/l4");
    sh("rm %s/disk && qemu-img create -q -f qcow2 -u -b ../_base/l1 -F qcow2 %s/disk 64M && chown libvirt-qemu:kvm %s/disk",
       U1, U1, U1);
    doc = fsck_json("-n", &status);
    struct json_object *e = finding(doc, "backing-loop", U1 "/disk");
    CU_ASSERT_PTR_NOT_NULL(e);
    CU_ASSERT_PTR_NOT_NULL(e ? strstr(jstr(e, "message"), "max_chain_depth = 4") : NULL);
    CU_ASSERT_PTR_NULL(finding(doc, "backing-loop", "_base/l1")); /* l1 -> l2 -> l3 -> l4 -> base1: 4 deep */
    json_object_put(doc);
}

static void test_format_mismatch(void)
{
    make_store();
    put_file(U1 "/disk.info", "{\"" ALIAS "/" U1 "/disk\": \"raw\"}");
    struct json_object *doc = expect_one("format-mismatch", U1 "/disk", "error", 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(finding(doc, "format-mismatch", U1 "/disk"), "message"), "disk.info says raw"));
    json_object_put(doc);
    /* The header's backing format says qcow2; the base is raw. */
    make_store();
    sh("qemu-img rebase -q -u -b %s/_base/base1 -F qcow2 %s/disk", store, U2);
    doc = expect_one("format-mismatch", U2 "/disk", "error", 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(finding(doc, "format-mismatch", U2 "/disk"), "message"), "backing file _base/base1 is qcow2"));
    json_object_put(doc);
}

static void test_orphan(void)
{
    make_store();
    sh("rm -r .ferry/owners/%s", U2);
    json_object_put(expect_one("orphan-instance", U2, "warning", 4));
}

static void test_stale_partial(void)
{
    make_store();
    sh("echo part > %s/disk.ferry-partial && echo m > %s/disk.ferry-partial.manifest && touch -d '2 hours ago' "
       "%s/disk.ferry-partial %s/disk.ferry-partial.manifest",
       U1, U1, U1, U1);
    sh("mkdir %s_del && echo x > %s_del/disk && touch -d '3 days ago' %s_del/disk %s_del", U2, U2, U2, U2);
    sh("echo young > %s/disk.local.ferry-partial", U2); /* minutes old: a copy in progress */
    int status;
    struct json_object *doc = fsck_json("-n", &status);
    CU_ASSERT_PTR_NOT_NULL(finding(doc, "stale-partial", U1 "/disk.ferry-partial"));
    CU_ASSERT_PTR_NOT_NULL(finding(doc, "stale-partial", U1 "/disk.ferry-partial.manifest"));
    CU_ASSERT_PTR_NOT_NULL(finding(doc, "stale-partial", U2 "_del"));
    CU_ASSERT_EQUAL(n_findings(doc), 3);
    CU_ASSERT_EQUAL(status, 4);
    json_object_put(doc);

    doc = fsck_json("-y", &status);
    CU_ASSERT_EQUAL(status, 1);
    const char *q = jstr(doc, "quarantine");
    char *prefix = test_strf("%s/.ferry/quarantine/", store);
    CU_ASSERT_EQUAL(strncmp(q, prefix, strlen(prefix)), 0);
    free(prefix);
    /* The tree is preserved in the quarantine, with a manifest; nothing was deleted. */
    char *moved = test_strf("%s/%s/disk.ferry-partial", q, U1);
    char *text = test_read_file(moved);
    CU_ASSERT_PTR_NOT_NULL(text);
    CU_ASSERT_STRING_EQUAL(text ? text : "", "part\n");
    free(text);
    free(moved);
    moved = test_strf("%s/%s_del/disk", q, U2);
    text = test_read_file(moved);
    CU_ASSERT_STRING_EQUAL(text ? text : "", "x\n");
    free(text);
    free(moved);
    char *manifest = test_strf("%s/MANIFEST", q);
    text = test_read_file(manifest);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "# restore: mv <this directory>/<path> <store>/<path>\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "stale-partial\t" U1 "/disk.ferry-partial\tpartial copy left by ferry's streamer"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "stale-partial\t" U2 "_del\tNova deletion leftover"));
    free(text);
    free(manifest);
    json_object_put(doc);
    doc = fsck_json("-n", &status);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_EQUAL(n_findings(doc), 0);
    json_object_put(doc);
    char *young = test_strf("%s/%s/disk.local.ferry-partial", store, U2);
    CU_ASSERT_EQUAL(access(young, F_OK), 0);
    free(young);
}

static void test_unused_base(void)
{
    make_store();
    sh("qemu-img create -q -f raw _base/old 1M && touch -d '3 days ago' _base/old");
    sh("qemu-img create -q -f raw _base/new 1M");
    json_object_put(expect_one("unused-base", "_base/old", "warning", 4));
    expect_repaired("unused-base", "_base/old");
}

static void test_dead_owner(void)
{
    make_store();
    write_claim(U2, "ghost", OWNER_OWNED, NULL); /* no lease at all */
    sh("rm .ferry/owners/%s/%s", U2, host);
    struct json_object *doc = expect_one("dead-owner", U2, "warning", 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(finding(doc, "dead-owner", U2), "message"), "ghost has no lease record"));
    json_object_put(doc);
    write_lease("ghost", LEASE_RELEASED);
    doc = expect_one("dead-owner", U2, "warning", 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(finding(doc, "dead-owner", U2), "message"), "released its lease"));
    json_object_put(doc);
    write_lease("ghost", LEASE_LIVE);
    int status;
    doc = fsck_json("-n", &status);
    CU_ASSERT_EQUAL(status, 0);
    json_object_put(doc);
}

static void test_double_owner(void)
{
    make_store();
    write_lease("other", LEASE_LIVE);
    write_claim(U1, "other", OWNER_OWNED, NULL);
    json_object_put(expect_one("double-owner", U1, "error", 4));
    /* The two halves of a migration are not. */
    write_claim(U1, host, OWNER_OUTGOING, "other");
    write_claim(U1, "other", OWNER_INCOMING, host);
    int status;
    struct json_object *doc = fsck_json("-n", &status);
    CU_ASSERT_EQUAL(status, 0);
    json_object_put(doc);
}

static void test_bad_permissions(void)
{
    make_store();
    /* Owned by someone else (a root-owned disk of a stopped guest is libvirt's normal). */
    sh("chown 4242:4242 %s/disk && chmod 0600 %s/disk", U2, U2);
    json_object_put(expect_one("bad-permissions", U2 "/disk", "error", 4));
}

static void test_symlink_escape(void)
{
    make_store();
    sh("rm %s/console.log && ln -s /etc/passwd %s/console.log && ln -s ../_base/base1 %s/fine", U1, U1, U1);
    json_object_put(expect_one("symlink-escape", U1 "/console.log", "error", 4));
    expect_repaired("symlink-escape", U1 "/console.log");
    struct stat st;
    CU_ASSERT_EQUAL(stat("/etc/passwd", &st), 0); /* the link moved, not its target */
}

static void test_config_drive(void)
{
    make_store();
    /* Nova's default: an iso9660 config drive, made as Nova makes it. */
    sh("mkdir -p %s/cd/openstack/latest && echo '{}' > %s/cd/openstack/latest/meta_data.json && rm %s/disk.config && "
       "genisoimage -quiet -o %s/disk.config -V config-2 -J -r %s/cd",
       tmp, tmp, U1, U1, tmp);
    struct json_object *doc = expect_one("config-drive-format", U1 "/disk.config", "info", 0);
    json_object_put(doc);
    sh("truncate -s 0 %s/disk.config && truncate -s 1M %s/disk.config", U1, U1);
    json_object_put(expect_one("config-drive-format", U1 "/disk.config", "warning", 4));
}

static void test_missing_disk(void)
{
    make_store();
    sh("rm %s/disk.config", U2);
    json_object_put(expect_one("missing-disk", U2 "/disk.config", "error", 4));
}

static void test_metadata_invalid(void)
{
    make_store();
    put_file(U1 "/disk.info", "{\"broken\": ");
    put_file(U2 "/libvirt.xml", "<domain><devices><disk");
    put_file(".ferry/owners/" U1 "/intruder", "ferry-owner 1\nnot a record\n");
    int status;
    struct json_object *doc = fsck_json("-n", &status);
    CU_ASSERT_PTR_NOT_NULL(finding(doc, "metadata-invalid", U1 "/disk.info"));
    CU_ASSERT_PTR_NOT_NULL(finding(doc, "metadata-invalid", U2 "/libvirt.xml"));
    CU_ASSERT_PTR_NOT_NULL(finding(doc, "metadata-invalid", ".ferry/owners/" U1 "/intruder"));
    json_object_put(doc);
}

static void test_deep(void)
{
    make_store();
    sh("qemu-io -c 'write 0 256k' %s/disk >/dev/null", U1);
    uint8_t zeros[16] = { 0 };
    write_at(U1 "/disk", 0x20000, zeros, sizeof(zeros)); /* refcounts of used clusters: 0 */
    int status;
    struct json_object *doc = fsck_json("-n", &status);
    CU_ASSERT_EQUAL(status, 0); /* the header alone looks fine */
    json_object_put(doc);
    doc = fsck_json("-n --deep", &status);
    struct json_object *e = finding(doc, "qcow2-check", U1 "/disk");
    CU_ASSERT_PTR_NOT_NULL(e);
    CU_ASSERT_PTR_NOT_NULL(e ? strstr(jstr(e, "message"), "corruptions") : NULL);
    CU_ASSERT_EQUAL(n_findings(doc), 1);
    CU_ASSERT_EQUAL(status, 4);
    json_object_put(doc);
}

/* ---- -n: nothing written -------------------------------------------------------------------- */

static FILE *snapshot_out;

static int snapshot_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)type;
    (void)ftw;
    fprintf(snapshot_out, "%s %o %u:%u %lld %lld.%09ld %lld.%09ld", path + strlen(store), st->st_mode, st->st_uid,
            st->st_gid, (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
            (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
    if (S_ISREG(st->st_mode)) {
        int fd = open(path, O_RDONLY | O_NOATIME);
        XXH64_state_t *h = XXH64_createState();
        XXH64_reset(h, 0);
        char buf[65536];
        ssize_t n;
        while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
            XXH64_update(h, buf, (size_t)n);
        fprintf(snapshot_out, " %016llx", (unsigned long long)XXH64_digest(h));
        XXH64_freeState(h);
        if (fd >= 0)
            close(fd);
    } else if (S_ISLNK(st->st_mode)) {
        char target[4096];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        fprintf(snapshot_out, " -> %.*s", (int)(n > 0 ? n : 0), target);
    }
    fputc('\n', snapshot_out);
    return 0;
}

/* Every entry's path, mode, owner, size, mtime, ctime and content hash. */
static char *snapshot(void)
{
    char *text = NULL;
    size_t size = 0;
    snapshot_out = open_memstream(&text, &size);
    CU_ASSERT_EQUAL(nftw(store, snapshot_entry, 32, FTW_PHYS), 0);
    fclose(snapshot_out);
    return text;
}

static void test_dry_run_writes_nothing(void)
{
    make_store();
    /* Every fixable defect, and some that are not. */
    uint8_t bits = 1;
    write_at(U1 "/disk", 79, &bits, 1);
    sh("echo p > %s/disk.ferry-partial && touch -d '2 days ago' %s/disk.ferry-partial", U2, U2);
    sh("qemu-img create -q -f raw _base/old 1M && touch -d '3 days ago' _base/old");
    sh("ln -s /etc %s/escape", U2);
    sh("chmod 0600 %s/disk && chown 4242 %s/disk", U2, U2);
    sh("rm -r .ferry/owners/%s", U2);
    char *before = snapshot();
    for (int i = 0; i < 3; i++) {
        static const char *const args[] = { "-n", "", "-n --deep --json" };
        struct command_result r = fsck_run(args[i]);
        CU_ASSERT_EQUAL(r.status, 4);
        command_result_free(&r);
        char *after = snapshot();
        if (strcmp(before, after))
            fprintf(stderr, "\n    fsck %s changed the store:\n--- before\n%s--- after\n%s", args[i], before, after);
        CU_ASSERT_STRING_EQUAL(before, after);
        free(after);
    }
    free(before);
    /* And -y then fixes every fixable one; the rest stays. */
    int status;
    struct json_object *doc = fsck_json("-y", &status);
    CU_ASSERT_EQUAL(status, 5);
    json_object_put(doc);
    doc = fsck_json("-n", &status);
    CU_ASSERT_EQUAL(status, 4);
    CU_ASSERT_EQUAL(n_findings(doc), 2); /* bad-permissions, orphan-instance */
    json_object_put(doc);
}

/* ---- running guests: libvirt's test driver, and /proc -------------------------------------------- */

static void test_running_guest_untouched(void)
{
    make_store();
    uint8_t bits = 1;
    write_at(U1 "/disk", 79, &bits, 1);
    sh("ln -s /etc %s/escape && ln -s /etc %s/escape", U1, U2);
    /* libvirt (its test driver) runs U1's guest and defines U2, which another host owns. */
    char *node = test_strf("%s/node.xml", tmp);
    char *xml = test_strf("<node>\n"
                          "  <domain type='test'><name>instance-1</name><uuid>" U1 "</uuid><memory>65536</memory>"
                          "<os><type>hvm</type></os></domain>\n"
                          "  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
                          "<name>instance-2</name><uuid>" U2 "</uuid><memory>65536</memory><os><type>hvm</type></os>"
                          "<test:runstate>5</test:runstate></domain>\n"
                          "</node>\n");
    CU_ASSERT_EQUAL(test_write_file(node, xml), 0);
    free(xml);
    sh("rm .ferry/owners/%s/%s", U2, host);
    write_lease("other", LEASE_LIVE);
    write_claim(U2, "other", OWNER_OWNED, NULL);
    char *env = test_strf("test://%s", node);
    setenv("FERRY_FSCK_LIBVIRT_URI", env, 1);
    free(env);
    int status;
    struct json_object *doc = fsck_json("-y", &status);
    CU_ASSERT_PTR_NULL(finding(doc, "qcow2-dirty-flag", U1 "/disk")); /* running: the bit is expected */
    struct json_object *e = finding(doc, "symlink-escape", U1 "/escape");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_FALSE(jbool(e, "fixed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(e, "guarded"), "guest running (libvirt domain instance-1)"));
    e = finding(doc, "double-owner", U2);
    CU_ASSERT_PTR_NOT_NULL(e);
    /* Shut off here, but another (live) host owns it: its repairs are that host's. */
    e = finding(doc, "symlink-escape", U2 "/escape");
    CU_ASSERT_FALSE(jbool(e, "fixed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(e, "guarded"), "owned by other: repairs are left to that host"));
    CU_ASSERT_EQUAL(status, 4);
    json_object_put(doc);
    /* Once that host is dead (its lease released), this host may repair it. */
    write_lease("other", LEASE_RELEASED);
    doc = fsck_json("-y", &status);
    CU_ASSERT_TRUE(jbool(finding(doc, "symlink-escape", U2 "/escape"), "fixed"));
    CU_ASSERT_PTR_NOT_NULL(finding(doc, "dead-owner", U2));
    CU_ASSERT_EQUAL(status, 5);
    json_object_put(doc);
    char *link = test_strf("%s/%s/escape", store, U1);
    struct stat st;
    CU_ASSERT_EQUAL(lstat(link, &st), 0);
    free(link);
    setenv("FERRY_FSCK_LIBVIRT_URI", "none", 1);
    free(node);

    /* Without libvirt: a process holding the disk open is a running guest. */
    make_store();
    write_at(U1 "/disk", 79, &bits, 1);
    sh("echo p > %s/disk.ferry-partial && touch -d '2 days ago' %s/disk.ferry-partial", U1, U1);
    char *path = test_strf("%s/%s/disk", store, U1);
    int fd = open(path, O_RDONLY);
    free(path);
    CU_ASSERT_FATAL(fd >= 0);
    doc = fsck_json("-y", &status);
    CU_ASSERT_PTR_NULL(finding(doc, "qcow2-dirty-flag", U1 "/disk"));
    e = finding(doc, "stale-partial", U1 "/disk.ferry-partial");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_FALSE(jbool(e, "fixed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(jstr(e, "guarded"), "a process holds its files open"));
    CU_ASSERT_EQUAL(status, 4);
    json_object_put(doc);
    close(fd);
    expect_repaired("stale-partial", U1 "/disk.ferry-partial");
}

/* ---- output and errors ---------------------------------------------------------------------------- */

static void test_prometheus(void)
{
    make_store();
    sh("echo p > %s/disk.ferry-partial && touch -d '2 days ago' %s/disk.ferry-partial", U2, U2);
    char *prom = test_strf("%s/metrics/ferry-fsck.prom", tmp);
    sh("mkdir -p %s/metrics", tmp);
    char *args = test_strf("-n --prometheus %s", prom);
    struct command_result r = fsck_run(args);
    free(args);
    CU_ASSERT_EQUAL(r.status, 4);
    command_result_free(&r);
    char *text = test_read_file(prom);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    char *line = test_strf("ferry_fsck_findings{store=\"%s\",rule=\"stale-partial\",severity=\"warning\"} 1\n", store);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, line));
    free(line);
    line = test_strf("ferry_fsck_instances_scanned{store=\"%s\"} 2\n", store);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, line));
    free(line);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ferry_fsck_duration_seconds{"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ferry_fsck_last_run_timestamp_seconds{"));
    free(text);
    struct command_result ls;
    command_run_shell(&ls, "ls -A %s/metrics", tmp);
    CU_ASSERT_STRING_EQUAL(ls.out, "ferry-fsck.prom\n"); /* no temporary file left */
    command_result_free(&ls);
    free(prom);
    /* Never inside the store. */
    args = test_strf("-n --prometheus %s/x.prom", store);
    r = fsck_run(args);
    free(args);
    CU_ASSERT_EQUAL(r.status, 8);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "inside the instance store"));
    command_result_free(&r);
}

static void test_errors(void)
{
    struct command_result r;
    command_run_shell(&r, "FERRY_CONF='%s' '%s' fsck --instances /nonexistent/store", conf, test_ferry_bin());
    CU_ASSERT_EQUAL(r.status, 8);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "ferry fsck: error: the instance store /nonexistent/store: No such file"));
    CU_ASSERT_STRING_EQUAL(r.out, "");
    command_result_free(&r);
    r = fsck_run("-n -y");
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "contradict"));
    command_result_free(&r);
    r = fsck_run("extra");
    CU_ASSERT_EQUAL(r.status, 2);
    command_result_free(&r);
    /* An export that is configured but not mounted: the empty mount point is not "clean". */
    char *c2 = test_strf("%s/export.conf", tmp);
    char *text = test_strf("[storage]\nexport = 10.0.0.5:/srv/nova\nmount_point = %s\n", store);
    CU_ASSERT_EQUAL(test_write_file(c2, text), 0);
    command_run_shell(&r, "FERRY_CONF='%s' '%s' fsck", c2, test_ferry_bin());
    CU_ASSERT_EQUAL(r.status, 8);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "is not mounted at"));
    command_result_free(&r);
    free(text);
    free(c2);
    /* A bad configuration is an operational error too. */
    char *bad = test_strf("%s/bad.conf", tmp);
    CU_ASSERT_EQUAL(test_write_file(bad, "[fsck]\njobs = many\n"), 0);
    command_run_shell(&r, "FERRY_CONF='%s' '%s' fsck --instances '%s'", bad, test_ferry_bin(), store);
    CU_ASSERT_EQUAL(r.status, 8);
    command_result_free(&r);
    free(bad);
}

static void setup(void)
{
    tmp = test_tmpdir_create("fsck");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    store = test_strf("%s/store", tmp);
    conf = test_strf("%s/ferry.conf", tmp);
    char *text = test_strf("[storage]\nmount_point = " ALIAS "\nruntime_dir = %s/run\nstate_dir = %s/state\n"
                           "[fsck]\nstale_partial_age = 1h\nunused_base_age = 1d\nmax_chain_depth = 4\n",
                           tmp, tmp);
    CU_ASSERT_EQUAL_FATAL(test_write_file(conf, text), 0);
    free(text);
    CU_ASSERT_EQUAL_FATAL(watch_host_name(host), 0);
    setenv("FERRY_FSCK_LIBVIRT_URI", "none", 1);
    setenv("FERRY_NOVA_CONF", "/nonexistent/nova.conf", 1);
    struct passwd *pw = getpwnam("libvirt-qemu");
    CU_ASSERT_PTR_NOT_NULL_FATAL(pw); /* scripts/install-deps installs libvirt-daemon-system */
}

static void teardown(void)
{
    test_tmpdir_remove(tmp);
    free(store);
    free(conf);
}

int main(void)
{
    static const struct test_case cases[] = {
        { "setup", setup },
        { "a clean store exits 0", test_clean_store },
        { "qcow2-header-invalid: a bad version", test_header_invalid },
        { "qcow2-header-invalid: an absurd backing name length", test_header_absurd_backing_length },
        { "qcow2-corrupt-flag", test_corrupt_flag },
        { "qcow2-dirty-flag, repaired with -y", test_dirty_flag },
        { "image-truncated", test_truncated },
        { "backing-missing", test_backing_missing },
        { "backing-outside-store: paths, protocols, json:, symlinks", test_backing_outside },
        { "backing-loop: a loop, a chain too deep", test_backing_loop },
        { "format-mismatch: disk.info, the backing format", test_format_mismatch },
        { "orphan-instance", test_orphan },
        { "stale-partial, quarantined with -y", test_stale_partial },
        { "unused-base, quarantined with -y", test_unused_base },
        { "dead-owner", test_dead_owner },
        { "double-owner", test_double_owner },
        { "bad-permissions", test_bad_permissions },
        { "symlink-escape, the link quarantined", test_symlink_escape },
        { "config-drive-format", test_config_drive },
        { "missing-disk", test_missing_disk },
        { "metadata-invalid", test_metadata_invalid },
        { "--deep: qemu-img check", test_deep },
        { "-n writes nothing; -y then fixes the fixable", test_dry_run_writes_nothing },
        { "running guests are never touched", test_running_guest_untouched },
        { "--prometheus", test_prometheus },
        { "errors", test_errors },
        { "teardown", teardown },
        { NULL, NULL },
    };
    return test_run_suite("fsck store", cases);
}
